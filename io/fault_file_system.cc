#include "io/fault_file_system.h"

#include "core/errors.h"

namespace kiln::io {
namespace {

using Op = FaultInjectingFileSystem::Op;
using Fault = FaultInjectingFileSystem::Fault;

class FaultWritableFile final : public WritableFile {
 public:
  FaultWritableFile(FaultInjectingFileSystem* fs, std::unique_ptr<WritableFile> base)
      : WritableFile(base->name()), fs_(fs), base_(std::move(base)) {}

  void append(std::string_view data) override {
    Fault fault;
    if (!fs_->next_fault(Op::kAppend, &fault)) return base_->append(data);
    if (fault == Fault::kError) FaultInjectingFileSystem::raise(fault, "write " + name());
    base_->append(data.substr(0, data.size() / 2));
    if (fault == Fault::kNoSpace) FaultInjectingFileSystem::raise(fault, "write " + name());
    // kTornWrite: report success although half the bytes are lost.
  }
  void flush() override { step(Op::kFlush, "flush"); base_->flush(); }
  void sync() override { step(Op::kSync, "sync"); base_->sync(); }
  void close() override {
    Fault fault;
    if (fs_->next_fault(Op::kClose, &fault)) {
      base_->close();  // the descriptor is gone either way, as with close(2)
      FaultInjectingFileSystem::raise(fault, "close " + name());
    }
    base_->close();
  }

 private:
  void step(Op op, const char* what) {
    Fault fault;
    if (fs_->next_fault(op, &fault)) FaultInjectingFileSystem::raise(fault, what + (" " + name()));
  }

  FaultInjectingFileSystem* fs_;
  std::unique_ptr<WritableFile> base_;
};

class FaultRandomAccessFile final : public RandomAccessFile {
 public:
  FaultRandomAccessFile(FaultInjectingFileSystem* fs, std::unique_ptr<RandomAccessFile> base)
      : RandomAccessFile(base->name()), fs_(fs), base_(std::move(base)) {}

  size_t read_at(uint64_t offset, size_t n, char* scratch) const override {
    Fault fault;
    if (!fs_->next_fault(Op::kRead, &fault)) return base_->read_at(offset, n, scratch);
    if (fault == Fault::kTornWrite) return base_->read_at(offset, n / 2, scratch);  // short read
    FaultInjectingFileSystem::raise(fault, "read " + name());
  }

 private:
  FaultInjectingFileSystem* fs_;
  std::unique_ptr<RandomAccessFile> base_;
};

}  // namespace

void FaultInjectingFileSystem::fail_on(Op op, int n, Fault fault) {
  std::lock_guard<std::mutex> lock(mu_);
  pending_[op] = Pending{counts_[op] + n, fault};
}

int FaultInjectingFileSystem::count(Op op) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = counts_.find(op);
  return it == counts_.end() ? 0 : it->second;
}

void FaultInjectingFileSystem::reset() {
  std::lock_guard<std::mutex> lock(mu_);
  counts_.clear();
  pending_.clear();
}

bool FaultInjectingFileSystem::next_fault(Op op, Fault* fault) {
  std::lock_guard<std::mutex> lock(mu_);
  int n = ++counts_[op];
  auto it = pending_.find(op);
  if (it == pending_.end() || it->second.at != n) return false;
  *fault = it->second.fault;
  pending_.erase(it);
  return true;
}

void FaultInjectingFileSystem::raise(Fault fault, const std::string& what) {
  if (fault == Fault::kNoSpace)
    throw ResourceExhaustedError(what + ": No space left on device (injected)");
  throw UnknownError(what + ": Input/output error (injected)");
}

void FaultInjectingFileSystem::maybe_fail(Op op, const std::string& what) {
  Fault fault;
  if (next_fault(op, &fault)) raise(fault, what);
}

std::unique_ptr<WritableFile> FaultInjectingFileSystem::new_writable_file(const std::string& path) {
  maybe_fail(Op::kOpenWritable, "open " + path);
  return std::make_unique<FaultWritableFile>(this, base_->new_writable_file(path));
}

std::unique_ptr<RandomAccessFile> FaultInjectingFileSystem::new_random_access_file(
    const std::string& path) {
  maybe_fail(Op::kOpenRead, "open " + path);
  return std::make_unique<FaultRandomAccessFile>(this, base_->new_random_access_file(path));
}

void FaultInjectingFileSystem::rename(const std::string& from, const std::string& to) {
  maybe_fail(Op::kRename, "rename " + from + " to " + to);
  base_->rename(from, to);
}

void FaultInjectingFileSystem::delete_file(const std::string& path) {
  maybe_fail(Op::kDelete, "delete " + path);
  base_->delete_file(path);
}

void FaultInjectingFileSystem::delete_dir(const std::string& path) {
  maybe_fail(Op::kDelete, "delete directory " + path);
  base_->delete_dir(path);
}

void FaultInjectingFileSystem::create_dir(const std::string& path) {
  maybe_fail(Op::kCreateDir, "create directory " + path);
  base_->create_dir(path);
}

void FaultInjectingFileSystem::sync_dir(const std::string& path) {
  maybe_fail(Op::kSyncDir, "sync directory " + path);
  base_->sync_dir(path);
}

}  // namespace kiln::io

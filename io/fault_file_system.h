// A FileSystem wrapper that fails chosen calls, for testing that writers clean up and report the
// first error (LevelDB's ErrorEnv in spirit).
//
//   MemFileSystem mem;
//   FaultInjectingFileSystem fs(&mem);
//   fs.fail_on(FaultInjectingFileSystem::Op::kAppend, 3, FaultInjectingFileSystem::Fault::kNoSpace);
//   // the third append from now writes half its bytes, then throws ResourceExhaustedError
//
// Calls are counted per Op across all files opened through the wrapper, from construction or the
// last reset(); count(op) lets a test first run a clean pass and then fail each call in turn.
// Thread-safe.
#pragma once

#include <map>
#include <mutex>

#include "io/file.h"

namespace kiln::io {

class FaultInjectingFileSystem final : public FileSystem {
 public:
  enum class Op {
    kOpenWritable, kAppend, kFlush, kSync, kClose,  // writable files
    kOpenRead, kRead,                               // random-access files
    kRename, kDelete, kCreateDir, kSyncDir,         // file system
  };
  enum class Fault {
    kError,      // throws UnknownError ("injected I/O error"), nothing written
    kNoSpace,    // append: writes the first half, then throws ResourceExhaustedError (ENOSPC);
                 // other ops: throws ResourceExhaustedError
    kTornWrite,  // append: silently writes only the first half (a lost write the reader must
                 // detect); read: returns half the bytes (a short read); other ops: like kError
  };

  // `base` must outlive the wrapper and every file it hands out.
  explicit FaultInjectingFileSystem(FileSystem* base) : base_(base) {}

  // The n-th (1-based) call of `op` counted from now fails with `fault`. One fault per op.
  void fail_on(Op op, int n, Fault fault = Fault::kError);
  // Number of calls of `op` seen since construction or reset().
  int count(Op op) const;
  // Forgets counts and pending faults.
  void reset();

  std::unique_ptr<WritableFile> new_writable_file(const std::string& path) override;
  std::unique_ptr<RandomAccessFile> new_random_access_file(const std::string& path) override;
  void rename(const std::string& from, const std::string& to) override;
  void delete_file(const std::string& path) override;
  void delete_dir(const std::string& path) override;
  bool exists(const std::string& path) override { return base_->exists(path); }
  uint64_t file_size(const std::string& path) override { return base_->file_size(path); }
  std::optional<double> status_change_time(const std::string& path) override {
    return base_->status_change_time(path);
  }
  void create_dir(const std::string& path) override;
  std::vector<std::string> list_dir(const std::string& path) override {
    return base_->list_dir(path);
  }
  void sync_dir(const std::string& path) override;

  // Counts the call; returns the fault to inject now, if any (used by the file wrappers).
  bool next_fault(Op op, Fault* fault);
  // Throws the exception that `fault` stands for, naming `what`.
  [[noreturn]] static void raise(Fault fault, const std::string& what);

 private:
  struct Pending {
    int at;  // absolute call number that fails
    Fault fault;
  };
  void maybe_fail(Op op, const std::string& what);

  FileSystem* base_;
  mutable std::mutex mu_;
  std::map<Op, int> counts_;
  std::map<Op, Pending> pending_;
};

}  // namespace kiln::io

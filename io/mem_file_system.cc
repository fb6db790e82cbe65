#include "io/mem_file_system.h"

#include <cstring>

#include "core/errors.h"

namespace kiln::io {

// Writes go to the bytes the file had when it was opened, like a POSIX descriptor: after a
// rename they land in the renamed file, after a delete nowhere visible.
class MemFileSystem::Writer final : public WritableFile {
 public:
  Writer(MemFileSystem* fs, std::string path, Bytes bytes)
      : WritableFile(std::move(path)), fs_(fs), bytes_(std::move(bytes)) {}

  void append(std::string_view data) override {
    check_open("append");
    std::lock_guard<std::mutex> lock(fs_->mu_);
    bytes_->append(data);
  }
  void flush() override { check_open("flush"); }
  void sync() override { check_open("sync"); }
  void close() override { closed_ = true; }

 private:
  void check_open(const char* op) const {
    if (closed_) throw FailedPreconditionError(std::string(op) + " " + name() + ": file is closed");
  }

  MemFileSystem* fs_;
  Bytes bytes_;
  bool closed_ = false;
};

// Reads a snapshot taken at open time, so concurrent writers never race with readers.
class MemFileSystem::Reader final : public RandomAccessFile {
 public:
  Reader(std::string path, std::string snapshot)
      : RandomAccessFile(std::move(path)), bytes_(std::move(snapshot)) {}

  size_t read_at(uint64_t offset, size_t n, char* scratch) const override {
    if (offset >= bytes_.size() || n == 0) return 0;
    size_t got = std::min<uint64_t>(n, bytes_.size() - offset);
    std::memcpy(scratch, bytes_.data() + offset, got);
    return got;
  }

 private:
  std::string bytes_;
};

MemFileSystem::MemFileSystem() { dirs_ = {".", "/"}; }

void MemFileSystem::require_parent_dir(const std::string& op, const std::string& path) const {
  if (!dirs_.count(dirname(path)))
    throw NotFoundError(op + " " + path + ": No such file or directory");
}

std::unique_ptr<WritableFile> MemFileSystem::new_writable_file(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  require_parent_dir("open", path);
  if (dirs_.count(path)) throw FailedPreconditionError("open " + path + ": Is a directory");
  auto bytes = std::make_shared<std::string>();
  files_[path] = bytes;
  return std::make_unique<Writer>(this, path, bytes);
}

std::unique_ptr<RandomAccessFile> MemFileSystem::new_random_access_file(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) throw NotFoundError("open " + path + ": No such file or directory");
  return std::make_unique<Reader>(path, *it->second);
}

void MemFileSystem::rename(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(from);
  if (it == files_.end())
    throw NotFoundError("rename " + from + " to " + to + ": No such file or directory");
  require_parent_dir("rename " + from + " to", to);
  Bytes bytes = it->second;
  files_.erase(it);
  files_[to] = bytes;
}

void MemFileSystem::delete_file(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  if (files_.erase(path) == 0) throw NotFoundError("delete " + path + ": No such file or directory");
}

void MemFileSystem::delete_dir(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!dirs_.count(path))
    throw NotFoundError("delete directory " + path + ": No such file or directory");
  const std::string prefix = join_path(path, "");
  auto starts_with_prefix = [&](const std::string& p) { return p.rfind(prefix, 0) == 0; };
  auto file_it = files_.lower_bound(prefix);
  auto dir_it = dirs_.lower_bound(prefix);
  if ((file_it != files_.end() && starts_with_prefix(file_it->first)) ||
      (dir_it != dirs_.end() && starts_with_prefix(*dir_it)))
    throw FailedPreconditionError("delete directory " + path + ": Directory not empty");
  dirs_.erase(path);
}

bool MemFileSystem::exists(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  return files_.count(path) > 0 || dirs_.count(path) > 0;
}

uint64_t MemFileSystem::file_size(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) throw NotFoundError("stat " + path + ": No such file or directory");
  return it->second->size();
}

void MemFileSystem::create_dir(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  if (dirs_.count(path)) return;
  if (files_.count(path)) throw AlreadyExistsError("create directory " + path + ": File exists");
  require_parent_dir("create directory", path);
  dirs_.insert(path);
}

std::vector<std::string> MemFileSystem::list_dir(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!dirs_.count(path)) throw NotFoundError("list " + path + ": No such file or directory");
  std::set<std::string> names;
  auto collect = [&](const auto& entries) {
    for (const std::string& p : entries)
      if (p != path && dirname(p) == path) names.insert(p.substr(p.find_last_of('/') + 1));
  };
  collect(dirs_);
  for (const auto& [p, bytes] : files_)
    if (dirname(p) == path) names.insert(p.substr(p.find_last_of('/') + 1));
  return {names.begin(), names.end()};
}

void MemFileSystem::sync_dir(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!dirs_.count(path)) throw NotFoundError("open directory " + path + ": No such file or directory");
}

std::string MemFileSystem::get_contents(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) throw NotFoundError("open " + path + ": No such file or directory");
  return *it->second;
}

void MemFileSystem::set_contents(const std::string& path, std::string contents) {
  std::lock_guard<std::mutex> lock(mu_);
  require_parent_dir("open", path);
  files_[path] = std::make_shared<std::string>(std::move(contents));
}

}  // namespace kiln::io

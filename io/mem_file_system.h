// An in-memory FileSystem for tests (LevelDB's memenv in spirit): fast, hermetic, and it lets a
// test read or corrupt a file's bytes directly.
//
// Semantics follow POSIX where tests can see them: writes are visible to readers at once (no
// durability model), rename replaces the target, a file's parent directory must exist, and an
// open reader keeps the bytes it was opened on even if the file is replaced or deleted.
// Paths are plain strings ("/" separated); "." and "/" always exist.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "io/file.h"

namespace kiln::io {

class MemFileSystem final : public FileSystem {
 public:
  MemFileSystem();

  std::unique_ptr<WritableFile> new_writable_file(const std::string& path) override;
  std::unique_ptr<RandomAccessFile> new_random_access_file(const std::string& path) override;
  void rename(const std::string& from, const std::string& to) override;
  void delete_file(const std::string& path) override;
  void delete_dir(const std::string& path) override;
  bool exists(const std::string& path) override;
  uint64_t file_size(const std::string& path) override;
  void create_dir(const std::string& path) override;
  std::vector<std::string> list_dir(const std::string& path) override;
  void sync_dir(const std::string& path) override;

  // Test access to a file's bytes. get_contents throws NotFoundError.
  std::string get_contents(const std::string& path);
  // Creates or replaces the file (its directory must exist).
  void set_contents(const std::string& path, std::string contents);

 private:
  using Bytes = std::shared_ptr<std::string>;
  class Writer;
  class Reader;

  void require_parent_dir(const std::string& op, const std::string& path) const;

  std::mutex mu_;
  std::map<std::string, Bytes> files_;
  std::set<std::string> dirs_;
};

}  // namespace kiln::io

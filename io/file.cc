// The parts of io/file.h shared by every file system: exact reads and path helpers.
#include "io/file.h"

#include <random>

#include "core/errors.h"

namespace kiln::io {

void RandomAccessFile::read_exact(uint64_t offset, size_t n, char* scratch) const {
  size_t got = read_at(offset, n, scratch);
  if (got != n)
    throw DataLossError("Requested " + std::to_string(n) + " bytes but read " +
                        std::to_string(got) + " bytes at offset " + std::to_string(offset) +
                        " of " + name());
}

std::string RandomAccessFile::read(uint64_t offset, size_t n) const {
  std::string out(n, '\0');
  read_exact(offset, n, out.data());
  return out;
}

std::string dirname(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

void create_dirs(FileSystem* fs, const std::string& path) {
  if (path.empty() || path == "." || path == "/" || fs->exists(path)) return;
  create_dirs(fs, dirname(path));
  fs->create_dir(path);
}

std::string read_file(FileSystem* fs, const std::string& path) {
  auto file = fs->new_random_access_file(path);
  return file->read(0, fs->file_size(path));
}

void write_file_atomically(FileSystem* fs, const std::string& path, std::string_view data) {
  std::string temp = path + ".tmp" + std::to_string(std::random_device{}());
  try {
    auto file = fs->new_writable_file(temp);
    file->append(data);
    file->sync();
    file->close();
    fs->rename(temp, path);
  } catch (...) {
    try {
      if (fs->exists(temp)) fs->delete_file(temp);
    } catch (...) {
    }
    throw;
  }
  std::string dir = dirname(path);
  fs->sync_dir(dir.empty() ? "." : dir);
}

}  // namespace kiln::io

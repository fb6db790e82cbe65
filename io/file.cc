// The parts of io/file.h shared by every file system: exact reads and path helpers.
#include "io/file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>

#include <cstring>

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

void write_file_atomically(FileSystem* fs, const std::string& path, std::string_view data,
                           bool sync) {
  std::string temp = path + ".tmp" + std::to_string(std::random_device{}());
  try {
    auto file = fs->new_writable_file(temp);
    file->append(data);
    if (sync) file->sync();
    file->close();
    fs->rename(temp, path);
  } catch (...) {
    try {
      if (fs->exists(temp)) fs->delete_file(temp);
    } catch (...) {
    }
    throw;
  }
  if (!sync) return;
  std::string dir = dirname(path);
  fs->sync_dir(dir.empty() ? "." : dir);
}

namespace {

// Process-wide lock state per path: FileLock uses `exclusive` as a mutex; DirectoryLock uses
// `shared` and `exclusive` as a reader/writer count.
struct PathLock {
  std::condition_variable cv;
  int shared = 0;
  bool exclusive = false;
};
std::mutex& path_locks_mutex() {
  static std::mutex mu;
  return mu;
}
PathLock& path_lock(const std::string& key) {  // REQUIRES: path_locks_mutex() held
  static std::map<std::string, PathLock>* locks = new std::map<std::string, PathLock>;
  return (*locks)[key];
}

int flock_retrying(int fd, int op) {
  int rc;
  do {
    rc = ::flock(fd, op);
  } while (rc != 0 && errno == EINTR);
  return rc;
}

}  // namespace

FileLock::FileLock(FileSystem* fs, std::string path) : path_(std::move(path)) {
  {
    std::unique_lock<std::mutex> lock(path_locks_mutex());
    PathLock& p = path_lock("file:" + path_);
    p.cv.wait(lock, [&] { return !p.exclusive; });
    p.exclusive = true;
  }
  if (fs != posix_file_system()) return;
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0 || flock_retrying(fd_, LOCK_EX) != 0) {
    const int err = errno;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    {
      std::lock_guard<std::mutex> lock(path_locks_mutex());
      PathLock& p = path_lock("file:" + path_);
      p.exclusive = false;
      p.cv.notify_all();
    }
    throw UnknownError("lock " + path_ + ": " + std::to_string(err) + " (" +
                       std::string(std::strerror(err)) + ")");
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
  std::lock_guard<std::mutex> lock(path_locks_mutex());
  PathLock& p = path_lock("file:" + path_);
  p.exclusive = false;
  p.cv.notify_all();
}

DirectoryLock::DirectoryLock(FileSystem* fs, std::string dir)
    : dir_(std::move(dir)), posix_(fs == posix_file_system()) {
  if (posix_) fd_ = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  // A directory that cannot be opened gets only the process-wide lock.
}

DirectoryLock::~DirectoryLock() {
  unlock();
  if (fd_ >= 0) ::close(fd_);
}

bool DirectoryLock::try_lock_exclusive() {
  if (held_ != Held::kNone) return held_ == Held::kExclusive;
  {
    std::lock_guard<std::mutex> lock(path_locks_mutex());
    PathLock& p = path_lock("dir:" + dir_);
    if (p.exclusive || p.shared > 0) return false;
    p.exclusive = true;
  }
  if (fd_ >= 0 && flock_retrying(fd_, LOCK_EX | LOCK_NB) != 0) {
    std::lock_guard<std::mutex> lock(path_locks_mutex());
    PathLock& p = path_lock("dir:" + dir_);
    p.exclusive = false;
    p.cv.notify_all();
    return false;
  }
  held_ = Held::kExclusive;
  return true;
}

void DirectoryLock::lock_shared() {
  if (held_ != Held::kNone) unlock();
  {
    std::unique_lock<std::mutex> lock(path_locks_mutex());
    PathLock& p = path_lock("dir:" + dir_);
    p.cv.wait(lock, [&] { return !p.exclusive; });
    ++p.shared;
  }
  held_ = Held::kShared;
  if (fd_ >= 0) flock_retrying(fd_, LOCK_SH);  // an unsupported flock leaves the in-process lock
}

void DirectoryLock::unlock() {
  if (held_ == Held::kNone) return;
  if (fd_ >= 0) flock_retrying(fd_, LOCK_UN);
  std::lock_guard<std::mutex> lock(path_locks_mutex());
  PathLock& p = path_lock("dir:" + dir_);
  if (held_ == Held::kExclusive)
    p.exclusive = false;
  else
    --p.shared;
  held_ = Held::kNone;
  p.cv.notify_all();
}

}  // namespace kiln::io

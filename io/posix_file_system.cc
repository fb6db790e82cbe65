// POSIX implementation of io/file.h: append-only files (write) with a user-space buffer
// (appends of 256 KiB and more bypass it: no copy), pread for positional reads, fdatasync for durability.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/errors.h"
#include "io/file.h"
#include "io/posix_direct_file.h"

namespace kiln::io {
namespace {

// Appends smaller than this are gathered so that many small tensors cost few system calls.
constexpr size_t kWriteBufferSize = 1 << 20;
// Appends of at least this many bytes are never copied: they go to the file straight from the
// caller's memory, together with whatever is buffered (one writev).
constexpr size_t kDirectWriteSize = 256 << 10;

}  // namespace

[[noreturn]] void throw_posix_error(const std::string& op, const std::string& path, int err) {
  std::string msg = op + " " + path + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
      throw NotFoundError(msg);
    case EEXIST:
      throw AlreadyExistsError(msg);
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      throw ResourceExhaustedError(msg);
    case EACCES:
    case EPERM:
    case EROFS:
    case ENOTDIR:
    case EISDIR:
    case ENOTEMPTY:
      throw FailedPreconditionError(msg);
    default:
      throw UnknownError(msg);
  }
}

namespace {

[[noreturn]] void throw_errno(const std::string& op, const std::string& path, int err) {
  throw_posix_error(op, path, err);
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd) : WritableFile(std::move(path)), fd_(fd) {
    buffer_.reserve(kWriteBufferSize);
  }
  ~PosixWritableFile() override {
    try {
      close();
    } catch (...) {
      // ignored by contract: callers who care call close() and see the error
    }
  }

  void append(std::string_view data) override {
    check_open("append");
    if (data.size() >= kDirectWriteSize) {
      // Clear the buffer even on failure, as flush_buffer() does.
      std::string pending;
      pending.swap(buffer_);
      buffer_.reserve(kWriteBufferSize);
      write_two(pending.data(), pending.size(), data.data(), data.size());
      return;
    }
    if (buffer_.size() + data.size() > kWriteBufferSize) flush_buffer();
    buffer_.append(data);
  }
  void flush() override {
    check_open("flush");
    flush_buffer();
  }
  void sync() override {
    check_open("sync");
    flush_buffer();
    if (::fdatasync(fd_) != 0) throw_errno("sync", name(), errno);
  }
  void close() override {
    if (fd_ < 0) return;
    int fd = fd_;
    try {
      flush_buffer();
    } catch (...) {
      ::close(fd);
      fd_ = -1;
      throw;
    }
    fd_ = -1;
    if (::close(fd) != 0) throw_errno("close", name(), errno);
  }

 private:
  void check_open(const char* op) const {
    if (fd_ < 0) throw FailedPreconditionError(std::string(op) + " " + name() + ": file is closed");
  }
  void flush_buffer() {
    if (buffer_.empty()) return;
    // Clear even on failure: the bytes' fate is unknown and the caller gets the error.
    std::string pending;
    pending.swap(buffer_);
    buffer_.reserve(kWriteBufferSize);
    write_all(pending.data(), pending.size());
  }
  // write() may write less than asked (signals, pipes, near-full disks): loop until done.
  void write_all(const char* p, size_t n) {
    while (n > 0) {
      ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        throw_errno("write", name(), errno);
      }
      p += w;
      n -= static_cast<size_t>(w);
    }
  }

  // writev of two pieces, looping over partial writes.
  void write_two(const char* a, size_t na, const char* b, size_t nb) {
    while (na > 0 && nb > 0) {
      struct iovec iov[2] = {{const_cast<char*>(a), na}, {const_cast<char*>(b), nb}};
      ssize_t w = ::writev(fd_, iov, 2);
      if (w < 0) {
        if (errno == EINTR) continue;
        throw_errno("write", name(), errno);
      }
      size_t done = static_cast<size_t>(w);
      if (done >= na) {
        done -= na;
        na = 0;
        b += done;
        nb -= done;
      } else {
        a += done;
        na -= done;
      }
    }
    write_all(a, na);
    write_all(b, nb);
  }

  int fd_;
  std::string buffer_;
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd) : RandomAccessFile(std::move(path)), fd_(fd) {}
  ~PosixRandomAccessFile() override { ::close(fd_); }

  size_t read_at(uint64_t offset, size_t n, char* scratch) const override {
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd_, scratch + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        throw_errno("read", name(), errno);
      }
      if (r == 0) break;  // end of file
      done += static_cast<size_t>(r);
    }
    return done;
  }

 private:
  int fd_;
};

class PosixFileSystem final : public FileSystem {
 public:
  std::unique_ptr<WritableFile> new_writable_file(const std::string& path) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw_errno("open", path, errno);
    return std::make_unique<PosixWritableFile>(path, fd);
  }
  std::unique_ptr<WritableFile> new_writable_file(const std::string& path,
                                                  const WritableFileOptions& options) override {
    if (options.direct_io)
      if (auto f = new_direct_writable_file(path)) return f;  // else: refused, buffered below
    return new_writable_file(path);
  }
  std::unique_ptr<RandomAccessFile> new_random_access_file(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_errno("open", path, errno);
    return std::make_unique<PosixRandomAccessFile>(path, fd);
  }
  void rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) throw_errno("rename " + from + " to", to, errno);
  }
  void delete_file(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) throw_errno("delete", path, errno);
  }
  void delete_dir(const std::string& path) override {
    if (::rmdir(path.c_str()) != 0) throw_errno("delete directory", path, errno);
  }
  bool exists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }
  uint64_t file_size(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) throw_errno("stat", path, errno);
    if (S_ISDIR(st.st_mode)) throw_errno("stat", path, EISDIR);
    return static_cast<uint64_t>(st.st_size);
  }
  std::optional<double> status_change_time(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    return static_cast<double>(st.st_ctim.tv_sec) + st.st_ctim.tv_nsec * 1e-9;
  }
  void create_dir(const std::string& path) override {
    if (::mkdir(path.c_str(), 0755) == 0) return;
    int err = errno;
    struct stat st;
    if (err == EEXIST && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return;
    throw_errno("create directory", path, err);
  }
  std::vector<std::string> list_dir(const std::string& path) override {
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) throw_errno("list", path, errno);
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(dir)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(std::move(name));
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    return names;
  }
  void sync_dir(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw_errno("open directory", path, errno);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) throw_errno("sync directory", path, err);
  }
};

}  // namespace

FileSystem* posix_file_system() {
  static PosixFileSystem* fs = new PosixFileSystem();  // never destroyed: usable at exit
  return fs;
}

}  // namespace kiln::io

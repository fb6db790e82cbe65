#include "io/posix_direct_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/errors.h"

namespace kiln::io {
namespace {

constexpr size_t kAlign = 4096;
constexpr size_t kBufferBytes = 4 << 20;

bool aligned(const void* p) { return reinterpret_cast<uintptr_t>(p) % kAlign == 0; }

class DirectWritableFile final : public WritableFile {
 public:
  DirectWritableFile(std::string path, int fd, char* buffer)
      : WritableFile(std::move(path)), fd_(fd), buffer_(buffer) {}
  ~DirectWritableFile() override {
    try {
      close();
    } catch (...) {
      // ignored by contract: callers who care call close()
    }
    std::free(buffer_);
  }

  void append(std::string_view data) override {
    check_open("append");
    const char* p = data.data();
    size_t n = data.size();
    if (!direct_) return write_all(p, n);
    while (n > 0) {
      if (used_ == 0 && aligned(p) && n >= kAlign) {
        const size_t whole = n - n % kAlign;  // straight from the caller's memory
        write_all(p, whole);
        p += whole;
        n -= whole;
        continue;
      }
      const size_t take = std::min(n, kBufferBytes - used_);
      std::memcpy(buffer_ + used_, p, take);
      used_ += take;
      p += take;
      n -= take;
      if (used_ == kBufferBytes) {
        write_all(buffer_, used_);
        used_ = 0;
      }
    }
  }
  // Whole blocks go out; a partial block stays buffered until sync() or close().
  void flush() override {
    check_open("flush");
    flush_whole_blocks();
  }
  void sync() override {
    check_open("sync");
    write_tail();
    if (::fdatasync(fd_) != 0) throw_posix_error("sync", name(), errno);
  }
  void close() override {
    if (fd_ < 0) return;
    const int fd = fd_;
    try {
      write_tail();
    } catch (...) {
      ::close(fd);
      fd_ = -1;
      throw;
    }
    fd_ = -1;
    if (::close(fd) != 0) throw_posix_error("close", name(), errno);
  }

  bool direct() const { return direct_ && fd_ >= 0; }

 private:
  void check_open(const char* op) const {
    if (fd_ < 0) throw FailedPreconditionError(std::string(op) + " " + name() + ": file is closed");
  }
  void flush_whole_blocks() {
    if (!direct_) return;
    const size_t whole = used_ - used_ % kAlign;
    if (whole == 0) return;
    write_all(buffer_, whole);
    std::memmove(buffer_, buffer_ + whole, used_ - whole);
    used_ -= whole;
  }
  // Writes what is buffered, the last partial block without O_DIRECT.
  void write_tail() {
    flush_whole_blocks();
    if (used_ == 0) return;
    leave_direct_mode();
    write_all(buffer_, used_);
    used_ = 0;
  }
  void leave_direct_mode() {
    if (!direct_) return;
    const int flags = ::fcntl(fd_, F_GETFL);
    if (flags < 0 || ::fcntl(fd_, F_SETFL, flags & ~O_DIRECT) != 0)
      throw_posix_error("leave O_DIRECT mode of", name(), errno);
    direct_ = false;
  }
  void write_all(const char* p, size_t n) {
    while (n > 0) {
      ssize_t w = ::write(fd_, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && errno == EINVAL && direct_) {
        leave_direct_mode();  // the file system took the open but not the aligned write
        continue;
      }
      if (w < 0) throw_posix_error("write", name(), errno);
      if (w == 0) throw_posix_error("write", name(), EIO);
      p += w;
      n -= static_cast<size_t>(w);
    }
  }

  int fd_;
  char* buffer_;
  size_t used_ = 0;
  bool direct_ = true;
};

}  // namespace

std::unique_ptr<WritableFile> new_direct_writable_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_DIRECT, 0644);
  if (fd < 0) {
    if (errno == EINVAL) return nullptr;
    throw_posix_error("open", path, errno);
  }
  void* buffer = nullptr;
  if (::posix_memalign(&buffer, kAlign, kBufferBytes) != 0) {
    ::close(fd);
    throw ResourceExhaustedError("OOM allocating the O_DIRECT buffer for " + path);
  }
  return std::make_unique<DirectWritableFile>(path, fd, static_cast<char*>(buffer));
}

bool direct_io_used(const WritableFile& file) {
  auto* d = dynamic_cast<const DirectWritableFile*>(&file);
  return d != nullptr && d->direct();
}

}  // namespace kiln::io

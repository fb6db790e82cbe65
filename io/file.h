// A small file abstraction for checkpoint io: append-only writable files, positional-read files
// and a FileSystem that makes them. Three implementations share these interfaces: POSIX
// (posix_file_system()), in memory (MemFileSystem, io/mem_file_system.h) and a fault-injecting
// wrapper for tests (FaultInjectingFileSystem, io/fault_file_system.h).
//
// Contract: every failure throws a kiln typed exception whose message names the operation and the
// file ("open /ckpt/model.index: No such file or directory"):
//   missing file or directory    -> NotFoundError
//   disk full / quota            -> ResourceExhaustedError
//   permission, wrong file kind  -> FailedPreconditionError
//   short read                   -> DataLossError ("Requested N bytes but read M bytes")
//   anything else                -> UnknownError
// Thread safety: RandomAccessFile reads are const and may run concurrently; a WritableFile is
// used by one thread at a time; FileSystem methods are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::io {

// A file opened for writing from the start (it is created or truncated). Appends may be
// buffered: flush() hands them to the operating system, sync() makes them durable.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  WritableFile(const WritableFile&) = delete;
  WritableFile& operator=(const WritableFile&) = delete;

  // REQUIRES: close() has not been called (else FailedPreconditionError).
  virtual void append(std::string_view data) = 0;
  virtual void flush() = 0;
  virtual void sync() = 0;
  // Flushes and releases the file; a second close() is a no-op. The destructor closes a file
  // that is still open and ignores errors, so call close() to see them.
  virtual void close() = 0;

  const std::string& name() const { return name_; }

 protected:
  explicit WritableFile(std::string name) : name_(std::move(name)) {}

 private:
  std::string name_;
};

// A file read at explicit offsets.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  RandomAccessFile(const RandomAccessFile&) = delete;
  RandomAccessFile& operator=(const RandomAccessFile&) = delete;

  // Reads up to n bytes at `offset` into `scratch`; returns how many were read, which is less
  // than n only when the end of the file is reached.
  virtual size_t read_at(uint64_t offset, size_t n, char* scratch) const = 0;

  // Reads exactly n bytes; a short read throws DataLossError naming the file.
  void read_exact(uint64_t offset, size_t n, char* scratch) const;
  std::string read(uint64_t offset, size_t n) const;

  const std::string& name() const { return name_; }

 protected:
  explicit RandomAccessFile(std::string name) : name_(std::move(name)) {}

 private:
  std::string name_;
};

struct WritableFileOptions {
  // Write with O_DIRECT (bypassing the page cache) through aligned buffers where the file system
  // accepts it; where it refuses (tmpfs, some network file systems: EINVAL) the file is written
  // the ordinary way. Only the POSIX file system does anything with it.
  bool direct_io = false;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Creates or truncates `path`; its directory must exist.
  virtual std::unique_ptr<WritableFile> new_writable_file(const std::string& path) = 0;
  // As above with options; file systems without such modes ignore them.
  virtual std::unique_ptr<WritableFile> new_writable_file(const std::string& path,
                                                          const WritableFileOptions& options) {
    (void)options;
    return new_writable_file(path);
  }
  virtual std::unique_ptr<RandomAccessFile> new_random_access_file(const std::string& path) = 0;
  // Atomically replaces `to` with `from` (POSIX rename semantics).
  virtual void rename(const std::string& from, const std::string& to) = 0;
  virtual void delete_file(const std::string& path) = 0;
  // Removes an empty directory.
  virtual void delete_dir(const std::string& path) = 0;
  virtual bool exists(const std::string& path) = 0;
  virtual uint64_t file_size(const std::string& path) = 0;
  // Creates one directory; no error when it already exists as a directory.
  virtual void create_dir(const std::string& path) = 0;
  // Names (not paths) of the entries of a directory, sorted, without "." and "..".
  virtual std::vector<std::string> list_dir(const std::string& path) = 0;
  // Makes the directory's entries (creations, renames) durable.
  virtual void sync_dir(const std::string& path) = 0;
  // Seconds since the epoch of the entry's last status change (POSIX ctime: set by the rename
  // that put a file in place and by any metadata change; copy tools cannot set it back, unlike
  // the mtime `cp -p`/`rsync -a` preserve). nullopt when the file system keeps none or the entry
  // is missing. The Saver's leftover sweep deletes an index-less data file only when this says
  // it has been in place long enough; where it is nullopt the file is kept.
  virtual std::optional<double> status_change_time(const std::string& path) {
    (void)path;
    return std::nullopt;
  }
};

// The process-wide POSIX file system (never null, never deleted).
FileSystem* posix_file_system();

// Path helpers. dirname("a/b/c") = "a/b", dirname("c") = ".", dirname("/c") = "/".
std::string dirname(const std::string& path);
std::string join_path(const std::string& dir, const std::string& name);
// Creates `path` and its missing parents.
void create_dirs(FileSystem* fs, const std::string& path);

// The whole file.
std::string read_file(FileSystem* fs, const std::string& path);
// Writes `data` to a temporary file beside `path`, syncs it, renames it over `path` and syncs
// the directory: readers see the old file or the new one, never a torn one. The temporary file
// is removed on failure. sync = false skips both syncs (still atomic for readers and against a
// killed process; not durable across a machine crash).
void write_file_atomically(FileSystem* fs, const std::string& path, std::string_view data,
                           bool sync = true);

// ---- Advisory locks for savers sharing a directory (io/saver.h, "Concurrency") ----
//
// FileLock: an exclusive lock named by `path`, held from construction until destruction
// (blocking). On the POSIX file system it is flock(LOCK_EX) on the file `path`, created empty if
// missing and never deleted, so it excludes other processes as well as other threads; with any
// other FileSystem (MemFileSystem, wrappers such as FaultInjectingFileSystem) only a process-wide
// mutex per path is taken and no file is created. Every FileLock also takes the process-wide
// mutex, so threads of one process queue in order before the flock.
// Not reentrant: a thread holding a FileLock on P must not take another on P.
class FileLock {
 public:
  FileLock(FileSystem* fs, std::string path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  std::string path_;
  int fd_ = -1;
};

// DirectoryLock: a shared/exclusive lock on a directory itself: flock(2) on the directory (no
// file is created) on the POSIX file system, plus a process-wide reader/writer count per path
// (only that count with any other FileSystem). Shared holds nest freely (a thread may hold
// several); try_lock_exclusive() never blocks. Released by unlock() or destruction.
class DirectoryLock {
 public:
  DirectoryLock(FileSystem* fs, std::string dir);
  ~DirectoryLock();
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

  // True when no other holder (thread or process) has the directory locked in any mode.
  bool try_lock_exclusive();
  // Blocks while another holder has it exclusively.
  void lock_shared();
  void unlock();

 private:
  enum class Held { kNone, kShared, kExclusive };
  std::string dir_;
  bool posix_ = false;
  int fd_ = -1;
  Held held_ = Held::kNone;
};

}  // namespace kiln::io

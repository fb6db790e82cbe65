// A FileSystem wrapper whose appends sleep, so that a save is still writing while a test does
// something else (trains, saves again, looks at the state file). Counts appends in flight.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "io/file.h"

namespace kiln::io::testing {

class SlowFileSystem final : public FileSystem {
 public:
  SlowFileSystem(FileSystem* base, std::chrono::microseconds per_append)
      : base_(base), delay_(per_append) {}

  std::atomic<int> appends{0};

  std::unique_ptr<WritableFile> new_writable_file(const std::string& path) override {
    return std::make_unique<File>(this, base_->new_writable_file(path));
  }
  std::unique_ptr<RandomAccessFile> new_random_access_file(const std::string& path) override {
    return base_->new_random_access_file(path);
  }
  void rename(const std::string& from, const std::string& to) override { base_->rename(from, to); }
  void delete_file(const std::string& path) override { base_->delete_file(path); }
  void delete_dir(const std::string& path) override { base_->delete_dir(path); }
  bool exists(const std::string& path) override { return base_->exists(path); }
  uint64_t file_size(const std::string& path) override { return base_->file_size(path); }
  std::optional<double> status_change_time(const std::string& path) override {
    return base_->status_change_time(path);
  }
  void create_dir(const std::string& path) override { base_->create_dir(path); }
  std::vector<std::string> list_dir(const std::string& path) override {
    return base_->list_dir(path);
  }
  void sync_dir(const std::string& path) override { base_->sync_dir(path); }

 private:
  class File final : public WritableFile {
   public:
    File(SlowFileSystem* fs, std::unique_ptr<WritableFile> base)
        : WritableFile(base->name()), fs_(fs), base_(std::move(base)) {}
    void append(std::string_view data) override {
      std::this_thread::sleep_for(fs_->delay_);
      ++fs_->appends;
      base_->append(data);
    }
    void flush() override { base_->flush(); }
    void sync() override { base_->sync(); }
    void close() override { base_->close(); }

   private:
    SlowFileSystem* fs_;
    std::unique_ptr<WritableFile> base_;
  };

  FileSystem* base_;
  std::chrono::microseconds delay_;
};

}  // namespace kiln::io::testing

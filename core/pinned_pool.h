// A bounded pool of equally sized page-locked host buffers, for staging device<->file transfers.
// acquire() blocks while every buffer is out, so the pool bounds the host memory a streaming
// save or restore can use, whatever the model size.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <map>
#include <string>
#include <mutex>
#include <vector>

#include "core/allocator.h"

namespace kiln {

// A host Allocator of page-locked memory (ordinary memory without a GPU), for snapshots that a
// device copy engine reads at full speed. Freed blocks are kept by size and reused, because
// pinning is slow (milliseconds per MiB) and successive snapshots of one model ask for the same
// sizes; release_cached() gives them back. Thread-safe; never destroyed.
class PinnedHostAllocator final : public Allocator {
 public:
  void* allocate(size_t bytes) override;
  void deallocate(void* ptr, size_t bytes) override;
  MemoryKind kind() const override { return MemoryKind::kHost; }
  std::string name() const override { return "pinned_host"; }
  AllocatorStats stats() const override;
  void reset_peak() override;
  void release_cached() override;

 private:
  mutable std::mutex mu_;
  std::multimap<size_t, void*> cached_;
  AllocatorStats stats_;
};
PinnedHostAllocator* pinned_host_allocator();

class PinnedBufferPool {
 public:
  // Allocates `count` buffers of `buffer_bytes` each up front (pinned when a GPU exists).
  PinnedBufferPool(size_t buffer_bytes, int count);
  ~PinnedBufferPool();
  PinnedBufferPool(const PinnedBufferPool&) = delete;
  PinnedBufferPool& operator=(const PinnedBufferPool&) = delete;

  // A buffer on loan; returns itself to the pool when destroyed.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& o) noexcept : pool_(o.pool_), data_(o.data_) { o.pool_ = nullptr; o.data_ = nullptr; }
    Lease& operator=(Lease&& o) noexcept;
    ~Lease() { release(); }
    void* data() const { return data_; }
    size_t size() const;
    void release();

   private:
    friend class PinnedBufferPool;
    Lease(PinnedBufferPool* pool, void* data) : pool_(pool), data_(data) {}
    PinnedBufferPool* pool_ = nullptr;
    void* data_ = nullptr;
  };

  Lease acquire();
  // `count` buffers taken together (waits until that many are free at once), so that threads
  // sharing a pool never each hold part of what they need and wait on one another.
  // REQUIRES: 1 <= count <= capacity().
  std::vector<Lease> acquire_many(int count);
  size_t buffer_bytes() const { return buffer_bytes_; }
  int capacity() const { return static_cast<int>(all_.size()); }
  int available() const;

 private:
  void give_back(void* data);

  size_t buffer_bytes_;
  std::vector<void*> all_;
  std::vector<void*> free_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace kiln

#include "core/pinned_pool.h"

#include <algorithm>
#include <string>

#include "core/errors.h"
#include "core/gpu.h"

namespace kiln {

PinnedBufferPool::PinnedBufferPool(size_t buffer_bytes, int count) : buffer_bytes_(buffer_bytes) {
  if (buffer_bytes == 0 || count <= 0)
    throw InvalidArgumentError("PinnedBufferPool needs a positive buffer size and count");
  try {
    for (int i = 0; i < count; ++i) all_.push_back(gpu::pinned_alloc(buffer_bytes));
  } catch (...) {
    for (void* p : all_) gpu::pinned_free(p);
    throw;
  }
  free_ = all_;
}

PinnedBufferPool::~PinnedBufferPool() {
  for (void* p : all_) gpu::pinned_free(p);
}

PinnedBufferPool::Lease PinnedBufferPool::acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return !free_.empty(); });
  void* p = free_.back();
  free_.pop_back();
  return Lease(this, p);
}

std::vector<PinnedBufferPool::Lease> PinnedBufferPool::acquire_many(int count) {
  if (count < 1 || count > capacity())
    throw InvalidArgumentError("acquire_many(" + std::to_string(count) + ") from a pool of " +
                               std::to_string(capacity()) + " buffers");
  std::vector<Lease> out;
  out.reserve(count);  // no allocation (which could throw) while the lock is held
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return static_cast<int>(free_.size()) >= count; });
  for (int i = 0; i < count; ++i) {
    out.push_back(Lease(this, free_.back()));
    free_.pop_back();
  }
  return out;
}

int PinnedBufferPool::available() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(free_.size());
}

void PinnedBufferPool::give_back(void* data) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(data);
  }
  cv_.notify_all();  // waiters may need different counts (acquire_many)
}

PinnedBufferPool::Lease& PinnedBufferPool::Lease::operator=(Lease&& o) noexcept {
  if (this != &o) {
    release();
    pool_ = o.pool_;
    data_ = o.data_;
    o.pool_ = nullptr;
    o.data_ = nullptr;
  }
  return *this;
}

size_t PinnedBufferPool::Lease::size() const { return pool_ ? pool_->buffer_bytes() : 0; }

void PinnedBufferPool::Lease::release() {
  if (pool_ && data_) pool_->give_back(data_);
  pool_ = nullptr;
  data_ = nullptr;
}

}  // namespace kiln

namespace kiln {

void* PinnedHostAllocator::allocate(size_t bytes) {
  if (bytes == 0) return nullptr;
  void* p = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cached_.find(bytes);
    if (it != cached_.end()) {
      p = it->second;
      cached_.erase(it);
    }
  }
  if (!p) p = gpu::pinned_alloc(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  stats_.bytes_in_use += static_cast<int64_t>(bytes);
  stats_.peak_bytes_in_use = std::max(stats_.peak_bytes_in_use, stats_.bytes_in_use);
  return p;
}

void PinnedHostAllocator::deallocate(void* ptr, size_t bytes) {
  if (!ptr) return;
  std::lock_guard<std::mutex> lock(mu_);
  stats_.bytes_in_use -= static_cast<int64_t>(bytes);
  cached_.emplace(bytes, ptr);
}

AllocatorStats PinnedHostAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void PinnedHostAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.peak_bytes_in_use = stats_.bytes_in_use;
}

void PinnedHostAllocator::release_cached() {
  std::multimap<size_t, void*> drop;
  {
    std::lock_guard<std::mutex> lock(mu_);
    drop.swap(cached_);
  }
  for (auto& [size, p] : drop) gpu::pinned_free(p);
}

PinnedHostAllocator* pinned_host_allocator() {
  static auto* a = new PinnedHostAllocator();  // never destroyed: tensors may outlive main
  return a;
}

}  // namespace kiln

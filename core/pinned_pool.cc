#include "core/pinned_pool.h"

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

int PinnedBufferPool::available() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(free_.size());
}

void PinnedBufferPool::give_back(void* data) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(data);
  }
  cv_.notify_one();
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

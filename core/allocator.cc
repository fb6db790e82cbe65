#include "core/allocator.h"

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>

#include "core/errors.h"

namespace kiln {

namespace {

// Large blocks are kept for reuse: glibc serves them with mmap, so a fresh 64 MiB buffer per
// op run costs ~16k page faults. Freed large blocks wait in a size-keyed cache (bounded, so a
// burst of big tensors does not pin memory forever) and are handed to the next request of a
// similar size; small blocks go straight to malloc, which already recycles them well.
constexpr size_t kCacheMinBytes = size_t{1} << 20;
constexpr size_t kCacheMaxBytes = size_t{1} << 30;

class HostAllocator final : public Allocator {
 public:
  void* allocate(size_t bytes) override {
    if (bytes == 0) return nullptr;
    size_t rounded = round(bytes);
    count(static_cast<int64_t>(rounded));
    if (rounded >= kCacheMinBytes) {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = cache_.lower_bound(rounded);
      if (it != cache_.end() && it->first <= rounded + rounded / 4) {
        void* p = it->second;
        cached_bytes_ -= it->first;
        sizes_[p] = it->first;
        cache_.erase(it);
        return p;
      }
    }
    void* p = std::aligned_alloc(64, rounded);
    if (!p) {
      count(-static_cast<int64_t>(rounded));
      throw ResourceExhaustedError("OOM when allocating " + std::to_string(bytes) +
                                   " bytes of host memory");
    }
    if (rounded >= kCacheMinBytes) {
      std::lock_guard<std::mutex> lock(mu_);
      sizes_[p] = rounded;
    }
    return p;
  }

  void deallocate(void* ptr, size_t bytes) override {
    if (!ptr) return;
    count(-static_cast<int64_t>(round(bytes)));
    if (round(bytes) >= kCacheMinBytes) {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = sizes_.find(ptr);
      if (it != sizes_.end()) {
        size_t size = it->second;
        sizes_.erase(it);
        if (cached_bytes_ + size <= kCacheMaxBytes) {
          cache_.emplace(size, ptr);
          cached_bytes_ += size;
          return;
        }
      }
    }
    std::free(ptr);
  }

  MemoryKind kind() const override { return MemoryKind::kHost; }
  std::string name() const override { return "cpu"; }
  AllocatorStats stats() const override { return {in_use_.load(), peak_.load()}; }
  void reset_peak() override { peak_.store(in_use_.load()); }

 private:
  void count(int64_t delta) {
    int64_t now = in_use_.fetch_add(delta) + delta;
    int64_t peak = peak_.load();
    while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
    }
  }

  std::atomic<int64_t> in_use_{0};
  std::atomic<int64_t> peak_{0};
  static size_t round(size_t bytes) { return (bytes + 63) & ~size_t{63}; }

  std::mutex mu_;
  std::multimap<size_t, void*> cache_;
  std::map<void*, size_t> sizes_;  // live and cached large blocks -> rounded size
  size_t cached_bytes_ = 0;
};

}  // namespace

Allocator* host_allocator() {
  static HostAllocator* allocator = new HostAllocator();  // never destroyed: tensors may outlive main
  return allocator;
}

}  // namespace kiln

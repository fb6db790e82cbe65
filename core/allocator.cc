#include "core/allocator.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <cstdint>
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
// similar size; small blocks go straight to malloc, which already recycles them well. When the
// cache is full the blocks freed longest ago make room (a model restored after a run of other
// sizes gets its own blocks cached, not the stale ones).
// Blocks of 4 MiB and more start on a 2 MiB boundary and ask for transparent huge pages
// (madvise), so first touching them costs one fault per 2 MiB instead of one per 4 KiB: a
// restore into fresh memory is then bound by the kernel zeroing pages, not by faults.
constexpr size_t kCacheMinBytes = size_t{1} << 20;
constexpr size_t kCacheMaxBytes = size_t{1} << 30;
constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kHugeMinBytes = size_t{4} << 20;

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
        std::erase(freed_order_, std::make_pair(p, sizes_[p]));
        return p;
      }
    }
    void* p = rounded >= kHugeMinBytes   ? huge_alloc(rounded)
              : rounded >= kCacheMinBytes ? std::aligned_alloc(64, rounded)
                                          : small_alloc(rounded);
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
        if (size <= kCacheMaxBytes) {
          while (cached_bytes_ + size > kCacheMaxBytes) evict_oldest();
          cache_.emplace(size, ptr);
          freed_order_.emplace_back(ptr, size);
          cached_bytes_ += size;
          return;
        }
      }
    }
    if (round(bytes) >= kCacheMinBytes)
      std::free(ptr);
    else
      small_free(ptr);
  }

  MemoryKind kind() const override { return MemoryKind::kHost; }
  std::string name() const override { return "cpu"; }
  AllocatorStats stats() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return {in_use_.load(), peak_.load(), static_cast<int64_t>(cached_bytes_)};
  }
  void release_cached() override {
    std::lock_guard<std::mutex> lock(mu_);
    while (!freed_order_.empty()) evict_oldest();
  }
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

  static void* huge_alloc(size_t bytes) {
    const size_t size = (bytes + 4095) & ~size_t{4095};
    void* p = std::aligned_alloc(kHugePage, (size + kHugePage - 1) & ~(kHugePage - 1));
    if (p) ::madvise(p, size & ~(kHugePage - 1), MADV_HUGEPAGE);  // a hint: failure is fine
    return p;
  }

  // Blocks below the cache size: malloc'd with room to align by hand, the malloc'd address kept
  // in the 8 bytes before the block. Why not aligned_alloc(64, n): glibc serves it by carving an
  // aligned chunk out of a larger one, so a freed block is too small for the next request of
  // the same size and every replacement of a variable took fresh pages from the kernel (a
  // restore of 16k 64 KiB variables into a running session spent half its time zeroing pages
  // and the heap grew by a GiB per restore). A malloc of the same size reuses the freed chunk.
  static constexpr size_t kAlign = 64;
  static void* small_alloc(size_t bytes) {
    void* raw = std::malloc(bytes + kAlign);
    if (!raw) return nullptr;
    const uintptr_t aligned = (reinterpret_cast<uintptr_t>(raw) + sizeof(void*) + kAlign - 1) & ~uintptr_t{kAlign - 1};
    reinterpret_cast<void**>(aligned)[-1] = raw;
    return reinterpret_cast<void*>(aligned);
  }
  static void small_free(void* p) { std::free(static_cast<void**>(p)[-1]); }

  // REQUIRES: mu_ held, cache not empty.
  void evict_oldest() {
    auto [ptr, size] = freed_order_.front();
    freed_order_.pop_front();
    auto range = cache_.equal_range(size);
    for (auto it = range.first; it != range.second; ++it)
      if (it->second == ptr) {
        cache_.erase(it);
        break;
      }
    cached_bytes_ -= size;
    std::free(ptr);
  }

  mutable std::mutex mu_;
  std::multimap<size_t, void*> cache_;
  std::deque<std::pair<void*, size_t>> freed_order_;  // cached blocks, oldest freed first
  std::map<void*, size_t> sizes_;  // live and cached large blocks -> rounded size
  size_t cached_bytes_ = 0;
};

}  // namespace

Allocator* host_allocator() {
  static HostAllocator* allocator = new HostAllocator();  // never destroyed: tensors may outlive main
  return allocator;
}

}  // namespace kiln

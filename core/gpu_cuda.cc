// CUDA implementation of core/gpu.h: streams, copies, the caching device allocator and pinned
// host memory.
#include <cuda_runtime_api.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "core/cuda_check.h"
#include "core/gpu.h"

namespace kiln::gpu {

namespace {

constexpr int kMaxStreamsPerDevice = 64;

struct Registry {
  std::mutex mu;
  std::map<std::pair<int, int>, cudaStream_t> streams;
  std::map<std::pair<int, int>, std::unique_ptr<Allocator>> allocators;
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: tensors may be freed after main
  return *r;
}

std::mutex g_stats_mu;
AllocatorStats g_stats;

size_t round_size(size_t bytes) {
  if (bytes < (1u << 20)) return (bytes + 511) & ~size_t{511};
  return (bytes + (1u << 20) - 1) & ~((size_t{1} << 20) - 1);  // 1 MiB granules above 1 MiB
}

// Per-(device, stream) pool of freed blocks keyed by size. A cached block is reused for a
// request of at most its size and at least half of it, so small requests don't pin big blocks.
class CachingAllocator final : public Allocator {
 public:
  CachingAllocator(int ordinal, cudaStream_t stream) : ordinal_(ordinal), stream_(stream) {}

  void* allocate(size_t bytes) override {
    if (bytes == 0) return nullptr;
    size_t size = round_size(bytes);
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.lower_bound(size);
      if (it != free_.end() && it->first <= 2 * size) {
        void* p = it->second;
        sizes_[p] = it->first;
        free_.erase(it);
        update_stats(static_cast<int64_t>(sizes_[p]), -static_cast<int64_t>(sizes_[p]), 0, 0);
        return p;
      }
    }
    set_device(ordinal_);
    void* p = nullptr;
    cudaError_t err = cudaMalloc(&p, size);
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // clear the sticky-free error state and retry after emptying caches
      empty_cache();
      set_device(ordinal_);  // empty_cache() visits every device's allocator
      err = cudaMalloc(&p, size);
    }
    if (err != cudaSuccess) {
      cudaGetLastError();
      throw ResourceExhaustedError("OOM when allocating " + std::to_string(bytes) +
                                   " bytes on /gpu:" + std::to_string(ordinal_) + ": " +
                                   cudaGetErrorString(err));
    }
    std::lock_guard<std::mutex> lock(mu_);
    sizes_[p] = size;
    update_stats(static_cast<int64_t>(size), 0, 1, 0);
    return p;
  }

  void deallocate(void* ptr, size_t) override {
    if (!ptr) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sizes_.find(ptr);
    if (it == sizes_.end()) return;
    size_t size = it->second;
    sizes_.erase(it);
    free_.emplace(size, ptr);
    update_stats(-static_cast<int64_t>(size), static_cast<int64_t>(size), 0, 0);
  }

  void release_cached() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.empty()) return;
    set_device(ordinal_);
    cudaStreamSynchronize(stream_);
    for (auto& [size, p] : free_) {
      cudaFree(p);
      update_stats(0, -static_cast<int64_t>(size), 0, 1);
    }
    free_.clear();
  }

  MemoryKind kind() const override { return MemoryKind::kGpu; }
  int gpu_ordinal() const override { return ordinal_; }
  void* stream() const override { return stream_; }
  std::string name() const override { return "gpu:" + std::to_string(ordinal_); }

 private:
  static void update_stats(int64_t in_use, int64_t cached, int64_t mallocs, int64_t frees) {
    std::lock_guard<std::mutex> lock(g_stats_mu);
    g_stats.bytes_in_use += in_use;
    g_stats.bytes_cached += cached;
    g_stats.device_mallocs += mallocs;
    g_stats.device_frees += frees;
  }

  int ordinal_;
  cudaStream_t stream_;
  std::mutex mu_;
  std::multimap<size_t, void*> free_;
  std::map<void*, size_t> sizes_;
};

void require_gpu(int ordinal) {
  if (ordinal < 0 || ordinal >= device_count())
    throw FailedPreconditionError("No CUDA device with ordinal " + std::to_string(ordinal) +
                                  " (" + std::to_string(device_count()) + " available)");
}

}  // namespace

bool built_with_cuda() { return true; }

int device_count() {
  static int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();
      return 0;
    }
    return n;
  }();
  return count;
}

std::string device_description(int ordinal) {
  require_gpu(ordinal);
  cudaDeviceProp prop{};
  KILN_CUDA_CHECK(cudaGetDeviceProperties(&prop, ordinal));
  return std::string(prop.name) + " (sm_" + std::to_string(prop.major) +
         std::to_string(prop.minor) + ", " + std::to_string(prop.totalGlobalMem >> 30) + " GiB)";
}

int multiprocessor_count(int ordinal) {
  static std::atomic<int> cache[64];  // 0 = not asked yet
  const bool cacheable = ordinal >= 0 && ordinal < 64;
  int n = cacheable ? cache[ordinal].load(std::memory_order_relaxed) : 0;
  if (n == 0) {
    require_gpu(ordinal);
    KILN_CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, ordinal));
    if (cacheable) cache[ordinal].store(n, std::memory_order_relaxed);
  }
  return n;
}

void set_device(int ordinal) {
  // cudaSetDevice is cheap but not free; skip it when this thread is already there.
  thread_local int current = -1;
  if (current == ordinal) return;
  KILN_CUDA_CHECK(cudaSetDevice(ordinal));
  current = ordinal;
}

Stream stream(int ordinal, int index) {
  require_gpu(ordinal);
  if (index < 0 || index >= kMaxStreamsPerDevice)
    throw InvalidArgumentError("Stream index " + std::to_string(index) + " out of range");
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.streams.find({ordinal, index});
  if (it != r.streams.end()) return it->second;
  set_device(ordinal);
  cudaStream_t s = nullptr;
  KILN_CUDA_CHECK(cudaStreamCreate(&s));
  r.streams[{ordinal, index}] = s;
  return s;
}

void synchronize(Stream s) { KILN_CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(s))); }

void copy_host_to_device(void* dst, const void* src, size_t bytes, int ordinal, Stream s) {
  if (bytes == 0) return;
  set_device(ordinal);
  KILN_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice,
                                  static_cast<cudaStream_t>(s)));
}

void copy_device_to_host(void* dst, const void* src, size_t bytes, int ordinal, Stream s) {
  if (bytes == 0) return;
  set_device(ordinal);
  KILN_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost,
                                  static_cast<cudaStream_t>(s)));
  KILN_CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(s)));
}

void copy_device_to_device(void* dst, int dst_ordinal, const void* src, int src_ordinal,
                           size_t bytes, Stream s) {
  if (bytes == 0) return;
  set_device(dst_ordinal);
  if (dst_ordinal == src_ordinal)
    KILN_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice,
                                    static_cast<cudaStream_t>(s)));
  else
    KILN_CUDA_CHECK(cudaMemcpyPeerAsync(dst, dst_ordinal, src, src_ordinal, bytes,
                                        static_cast<cudaStream_t>(s)));
}

void memset_device(void* dst, int value, size_t bytes, int ordinal, Stream s) {
  if (bytes == 0) return;
  set_device(ordinal);
  KILN_CUDA_CHECK(cudaMemsetAsync(dst, value, bytes, static_cast<cudaStream_t>(s)));
}

void copy_async(void* dst, const void* src, size_t bytes, int ordinal, Stream s) {
  if (bytes == 0) return;
  set_device(ordinal);
  KILN_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, static_cast<cudaStream_t>(s)));
}

// The last stream index is reserved for checkpoint io (logical GPUs use the low indices).
Stream io_stream(int ordinal) { return stream(ordinal, kMaxStreamsPerDevice - 1); }

Event create_event(int ordinal) {
  require_gpu(ordinal);
  set_device(ordinal);
  cudaEvent_t e = nullptr;
  // Blocking sync: a thread waiting for a copy sleeps instead of spinning a core.
  KILN_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming | cudaEventBlockingSync));
  return e;
}

void destroy_event(Event e) {
  if (e) cudaEventDestroy(static_cast<cudaEvent_t>(e));
}

void record_event(Event e, Stream s) {
  KILN_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(e), static_cast<cudaStream_t>(s)));
}

void stream_wait_event(Stream s, Event e) {
  KILN_CUDA_CHECK(cudaStreamWaitEvent(static_cast<cudaStream_t>(s), static_cast<cudaEvent_t>(e), 0));
}

void synchronize_event(Event e) { KILN_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(e))); }

Allocator* device_allocator(int ordinal, int stream_index) {
  Stream s = stream(ordinal, stream_index);
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto& slot = r.allocators[{ordinal, stream_index}];
  if (!slot) slot = std::make_unique<CachingAllocator>(ordinal, static_cast<cudaStream_t>(s));
  return slot.get();
}

AllocatorStats allocator_stats() {
  std::lock_guard<std::mutex> lock(g_stats_mu);
  return g_stats;
}

void empty_cache() {
  Registry& r = registry();
  std::vector<CachingAllocator*> all;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    for (auto& [key, a] : r.allocators) all.push_back(static_cast<CachingAllocator*>(a.get()));
  }
  for (auto* a : all) a->release_cached();
}

void* pinned_alloc(size_t bytes) {
  if (bytes == 0) return nullptr;
  if (device_count() == 0) {
    void* p = std::aligned_alloc(4096, (bytes + 4095) & ~size_t{4095});
    if (!p) throw ResourceExhaustedError("OOM allocating " + std::to_string(bytes) + " host bytes");
    return p;
  }
  void* p = nullptr;
  KILN_CUDA_CHECK(cudaHostAlloc(&p, bytes, cudaHostAllocPortable));
  return p;
}

void pinned_free(void* ptr) {
  if (!ptr) return;
  if (device_count() == 0) {
    std::free(ptr);
    return;
  }
  cudaFreeHost(ptr);
}

}  // namespace kiln::gpu

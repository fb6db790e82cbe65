// Memory allocators. An Allocator hands out raw bytes of one kind of memory; tensors keep a
// pointer to the allocator that owns their buffer, so allocators live for the whole process.
//
// GPU allocators are caching (see core/gpu.h): freed blocks go back to a per-stream pool and are
// reused by later allocations on the same stream, so a steady-state training loop makes no
// cudaMalloc/cudaFree calls. Reuse is safe without events because everything that touches a
// block is ordered on that stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace kiln {

enum class MemoryKind { kHost, kGpu };

// Bytes held by live allocations (blocks cached for reuse are not counted) and the most ever held
// since the last reset_peak(), as tf.config.experimental.get_memory_info reports.
struct AllocatorStats {
  int64_t bytes_in_use = 0;
  int64_t peak_bytes_in_use = 0;
  int64_t bytes_cached = 0;  // freed blocks kept for reuse (host allocator; 0 where not kept)
};

class Allocator {
 public:
  virtual ~Allocator() = default;
  // Returns at least `bytes` bytes aligned to 64 (host) or 256 (GPU); throws
  // ResourceExhaustedError when the memory cannot be had. A zero-byte request returns nullptr.
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* ptr, size_t bytes) = 0;
  virtual MemoryKind kind() const = 0;
  // CUDA device ordinal for GPU memory, -1 for host memory.
  virtual int gpu_ordinal() const { return -1; }
  // The stream (cudaStream_t as void*) whose order makes reuse of freed blocks safe.
  virtual void* stream() const { return nullptr; }
  virtual std::string name() const = 0;
  // Usage counters; allocators that do not keep them report zeros.
  virtual AllocatorStats stats() const { return {}; }
  // Starts a new peak measurement at the current usage.
  virtual void reset_peak() {}
  // Gives the freed blocks kept for reuse back to the system (as torch.cuda.empty_cache()): for
  // a program about to need the memory elsewhere, or a benchmark of work into memory the
  // process does not hold. The host allocator (its blocks of 1 MiB and up; smaller ones are
  // malloc's), the GPU caching allocators (after a sync of their stream) and the pinned host
  // allocator do; allocators that keep nothing do nothing.
  virtual void release_cached() {}
};

// The process-wide host allocator (64-byte aligned, thread-safe).
Allocator* host_allocator();

}  // namespace kiln

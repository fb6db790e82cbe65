// The CUDA runtime seen through a small facade, so the rest of core (and users) never include
// CUDA headers. In a build without CUDA, or on a machine without a GPU, device_count() is 0 and
// every other call throws FailedPreconditionError.
//
// Streams are created on first use and live for the process: stream (ordinal, k) is the k-th
// stream of CUDA device `ordinal`; logical GPU devices map onto them. Streams are created
// blocking (not cudaStreamNonBlocking), so legacy default-stream operations order with them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/allocator.h"

namespace kiln::gpu {

using Stream = void*;  // cudaStream_t

bool built_with_cuda();
// Number of usable CUDA devices; 0 when CUDA is absent or reports no device. Never throws.
int device_count();
// e.g. "NVIDIA H200 (sm_90, 139 GiB)".
std::string device_description(int ordinal);

// Number of streaming multiprocessors of device `ordinal` (cached; kernels size grids by it).
int multiprocessor_count(int ordinal);

Stream stream(int ordinal, int index);
void synchronize(Stream stream);
void set_device(int ordinal);

// Copies; `stream` orders the copy after earlier work on it. Device-to-host copies and copies
// from pageable host memory return once the bytes have landed.
void copy_host_to_device(void* dst, const void* src, size_t bytes, int ordinal, Stream stream);
void copy_device_to_host(void* dst, const void* src, size_t bytes, int ordinal, Stream stream);
void copy_device_to_device(void* dst, int dst_ordinal, const void* src, int src_ordinal,
                           size_t bytes, Stream stream);
void memset_device(void* dst, int value, size_t bytes, int ordinal, Stream stream);
// Enqueues a copy in either direction (unified addressing) and returns at once. With pageable
// host memory CUDA may still block; checkpoint io passes pinned buffers only.
void copy_async(void* dst, const void* src, size_t bytes, int ordinal, Stream stream);

// The stream checkpoint io copies on (one per device, apart from the compute streams), so that
// device<->host staging overlaps kernels instead of queueing behind them.
Stream io_stream(int ordinal);

// Events order work across streams and tell the host when a copy has finished.
using Event = void*;  // cudaEvent_t
Event create_event(int ordinal);  // timing disabled
void destroy_event(Event event);  // never throws
void record_event(Event event, Stream stream);
// Later work on `stream` waits for `event` (no host blocking).
void stream_wait_event(Stream stream, Event event);
void synchronize_event(Event event);

// The caching allocator of device `ordinal` bound to stream (ordinal, stream_index).
Allocator* device_allocator(int ordinal, int stream_index);

// Statistics of all caching allocators, for tests and benchmarks.
struct AllocatorStats {
  int64_t device_mallocs = 0;  // cudaMalloc calls made so far
  int64_t device_frees = 0;    // cudaFree calls made so far
  int64_t bytes_in_use = 0;
  int64_t bytes_cached = 0;
};
AllocatorStats allocator_stats();
// Returns every cached (unused) block to CUDA.
void empty_cache();

// Page-locked host memory (falls back to ordinary aligned memory without CUDA).
void* pinned_alloc(size_t bytes);
void pinned_free(void* ptr);

}  // namespace kiln::gpu

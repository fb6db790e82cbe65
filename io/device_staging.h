// Streaming a device tensor's bytes to a file and back through a bounded pool of pinned staging
// buffers (issue 5; DESIGN.md "How data flows through a save").
//
// Save: chunk k+1 is copied device->pinned on the io copy stream while chunk k is checksummed
// (crc32c extended chunk by chunk, on a CrcWorker beside the write) and written. Restore runs
// backwards: chunk k+1 is read into a pinned buffer while chunk k is copied pinned->device; the
// crc over all chunks is returned before the call returns, so the caller checks it before it
// publishes the tensor. Host memory used: the pool's buffers, whatever the tensor size.
//
// The pipeline is written against CopyEngine, so it is tested on machines without a GPU with an
// engine that copies on a host thread (tests/io/device_staging_test.cc); gpu_copy_engine() is
// the CUDA one (events on gpu::io_stream, ordered after the tensor's own stream).
//
// Errors: a failed write/read/copy is rethrown after every copy already queued has finished, so
// no buffer goes back to the pool while a copy can still touch it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/pinned_pool.h"
#include "core/tensor.h"
#include "io/crc_worker.h"
#include "io/file.h"

namespace kiln::io {

// Asynchronous copies between device memory and staging buffers, tracked per slot (one slot per
// staging buffer in use).
class CopyEngine {
 public:
  virtual ~CopyEngine() = default;
  // Queues a copy of n bytes and returns at once; `slot` in [0, slots) names the buffer it
  // involves.
  virtual void copy(void* dst, const void* src, size_t n, int slot) = 0;
  // Blocks until every copy queued on `slot` has finished; rethrows a copy's failure.
  virtual void wait(int slot) = 0;
};

// The CUDA engine for `device_tensor` (a GPU tensor): copies run on gpu::io_stream of its device,
// after everything already queued on the tensor's own stream (an event joins them).
std::unique_ptr<CopyEngine> gpu_copy_engine(const Tensor& device_tensor, int slots);

// Writes the n bytes at `src` (device memory, read only by `engine`) to `out` through buffers of
// `pool` (at most pool.capacity(), taken together). Returns the unmasked crc32c of the bytes.
uint32_t stream_to_file(const char* src, size_t n, CopyEngine& engine, PinnedBufferPool& pool,
                        WritableFile* out, CrcWorker* crc);

// Reads n bytes at `offset` of `file` into `dst` (device memory, written only by `engine`)
// through buffers of `pool`. Returns the unmasked crc32c of the bytes read; every copy has
// finished when it returns.
uint32_t stream_from_file(const RandomAccessFile& file, uint64_t offset, size_t n, char* dst,
                          CopyEngine& engine, PinnedBufferPool& pool, CrcWorker* crc);

}  // namespace kiln::io

#include "io/device_staging.h"

#include <algorithm>
#include <vector>

#include "core/errors.h"
#include "core/gpu.h"
#include "io/crc32c.h"

namespace kiln::io {
namespace {

class GpuCopyEngine final : public CopyEngine {
 public:
  GpuCopyEngine(int ordinal, gpu::Stream tensor_stream, int slots)
      : ordinal_(ordinal), stream_(gpu::io_stream(ordinal)) {
    try {
      // Copies start after the work queued on the tensor's stream (its producer).
      ready_ = gpu::create_event(ordinal);
      gpu::record_event(ready_, tensor_stream);
      gpu::stream_wait_event(stream_, ready_);
      for (int i = 0; i < slots; ++i) events_.push_back(gpu::create_event(ordinal));
    } catch (...) {
      release();
      throw;
    }
    recorded_.assign(events_.size(), false);
  }
  ~GpuCopyEngine() override {
    // Nothing may still read or write memory its owner is about to reuse: wait for this
    // engine's own copies (the io stream is shared by every writer of the device).
    for (size_t s = 0; s < events_.size(); ++s) {
      try {
        if (recorded_[s]) gpu::synchronize_event(events_[s]);
      } catch (...) {
      }
    }
    release();
  }

  void copy(void* dst, const void* src, size_t n, int slot) override {
    gpu::copy_async(dst, src, n, ordinal_, stream_);
    try {
      gpu::record_event(events_.at(slot), stream_);
    } catch (...) {
      // The copy is queued but no event tracks it: wait for it here, so that no staging buffer
      // goes back to the pool while the copy may still touch it.
      try {
        gpu::synchronize(stream_);
      } catch (...) {
      }
      throw;
    }
    recorded_[slot] = true;
  }
  void wait(int slot) override {
    if (recorded_.at(slot)) gpu::synchronize_event(events_[slot]);
  }

 private:
  void release() noexcept {
    gpu::destroy_event(ready_);
    for (gpu::Event e : events_) gpu::destroy_event(e);
  }

  int ordinal_;
  gpu::Stream stream_;
  gpu::Event ready_ = nullptr;
  std::vector<gpu::Event> events_;
  std::vector<bool> recorded_;
};

size_t chunk_count(size_t n, size_t chunk) { return (n + chunk - 1) / chunk; }

// Waits for every slot, swallowing errors: used while another error is on its way out.
void drain(CopyEngine& engine, int slots) noexcept {
  for (int s = 0; s < slots; ++s) {
    try {
      engine.wait(s);
    } catch (...) {
    }
  }
}

}  // namespace

std::unique_ptr<CopyEngine> gpu_copy_engine(const Tensor& device_tensor, int slots) {
  Allocator* a = device_tensor.allocator();
  if (a == nullptr || a->kind() != MemoryKind::kGpu)
    throw InvalidArgumentError("gpu_copy_engine needs a GPU tensor");
  return std::make_unique<GpuCopyEngine>(a->gpu_ordinal(), a->stream(), slots);
}

uint32_t stream_to_file(const char* src, size_t n, CopyEngine& engine, PinnedBufferPool& pool,
                        WritableFile* out, CrcWorker* crc) {
  if (n == 0) return 0;
  const size_t chunk = pool.buffer_bytes();
  const size_t chunks = chunk_count(n, chunk);
  const int slots = static_cast<int>(std::min<size_t>(pool.capacity(), chunks));
  std::vector<PinnedBufferPool::Lease> bufs = pool.acquire_many(slots);
  auto piece = [&](size_t k) { return std::min(chunk, n - k * chunk); };
  auto buffer = [&](size_t k) { return static_cast<char*>(bufs[k % slots].data()); };
  uint32_t value = 0;
  try {
    for (size_t k = 0; k < static_cast<size_t>(slots); ++k)
      engine.copy(buffer(k), src + k * chunk, piece(k), static_cast<int>(k));
    for (size_t k = 0; k < chunks; ++k) {
      const int slot = static_cast<int>(k % slots);
      engine.wait(slot);
      const char* p = buffer(k);
      const size_t len = piece(k);
      // The chunk's crc runs on the worker while this thread writes the same bytes.
      const uint32_t c = crc_beside(crc, IoDirection::kWrite, p, len, len, [&](size_t off, size_t m) {
        out->append(std::string_view(p + off, m));
      });
      value = crc32c::combine(value, c, len);
      if (k + slots < chunks) engine.copy(buffer(k), src + (k + slots) * chunk, piece(k + slots), slot);
    }
  } catch (...) {
    drain(engine, slots);
    throw;
  }
  return value;
}

uint32_t stream_from_file(const RandomAccessFile& file, uint64_t offset, size_t n, char* dst,
                          CopyEngine& engine, PinnedBufferPool& pool, CrcWorker* crc) {
  if (n == 0) return 0;
  const size_t chunk = pool.buffer_bytes();
  const size_t chunks = chunk_count(n, chunk);
  const int slots = static_cast<int>(std::min<size_t>(pool.capacity(), chunks));
  std::vector<PinnedBufferPool::Lease> bufs = pool.acquire_many(slots);
  // The crc of chunk k runs on the worker while chunk k+1 is read; it must finish before the
  // chunk's buffer is refilled.
  std::vector<CrcWorker::Ticket> pending(slots);
  std::vector<size_t> pending_len(slots, 0);
  uint32_t value = 0;
  size_t joined = 0;  // chunks whose crc is in `value`, in order
  auto join_through = [&](size_t k) {  // joins the crcs of chunks [joined, k]
    for (; joined <= k; ++joined) {
      const int s = static_cast<int>(joined % slots);
      value = crc32c::combine(value, crc->wait(pending[s]), pending_len[s]);
      pending[s].reset();
    }
  };
  try {
    for (size_t k = 0; k < chunks; ++k) {
      const int slot = static_cast<int>(k % slots);
      char* buf = static_cast<char*>(bufs[slot].data());
      if (k >= static_cast<size_t>(slots)) {
        engine.wait(slot);  // the copy out of this buffer has finished
        if (crc) join_through(k - slots);
      }
      const size_t len = std::min(chunk, n - k * chunk);
      file.read_exact(offset + k * chunk, len, buf);
      if (crc) {
        pending[slot] = crc->submit(buf, len);
        pending_len[slot] = len;
      } else {
        value = crc32c::extend(value, buf, len);
      }
      engine.copy(dst + k * chunk, buf, len, slot);
    }
    for (int s = 0; s < slots; ++s) engine.wait(s);
    if (crc) join_through(chunks - 1);
  } catch (...) {
    drain(engine, slots);
    if (crc)
      for (auto& t : pending)
        if (t) crc->wait(t);
    throw;
  }
  return value;
}

}  // namespace kiln::io

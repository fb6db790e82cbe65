// CrcWorker: computes crc32c of byte ranges on one background thread, so that a checksum pass
// runs beside the write (or read) of the same bytes instead of after it.
//
//   io::CrcWorker crc;
//   auto job = crc.submit(p, n);      // starts at once on the worker thread
//   file->append({p, n});             // meanwhile, on this thread
//   uint32_t c = crc.wait(job);       // crc32c::value(p, n)
//
// Jobs run one at a time in submission order. The bytes must stay valid and unchanged until
// wait() on their job has returned. The thread starts on the first submit() and is joined by the
// destructor (after finishing the queued jobs). Thread-safe: several threads may submit and wait.
// Why a persistent thread rather than std::async per piece: a 1 MiB tensor is written in ~0.3 ms,
// and spawning a thread per piece would cost a noticeable part of that. For the same reason the
// worker (for new jobs) and wait() (for a job to finish) spin for up to ~100 us before they
// sleep: a sleep/wake pair costs tens of microseconds on a VM, as much as a 256 KiB crc.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

namespace kiln::io {

class CrcWorker {
 public:
  struct Job;
  using Ticket = std::shared_ptr<Job>;

  CrcWorker() = default;
  ~CrcWorker();
  CrcWorker(const CrcWorker&) = delete;
  CrcWorker& operator=(const CrcWorker&) = delete;

  Ticket submit(const void* data, size_t n);
  // Blocks until the job has run; returns crc32c (unmasked, not extended) of its bytes.
  uint32_t wait(const Ticket& job);

  // Pieces at least this large are worth handing to the worker; smaller ones are cheaper inline.
  static constexpr size_t kMinParallelBytes = 128 << 10;

 private:
  void run();

  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<Ticket> queue_;
  std::atomic<int> queued_{0};  // queue_.size(), readable without the lock while spinning
  bool stop_ = false;
  std::thread thread_;
};

// What the io callback of crc_beside does with the bytes.
enum class IoDirection {
  kWrite,  // reads them (a write to a file): piece k's crc runs beside piece k's own write
  kRead,   // fills them (a read from a file): piece k's crc runs beside piece k+1's read
};

// The crc32c of the `n` bytes at `p`, computed while `io` (a callable taking (offset, length) of
// each piece, called in order, pieces of at most `piece` bytes) moves them. With `worker` null,
// or n below kMinParallelBytes, the crc runs inline after each piece. Returns the unmasked crc.
// If `io` throws, the pending crc jobs are waited for and the exception propagates.
template <typename IoFn>
uint32_t crc_beside(CrcWorker* worker, IoDirection direction, const char* p, size_t n, size_t piece,
                    IoFn&& io);

}  // namespace kiln::io

#include "io/crc_worker_inl.h"

#include "io/crc_worker.h"

#include <chrono>
#include <thread>

#include "io/crc32c.h"

namespace kiln::io {

struct CrcWorker::Job {
  const void* data;
  size_t n;
  uint32_t crc = 0;
  std::atomic<bool> done{false};
};

namespace {

// Spins until `ready()` or ~100 us have passed; true when ready. Every few dozen polls it
// yields the core: when the cores are oversubscribed (other processes, more io threads than
// cores) the thread it waits for may need this very core, and a pure spin would hold it for the
// whole time slice (restores ran 10x slower that way under a parallel build).
template <typename Ready>
bool spin_until(Ready&& ready) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(100);
  for (int i = 0;; ++i) {
    if (ready()) return true;
    if ((i & 31) == 31) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::yield();
    }
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
  }
}

}  // namespace

CrcWorker::~CrcWorker() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

CrcWorker::Ticket CrcWorker::submit(const void* data, size_t n) {
  auto job = std::make_shared<Job>();
  job->data = data;
  job->n = n;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    queue_.push_back(job);
    queued_.fetch_add(1, std::memory_order_release);
  }
  work_cv_.notify_one();
  return job;
}

uint32_t CrcWorker::wait(const Ticket& job) {
  if (!spin_until([&] { return job->done.load(std::memory_order_acquire); })) {
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return job->done.load(std::memory_order_acquire); });
  }
  return job->crc;
}

void CrcWorker::run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (queue_.empty() && !stop_) {
      lock.unlock();
      spin_until([&] { return queued_.load(std::memory_order_acquire) > 0; });
      lock.lock();
      work_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    }
    if (queue_.empty()) return;  // stop_ and nothing left
    Ticket job = queue_.front();
    queue_.pop_front();
    queued_.fetch_sub(1, std::memory_order_relaxed);
    lock.unlock();
    job->crc = crc32c::value(job->data, job->n);
    job->done.store(true, std::memory_order_release);
    lock.lock();
    done_cv_.notify_all();
  }
}

}  // namespace kiln::io

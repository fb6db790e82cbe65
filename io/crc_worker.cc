#include "io/crc_worker.h"

#include "io/crc32c.h"

namespace kiln::io {

struct CrcWorker::Job {
  const void* data;
  size_t n;
  uint32_t crc = 0;
  bool done = false;
};

CrcWorker::~CrcWorker() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

CrcWorker::Ticket CrcWorker::submit(const void* data, size_t n) {
  auto job = std::make_shared<Job>(Job{data, n});
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    queue_.push_back(job);
  }
  work_cv_.notify_one();
  return job;
}

uint32_t CrcWorker::wait(const Ticket& job) {
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [&] { return job->done; });
  return job->crc;
}

void CrcWorker::run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop_ and nothing left
    Ticket job = queue_.front();
    queue_.pop_front();
    lock.unlock();
    const uint32_t crc = crc32c::value(job->data, job->n);
    lock.lock();
    job->crc = crc;
    job->done = true;
    done_cv_.notify_all();
  }
}

}  // namespace kiln::io

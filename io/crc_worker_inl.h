// Template definition of io::crc_beside (io/crc_worker.h). Not to be included directly.
#pragma once

#include <algorithm>

#include "io/crc32c.h"

namespace kiln::io {

template <typename IoFn>
uint32_t crc_beside(CrcWorker* worker, IoDirection direction, const char* p, size_t n, size_t piece,
                    IoFn&& io) {
  uint32_t crc = 0;
  if (worker == nullptr || n < CrcWorker::kMinParallelBytes) {
    for (size_t done = 0; done < n;) {
      const size_t len = std::min(piece, n - done);
      io(done, len);
      crc = crc32c::extend(crc, p + done, len);
      done += len;
    }
    return crc;
  }
  // At most two jobs are outstanding; they are joined (combined into crc) in order.
  CrcWorker::Ticket jobs[2];
  size_t lens[2] = {0, 0};
  int oldest = 0, outstanding = 0;
  auto join_oldest = [&] {
    crc = crc32c::combine(crc, worker->wait(jobs[oldest]), lens[oldest]);
    jobs[oldest].reset();
    oldest ^= 1;
    --outstanding;
  };
  auto submit = [&](size_t offset, size_t len) {
    const int slot = (oldest + outstanding) & 1;
    jobs[slot] = worker->submit(p + offset, len);
    lens[slot] = len;
    ++outstanding;
  };
  // A read's last crc cannot overlap anything, so the last piece is kept small.
  constexpr size_t kReadTail = 16 << 10;
  try {
    for (size_t done = 0; done < n;) {
      const size_t rest = n - done;
      size_t len = std::min(piece, rest);
      if (direction == IoDirection::kRead && len == rest && rest > 2 * kReadTail) len = rest - kReadTail;
      if (direction == IoDirection::kWrite) {
        submit(done, len);  // the crc of these bytes runs while they are written
        io(done, len);
        while (outstanding > 1) join_oldest();
      } else {
        io(done, len);  // the bytes must land before their crc starts
        while (outstanding > 0) join_oldest();
        submit(done, len);
      }
      done += len;
    }
    while (outstanding > 0) join_oldest();
  } catch (...) {
    for (auto& job : jobs)  // the bytes may go away once we return
      if (job) worker->wait(job);
    throw;
  }
  return crc;
}

}  // namespace kiln::io

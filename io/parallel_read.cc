#include "io/parallel_read.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <limits>
#include <mutex>
#include <system_error>
#include <thread>

#include "io/crc32c.h"

namespace kiln::io {
namespace {

enum : int { kPending = 0, kReady = 1, kAbandoned = 2 };

struct RangeState {
  std::atomic<int> state{kPending};  // set by the thread that takes the range's first piece
  char* dst = nullptr;               // valid once state == kReady
  std::atomic<size_t> pieces_left{0};
  std::vector<uint32_t> piece_crc;
};

struct Piece {
  size_t range;
  size_t index;    // within its range
  uint64_t begin;  // within its range
  uint64_t size;
};

class Run {
 public:
  Run(const std::vector<RangeRead>& ranges, const ParallelReadOptions& o,
      const ParallelReadCallbacks& cb)
      : ranges_(ranges), options_(o), cb_(cb), states_(ranges.size()) {
    const uint64_t piece = std::max<size_t>(o.piece_bytes, 1);
    for (size_t r = 0; r < ranges.size(); ++r) {
      const uint64_t size = ranges[r].size;
      const size_t n = size == 0 ? 1 : static_cast<size_t>(size / piece + (size % piece != 0));
      states_[r].pieces_left.store(n, std::memory_order_relaxed);
      states_[r].piece_crc.assign(n, 0);
      for (size_t i = 0; i < n; ++i)
        pieces_.push_back({r, i, i * piece, std::min(piece, size - std::min(size, i * piece))});
    }
  }

  size_t pieces() const { return pieces_.size(); }

  void work() {
    for (;;) {
      const size_t k = cursor_.fetch_add(1, std::memory_order_relaxed);
      if (k >= pieces_.size()) return;
      const Piece& p = pieces_[k];
      RangeState& s = states_[p.range];
      // After a failure no range after the lowest failed one is begun; ranges before it still
      // are (they were handed out earlier), so that the lowest failing range is found whatever
      // the threads' timing.
      if (p.index == 0 && p.range > lowest_failed_.load(std::memory_order_acquire)) {
        s.state.store(kAbandoned, std::memory_order_release);  // not begun: left alone
        continue;
      }
      try {
        if (!run_piece(p, s)) continue;
      } catch (...) {
        if (p.index == 0 && s.state.load(std::memory_order_relaxed) == kPending)
          s.state.store(kAbandoned, std::memory_order_release);
        fail(p.range, std::current_exception());
      }
    }
  }

  void rethrow_first_error() {
    if (first_error_) std::rethrow_exception(first_error_);
  }

 private:
  // False when the piece's range was abandoned (its first piece failed or was never begun).
  bool run_piece(const Piece& p, RangeState& s) {
    if (p.index == 0) {
      s.dst = cb_.destination(p.range);
      s.state.store(kReady, std::memory_order_release);
    } else {
      // The first piece was taken earlier (pieces are taken in order); its thread is at most
      // inside destination(), i.e. an allocation.
      int state;
      while ((state = s.state.load(std::memory_order_acquire)) == kPending) std::this_thread::yield();
      if (state == kAbandoned) return false;
    }
    const RangeRead& r = ranges_[p.range];
    char* dst = s.dst + p.begin;
    uint32_t crc = 0;
    for (uint64_t done = 0; done < p.size;) {
      const size_t n = static_cast<size_t>(
          std::min<uint64_t>(std::max<size_t>(options_.sub_piece_bytes, 1), p.size - done));
      r.file->read_exact(r.offset + p.begin + done, n, dst + done);
      crc = crc32c::extend(crc, dst + done, n);
      done += n;
    }
    s.piece_crc[p.index] = crc;
    if (s.pieces_left.fetch_sub(1, std::memory_order_acq_rel) != 1) return true;
    // Last piece of the range: every other piece's crc is visible (acq_rel above).
    uint32_t whole = s.piece_crc[0];
    const uint64_t piece = std::max<size_t>(options_.piece_bytes, 1);
    for (size_t i = 1; i < s.piece_crc.size(); ++i)
      whole = crc32c::combine(whole, s.piece_crc[i], std::min(piece, r.size - i * piece));
    cb_.finished(p.range, whole);
    return true;
  }

  void fail(size_t range, std::exception_ptr e) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!first_error_ || range < first_error_range_) {
      first_error_ = e;
      first_error_range_ = range;
      lowest_failed_.store(range, std::memory_order_release);
    }
  }

  const std::vector<RangeRead>& ranges_;
  const ParallelReadOptions& options_;
  const ParallelReadCallbacks& cb_;
  std::vector<RangeState> states_;
  std::vector<Piece> pieces_;
  std::atomic<size_t> cursor_{0};
  std::atomic<size_t> lowest_failed_{std::numeric_limits<size_t>::max()};
  std::mutex mu_;
  std::exception_ptr first_error_;
  size_t first_error_range_ = 0;
};

}  // namespace

void read_ranges_in_parallel(const std::vector<RangeRead>& ranges,
                             const ParallelReadOptions& options,
                             const ParallelReadCallbacks& callbacks) {
  Run run(ranges, options, callbacks);
  const size_t helpers =
      std::min<size_t>(static_cast<size_t>(std::max(options.threads, 1)), run.pieces()) - (run.pieces() > 0);
  std::vector<std::thread> threads;
  threads.reserve(helpers);
  for (size_t i = 0; i < helpers; ++i) {
    try {
      threads.emplace_back([&run] { run.work(); });
    } catch (...) {  // std::system_error, std::bad_alloc: the threads running do the work
      break;
    }
  }
  run.work();
  for (auto& t : threads) t.join();
  run.rethrow_first_error();
}

int default_read_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return static_cast<int>(std::clamp(n, 1u, 8u));
}

}  // namespace kiln::io

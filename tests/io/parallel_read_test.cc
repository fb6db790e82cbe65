// io::read_ranges_in_parallel: every byte of every range lands where destination() said, with
// its crc32c; the callbacks' order and counts; at most `threads` ranges in progress; errors
// (the lowest-numbered failed range wins, nothing new starts after a failure, begun ranges are
// finished or abandoned whole).
#include "io/parallel_read.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/errors.h"
#include "io/crc32c.h"
#include "io/fault_file_system.h"
#include "io/mem_file_system.h"

namespace kiln::io {
namespace {

std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

class ParallelRead : public ::testing::Test {
 protected:
  void SetUp() override {
    contents_ = random_bytes(kFileBytes, 7);
    fs_.set_contents("f", contents_);
    file_ = fs_.new_random_access_file("f");
  }
  // Ranges of awkward sizes around the piece and sub-piece sizes used below, some overlapping.
  std::vector<RangeRead> ranges() const {
    const uint64_t sizes[] = {0, 1, 100, (64 << 10) - 1, (1 << 20), (1 << 20) + 1,
                              (3 << 20) + 17, 5, 0, (2 << 20) - 3};
    std::vector<RangeRead> out;
    uint64_t offset = 3;
    for (uint64_t size : sizes) {
      out.push_back({file_.get(), offset, size});
      offset = (offset + size / 2 + 11) % (kFileBytes - (4 << 20));
    }
    return out;
  }

  static constexpr size_t kFileBytes = 12 << 20;
  MemFileSystem fs_;
  std::string contents_;
  std::unique_ptr<RandomAccessFile> file_;
};

TEST_F(ParallelRead, EveryRangeLandsWithItsCrc) {
  const auto rs = ranges();
  for (int threads : {1, 2, 3, 16}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    std::vector<std::string> dst(rs.size());
    std::vector<int> destinations(rs.size(), 0), finishes(rs.size(), 0);
    std::vector<uint32_t> crcs(rs.size(), 0);
    std::atomic<int> in_progress{0}, most_in_progress{0};
    std::mutex mu;
    ParallelReadOptions o;
    o.threads = threads;
    o.piece_bytes = 1 << 20;
    o.sub_piece_bytes = 64 << 10;
    read_ranges_in_parallel(
        rs, o,
        {.destination =
             [&](size_t i) {
               const int now = ++in_progress;
               int seen = most_in_progress.load();
               while (now > seen && !most_in_progress.compare_exchange_weak(seen, now)) {
               }
               std::lock_guard<std::mutex> lock(mu);
               ++destinations[i];
               EXPECT_EQ(finishes[i], 0) << "finished before its destination, range " << i;
               dst[i].assign(rs[i].size, '\0');
               return dst[i].data();
             },
         .finished =
             [&](size_t i, uint32_t crc) {
               --in_progress;
               std::lock_guard<std::mutex> lock(mu);
               ++finishes[i];
               crcs[i] = crc;
             }});
    EXPECT_LE(most_in_progress.load(), threads);
    for (size_t i = 0; i < rs.size(); ++i) {
      SCOPED_TRACE("range " + std::to_string(i));
      EXPECT_EQ(destinations[i], 1);
      EXPECT_EQ(finishes[i], 1);
      const std::string expected = contents_.substr(rs[i].offset, rs[i].size);
      EXPECT_TRUE(dst[i] == expected);
      EXPECT_EQ(crcs[i], crc32c::value(expected.data(), expected.size()));
    }
  }
}

// finished() throwing for ranges 6 and 3: the call rethrows range 3's error whatever the
// threads' timing (no range above the lowest failure is begun, every range below it is); every
// range that was begun and did not fail was finished.
TEST_F(ParallelRead, TheLowestFailedRangeIsRethrown) {
  const auto rs = ranges();
  for (int threads : {1, 2, 4}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    std::vector<std::string> dst(rs.size());
    std::mutex mu;
    std::set<size_t> begun, finished;
    ParallelReadOptions o;
    o.threads = threads;
    o.piece_bytes = 256 << 10;
    try {
      read_ranges_in_parallel(rs, o,
                              {.destination =
                                   [&](size_t i) {
                                     std::lock_guard<std::mutex> lock(mu);
                                     begun.insert(i);
                                     dst[i].assign(rs[i].size, '\0');
                                     return dst[i].data();
                                   },
                               .finished =
                                   [&](size_t i, uint32_t) {
                                     if (i == 3 || i == 6)
                                       throw DataLossError("range " + std::to_string(i));
                                     std::lock_guard<std::mutex> lock(mu);
                                     finished.insert(i);
                                   }});
      ADD_FAILURE() << "no error";
    } catch (const DataLossError& e) {
      EXPECT_STREQ(e.what(), "range 3");
    }
    for (size_t i : begun) {
      if (i != 3 && i != 6) {
        EXPECT_TRUE(finished.count(i)) << "range " << i << " begun, not finished";
      }
    }
    if (threads == 1) {  // one thread: nothing after range 3 is started
      EXPECT_EQ(*begun.rbegin(), 3u);
    }
  }
}

// A read error (an injected one, and a short read of a truncated file) propagates; so does a
// destination() that throws, and that range's other pieces are abandoned, never finished.
TEST_F(ParallelRead, ReadAndDestinationErrorsPropagate) {
  FaultInjectingFileSystem faulty(&fs_);
  auto file = faulty.new_random_access_file("f");
  std::vector<RangeRead> rs{{file.get(), 0, 3 << 20}, {file.get(), 5, 2 << 20}};
  std::vector<std::string> dst(rs.size());
  ParallelReadCallbacks cb{.destination =
                               [&](size_t i) {
                                 dst[i].assign(rs[i].size, '\0');
                                 return dst[i].data();
                               },
                           .finished = [](size_t, uint32_t) {}};
  ParallelReadOptions o;
  o.threads = 2;
  o.piece_bytes = 512 << 10;
  faulty.fail_on(FaultInjectingFileSystem::Op::kRead, 5);
  EXPECT_THROW(read_ranges_in_parallel(rs, o, cb), UnknownError);

  fs_.set_contents("short", contents_.substr(0, 1 << 20));
  auto short_file = fs_.new_random_access_file("short");
  std::vector<RangeRead> past_end{{short_file.get(), 0, 2 << 20}};
  EXPECT_THROW(read_ranges_in_parallel(past_end, o, cb), DataLossError);

  int finished = 0;
  ParallelReadCallbacks refusing{.destination = [](size_t i) -> char* {
                                   if (i == 0) throw ResourceExhaustedError("no memory");
                                   return nullptr;
                                 },
                                 .finished = [&](size_t, uint32_t) { ++finished; }};
  std::vector<RangeRead> one{{file_.get(), 0, 3 << 20}};
  EXPECT_THROW(read_ranges_in_parallel(one, o, refusing), ResourceExhaustedError);
  EXPECT_EQ(finished, 0);
}

TEST_F(ParallelRead, NoRangesIsNoWork) {
  read_ranges_in_parallel({}, {.threads = 4}, {});
}

}  // namespace
}  // namespace kiln::io

// CrcWorker and crc_beside (io/crc_worker.h): the checksum computed beside the io must be the
// plain crc32c of the bytes, for every size and piece size, with concurrent users, and the io
// callback must see every byte exactly once, in order.
#include "io/crc_worker.h"

#include <gtest/gtest.h>

#include <random>
#include <thread>
#include <vector>

#include "io/crc32c.h"

namespace kiln::io {
namespace {

std::vector<char> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<char> v(n);
  for (char& c : v) c = static_cast<char>(gen());
  return v;
}

TEST(CrcWorker, JobsGiveThePlainCrc) {
  CrcWorker worker;
  const auto bytes = random_bytes(3 << 20, 1);
  std::vector<CrcWorker::Ticket> jobs;
  for (size_t n : {size_t{0}, size_t{1}, size_t{4096}, size_t{1} << 20, bytes.size()})
    jobs.push_back(worker.submit(bytes.data(), n));
  size_t i = 0;
  for (size_t n : {size_t{0}, size_t{1}, size_t{4096}, size_t{1} << 20, bytes.size()})
    EXPECT_EQ(worker.wait(jobs[i++]), crc32c::value(bytes.data(), n)) << n;
}

TEST(CrcWorker, CrcBesideMatchesForEverySizeAndPiece) {
  CrcWorker worker;
  const auto bytes = random_bytes((5 << 20) + 7, 2);
  for (size_t n : {size_t{0}, size_t{100}, CrcWorker::kMinParallelBytes - 1,
                   CrcWorker::kMinParallelBytes, size_t{1} << 20, bytes.size()}) {
    for (size_t piece : {size_t{4096}, size_t{1} << 20, size_t{3} << 20}) {
      for (CrcWorker* w : {&worker, static_cast<CrcWorker*>(nullptr)})
      for (IoDirection dir : {IoDirection::kWrite, IoDirection::kRead}) {
        std::vector<char> seen;
        const uint32_t crc = crc_beside(w, dir, bytes.data(), n, piece, [&](size_t off, size_t len) {
          ASSERT_EQ(off, seen.size());  // in order, no gap, no overlap
          ASSERT_LE(len, piece);
          seen.insert(seen.end(), bytes.data() + off, bytes.data() + off + len);
        });
        EXPECT_EQ(seen.size(), n);
        EXPECT_EQ(crc, crc32c::value(bytes.data(), n)) << "n " << n << " piece " << piece;
      }
    }
  }
}

TEST(CrcWorker, ReadsLandBeforeTheirCrcStarts) {
  // crc_beside used for a read: the io fills the piece; the crc must cover the filled bytes.
  CrcWorker worker;
  const auto source = random_bytes(4 << 20, 3);
  std::vector<char> dst(source.size(), 0);
  const uint32_t crc = crc_beside(&worker, IoDirection::kRead, dst.data(), dst.size(), 256 << 10,
                                  [&](size_t off, size_t len) {
                                    std::copy_n(source.data() + off, len, dst.data() + off);
                                  });
  EXPECT_EQ(crc, crc32c::value(source.data(), source.size()));
}

TEST(CrcWorker, AnIoFailureWaitsForThePendingCrcAndPropagates) {
  CrcWorker worker;
  const auto bytes = random_bytes(2 << 20, 4);
  int calls = 0;
  EXPECT_THROW(crc_beside(&worker, IoDirection::kWrite, bytes.data(), bytes.size(), 256 << 10,
                          [&](size_t, size_t) {
                            if (++calls == 3) throw std::runtime_error("disk on fire");
                          }),
               std::runtime_error);
  EXPECT_EQ(calls, 3);
}

TEST(CrcWorker, SharedByThreads) {
  CrcWorker worker;
  const auto bytes = random_bytes(1 << 20, 5);
  const uint32_t expected = crc32c::value(bytes.data(), bytes.size());
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i)
        if (crc_beside(&worker, IoDirection::kWrite, bytes.data(), bytes.size(), 128 << 10, [](size_t, size_t) {}) !=
            expected)
          ++wrong[t];
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace kiln::io

// The device<->file staging pipeline (io/device_staging.h), run on any machine with a CopyEngine
// that copies on a host thread with a delay, so copies really are in flight while the pipeline
// writes, reads and checksums. Checks: bytes and crc32c round trip for sizes around the chunk
// size and 1-3 buffers; the pool bounds the buffers used and gets them all back; no copy is in
// flight when a failing write or read is rethrown. tests/io/saver_streaming_test.cc runs the
// CUDA engine (GPU tests, skipped without a GPU).
#include "io/device_staging.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <random>
#include <thread>

#include "core/errors.h"
#include "io/crc32c.h"
#include "io/fault_file_system.h"
#include "io/mem_file_system.h"

namespace kiln::io {
namespace {

// Copies with memcpy on its own thread, in order, after a short delay, like a DMA engine.
class HostCopyEngine final : public CopyEngine {
 public:
  explicit HostCopyEngine(int slots) : queued_(slots, 0), finished_(slots, 0) {
    thread_ = std::thread([this] { run(); });
  }
  ~HostCopyEngine() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void copy(void* dst, const void* src, size_t n, int slot) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++queued_.at(slot);
    ++in_flight_;
    jobs_.push_back({dst, src, n, slot});
    cv_.notify_all();
  }
  void wait(int slot) override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return finished_.at(slot) == queued_.at(slot); });
  }
  int in_flight() {
    std::lock_guard<std::mutex> lock(mu_);
    return in_flight_;
  }
  int copies() {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (int q : queued_) n += q;
    return n;
  }

 private:
  struct Job {
    void* dst;
    const void* src;
    size_t n;
    int slot;
  };
  void run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      Job j = jobs_.front();
      jobs_.pop_front();
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      std::memcpy(j.dst, j.src, j.n);
      lock.lock();
      ++finished_[j.slot];
      --in_flight_;
      cv_.notify_all();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  std::vector<int> queued_, finished_;
  int in_flight_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

std::vector<char> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<char> v(n);
  for (char& c : v) c = static_cast<char>(gen());
  return v;
}

struct Case {
  size_t bytes;
  int buffers;
};

class StagingRoundTrip : public ::testing::TestWithParam<Case> {};

TEST_P(StagingRoundTrip, BytesAndCrcSurviveTheTripBothWays) {
  constexpr size_t kChunk = 64 << 10;
  const Case c = GetParam();
  const auto device = random_bytes(c.bytes, static_cast<uint32_t>(c.bytes));
  PinnedBufferPool pool(kChunk, c.buffers);
  MemFileSystem fs;
  CrcWorker crc;
  for (CrcWorker* worker : {&crc, static_cast<CrcWorker*>(nullptr)}) {
    {
      HostCopyEngine engine(pool.capacity());
      auto out = fs.new_writable_file("/f");
      out->append("head");  // the tensor starts at an offset, as in a data file
      const uint32_t written = stream_to_file(device.data(), device.size(), engine, pool,
                                              out.get(), worker);
      out->close();
      EXPECT_EQ(written, crc32c::value(device.data(), device.size()));
      EXPECT_EQ(engine.copies(), static_cast<int>((c.bytes + kChunk - 1) / kChunk));
      EXPECT_EQ(engine.in_flight(), 0);
    }
    EXPECT_EQ(pool.available(), c.buffers);
    EXPECT_EQ(read_file(&fs, "/f"), "head" + std::string(device.begin(), device.end()));

    std::vector<char> restored(c.bytes + 1, 'x');  // one guard byte past the end
    {
      HostCopyEngine engine(pool.capacity());
      auto in = fs.new_random_access_file("/f");
      const uint32_t read = stream_from_file(*in, 4, c.bytes, restored.data(), engine, pool, worker);
      EXPECT_EQ(engine.in_flight(), 0);  // every copy has landed when it returns
      EXPECT_EQ(read, crc32c::value(device.data(), device.size()));
    }
    EXPECT_EQ(pool.available(), c.buffers);
    EXPECT_TRUE(std::equal(device.begin(), device.end(), restored.begin()));
    EXPECT_EQ(restored.back(), 'x');
  }
}

INSTANTIATE_TEST_SUITE_P(SizesAndBuffers, StagingRoundTrip,
                         ::testing::Values(Case{0, 2}, Case{1, 2}, Case{(64 << 10) - 1, 2},
                                           Case{64 << 10, 2}, Case{(64 << 10) + 1, 2},
                                           Case{(10 << 16) + 3, 1}, Case{(10 << 16) + 3, 2},
                                           Case{(10 << 16) + 3, 3}, Case{1 << 20, 2}));

TEST(Staging, AFailingWriteIsRethrownWithNoCopyInFlight) {
  const auto device = random_bytes(1 << 20, 7);
  for (int k = 1; k <= 4; ++k) {
    PinnedBufferPool pool(64 << 10, 3);
    MemFileSystem mem;
    FaultInjectingFileSystem fs(&mem);
    fs.fail_on(FaultInjectingFileSystem::Op::kAppend, k, FaultInjectingFileSystem::Fault::kNoSpace);
    HostCopyEngine engine(pool.capacity());
    auto out = fs.new_writable_file("/f");
    CrcWorker crc;
    EXPECT_THROW(stream_to_file(device.data(), device.size(), engine, pool, out.get(), &crc),
                 ResourceExhaustedError);
    EXPECT_EQ(engine.in_flight(), 0) << "a copy could still write into a returned buffer";
    EXPECT_EQ(pool.available(), 3);
  }
}

TEST(Staging, AShortFileIsDataLossWithNoCopyInFlight) {
  const auto bytes = random_bytes(300 << 10, 8);
  MemFileSystem fs;
  {
    auto out = fs.new_writable_file("/f");
    out->append(std::string_view(bytes.data(), bytes.size()));
    out->close();
  }
  PinnedBufferPool pool(64 << 10, 2);
  HostCopyEngine engine(pool.capacity());
  std::vector<char> dst(bytes.size() + 100);
  auto in = fs.new_random_access_file("/f");
  CrcWorker crc;
  EXPECT_THROW(stream_from_file(*in, 0, dst.size(), dst.data(), engine, pool, &crc), DataLossError);
  EXPECT_EQ(engine.in_flight(), 0);
  EXPECT_EQ(pool.available(), 2);
}

TEST(Staging, UsesAtMostThePoolsBuffers) {
  // Three threads stream through one pool of two buffers: each takes what it needs at once, so
  // none waits holding a buffer another needs, and all finish.
  PinnedBufferPool pool(16 << 10, 2);
  const auto device = random_bytes(200 << 10, 9);
  MemFileSystem fs;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 3; ++t)
    threads.emplace_back([&, t] {
      HostCopyEngine engine(2);
      auto out = fs.new_writable_file("/f" + std::to_string(t));
      if (stream_to_file(device.data(), device.size(), engine, pool, out.get(), nullptr) ==
          crc32c::value(device.data(), device.size()))
        ++ok;
      out->close();
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 3);
  EXPECT_EQ(pool.available(), 2);
}

}  // namespace
}  // namespace kiln::io

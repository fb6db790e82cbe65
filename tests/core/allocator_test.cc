// The host allocator: 64-byte alignment at every size, freed blocks reused (small ones by malloc,
// large ones from its cache), the cache given back on release_cached().
#include "core/allocator.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

namespace kiln {
namespace {

int64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * ::sysconf(_SC_PAGESIZE);
}

TEST(HostAllocator, EverySizeIs64ByteAligned) {
  Allocator* a = host_allocator();
  for (size_t bytes : {size_t{1}, size_t{63}, size_t{64}, size_t{1000}, size_t{65536},
                       size_t{(1 << 20) - 1}, size_t{1 << 20}, size_t{3 << 20}, size_t{(5 << 20) + 7}}) {
    void* p = a->allocate(bytes);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u) << bytes;
    std::memset(p, 0xab, bytes);  // the whole block is usable (ASan checks the bounds)
    a->deallocate(p, bytes);
  }
  EXPECT_EQ(a->allocate(0), nullptr);
}

// A restore into a running session replaces each variable's block by a new one of the same size.
// That must reuse the freed memory: with aligned_alloc, glibc could not fit a request into the
// block just freed and the heap grew by the model's size on every restore.
TEST(HostAllocator, ReplacingBlocksOfOneSizeDoesNotGrowTheProcess) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "measures glibc malloc's reuse; ASan's allocator (quarantine) replaces it";
#endif
  Allocator* a = host_allocator();
  const size_t bytes = 64 << 10;
  std::vector<void*> blocks(2048);  // 128 MiB
  for (auto& b : blocks) {
    b = a->allocate(bytes);
    std::memset(b, 1, bytes);
  }
  // Each replacement also makes a small, longer-lived allocation (as a restore makes a tensor
  // handle per variable): it takes the slack glibc's aligned_alloc leaves beside a block, which
  // is what kept freed blocks from being reused.
  std::vector<std::unique_ptr<char[]>> small;
  const int64_t before = resident_bytes();
  for (int round = 0; round < 4; ++round) {
    for (auto& b : blocks) {
      void* fresh = a->allocate(bytes);
      small.emplace_back(new char[40]);
      std::memset(fresh, 2, bytes);
      a->deallocate(b, bytes);
      b = fresh;
    }
  }
  const int64_t growth = resident_bytes() - before;
  EXPECT_LT(growth, int64_t{32} << 20) << "4 rounds of replacing 128 MiB grew the process by "
                                       << (growth >> 20) << " MiB";
  for (void* b : blocks) a->deallocate(b, bytes);
}

TEST(HostAllocator, ReleaseCachedGivesTheCacheBack) {
  Allocator* a = host_allocator();
  a->release_cached();  // blocks other tests left in the cache could be handed out below
  const size_t bytes = 8 << 20;
  void* p = a->allocate(bytes);
  a->deallocate(p, bytes);
  EXPECT_GE(a->stats().bytes_cached, static_cast<int64_t>(bytes));
  void* again = a->allocate(bytes);  // from the cache
  EXPECT_EQ(again, p);
  a->deallocate(again, bytes);
  a->release_cached();
  EXPECT_EQ(a->stats().bytes_cached, 0);
}

}  // namespace
}  // namespace kiln

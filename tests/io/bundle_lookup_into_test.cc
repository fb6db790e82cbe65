// BundleReader::lookup_into: reading an entry straight into a caller's tensor on the host or on
// a GPU, with every checksum still checked; lookup_each (many keys on several threads); and the
// preloaded index answering lookups.
#include <gtest/gtest.h>

#include <cstring>
#include <mutex>
#include <random>
#include <set>

#include "core/errors.h"
#include "core/gpu.h"
#include "core/pinned_pool.h"
#include "io/bundle_format.h"
#include "io/bundle_reader.h"
#include "io/bundle_writer.h"
#include "io/mem_file_system.h"
#include "io/tensor_slice.h"
#include "io_test_util.h"

namespace kiln::io {
namespace {

Tensor random_floats(int64_t n, uint64_t seed) {
  Tensor t(DType::kFloat, Shape{n});
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::uniform_real_distribution<float> dist(-1, 1);
  for (int64_t i = 0; i < n; ++i) t.data<float>()[i] = dist(rng);
  return t;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.bytes() == b.bytes() &&
         (a.bytes() == 0 || std::memcmp(a.raw_data(), b.raw_data(), a.bytes()) == 0);
}

class LookupInto : public ::testing::Test {
 protected:
  void SetUp() override {
    BundleWriterOptions options;
    options.fs = &fs_;
    BundleWriter writer("b", options);
    writer.add("small", small_);
    writer.add("big", big_);  // > 2 staging chunks and > several host chunks, odd length
    writer.add("strings", Tensor::from_vector<std::string>({"a", "", "ccc"}, Shape{3}));
    writer.add("empty", Tensor(DType::kInt32, Shape{0, 4}));
    writer.add_slice("part", Shape{4, 2}, parse_slice_spec("0,2:-"), part_top_);
    writer.add_slice("part", Shape{4, 2}, parse_slice_spec("2,2:-"), part_bottom_);
    writer.finish();
  }

  // Runs `check` on a reader of the bundle with one byte of "big" flipped: its first byte, one
  // 9 MiB in (a later piece/chunk), its last byte; the file is restored afterwards.
  template <typename Check>
  void with_big_damaged(Check&& check) {
    const std::string data = data_filename("b", 0, 1);
    const std::string bytes = fs_.get_contents(data);
    const BundleEntry e = BundleReader("b", &fs_).entry("big");
    const size_t first = static_cast<size_t>(e.offset), last = first + e.size - 1;
    for (size_t at : {first, first + (9 << 20) + 5, last}) {
      SCOPED_TRACE("flipped byte at " + std::to_string(at));
      std::string damaged = bytes;
      damaged[at] ^= 0x10;
      fs_.set_contents(data, damaged);
      BundleReader reader("b", &fs_);
      check(reader);
    }
    fs_.set_contents(data, bytes);
  }

  MemFileSystem fs_;
  Tensor small_ = random_floats(37, 1);
  Tensor big_ = random_floats((19 << 20) / 4 + 3, 2);
  Tensor part_top_ = Tensor::from_vector<float>({1, 2, 3, 4}, Shape{2, 2});
  Tensor part_bottom_ = Tensor::from_vector<float>({5, 6, 7, 8}, Shape{2, 2});
};

TEST_F(LookupInto, HostDestination) {
  BundleReader reader("b", &fs_);
  for (const char* key : {"small", "big"}) {
    const Tensor expected = reader.lookup(key);
    Tensor dst(DType::kFloat, expected.shape());
    reader.lookup_into(key, dst);
    EXPECT_TRUE(same_bytes(dst, expected)) << key;
  }
  EXPECT_TRUE(same_bytes(reader.lookup("big"), big_));
  Tensor strings(DType::kString, Shape{3});
  reader.lookup_into("strings", strings);
  EXPECT_EQ(strings.to_vector<std::string>(), (std::vector<std::string>{"a", "", "ccc"}));
  Tensor empty(DType::kInt32, Shape{0, 4});
  reader.lookup_into("empty", empty);
  Tensor part(DType::kFloat, Shape{4, 2});
  reader.lookup_into("part", part);
  EXPECT_EQ(part.to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST_F(LookupInto, MismatchedDTypeOrShapeNamesKeyAndShapes) {
  BundleReader reader("b", &fs_);
  Tensor wrong_shape(DType::kFloat, Shape{36});
  KILN_EXPECT_ERROR(reader.lookup_into("small", wrong_shape), InvalidArgumentError, "small");
  KILN_EXPECT_ERROR(reader.lookup_into("small", wrong_shape), InvalidArgumentError, "[37]");
  KILN_EXPECT_ERROR(reader.lookup_into("small", wrong_shape), InvalidArgumentError, "[36]");
  Tensor wrong_dtype(DType::kDouble, Shape{37});
  KILN_EXPECT_ERROR(reader.lookup_into("small", wrong_dtype), InvalidArgumentError, "DT_DOUBLE");
  Tensor any(DType::kFloat, Shape{1});
  KILN_EXPECT_ERROR(reader.lookup_into("missing", any), NotFoundError, "missing");
}

TEST_F(LookupInto, CorruptionIsDetectedInEveryChunk) {
  with_big_damaged([&](BundleReader& reader) {
    Tensor dst(DType::kFloat, big_.shape());
    KILN_EXPECT_ERROR(reader.lookup_into("big", dst), DataLossError, "Checksum does not match");
    KILN_EXPECT_ERROR(reader.lookup("big"), DataLossError, "Checksum does not match");
  });
}

// lookup_each: every key, read on several threads (the 19 MiB tensor split over them), equals
// lookup(); strings, partitioned and empty tensors included; done() once per key.
TEST_F(LookupInto, LookupEachDeliversEveryKeyOnce) {
  BundleReader reader("b", &fs_);
  const std::vector<std::string> keys{"big", "strings", "small", "empty", "part"};
  for (int threads : {1, 2, 5}) {
    std::mutex mu;
    std::vector<Tensor> got(keys.size());
    std::vector<int> calls(keys.size(), 0);
    reader.lookup_each(keys, threads, [&](size_t i, Tensor&& t) {
      std::lock_guard<std::mutex> lock(mu);
      ++calls[i];
      got[i] = std::move(t);
    });
    for (size_t i = 0; i < keys.size(); ++i) {
      SCOPED_TRACE(keys[i] + " threads " + std::to_string(threads));
      EXPECT_EQ(calls[i], 1);
      const Tensor expected = reader.lookup(keys[i]);
      ASSERT_TRUE(got[i].valid());
      EXPECT_EQ(got[i].shape(), expected.shape());
      if (expected.dtype() == DType::kString)
        EXPECT_EQ(got[i].to_vector<std::string>(), expected.to_vector<std::string>());
      else
        EXPECT_TRUE(same_bytes(got[i], expected));
    }
  }
}

TEST_F(LookupInto, LookupEachChecksEveryKeyBeforeReading) {
  BundleReader reader("b", &fs_);
  int calls = 0;
  KILN_EXPECT_ERROR(reader.lookup_each({"small", "nope", "big"}, 2,
                                       [&](size_t, Tensor&&) { ++calls; }),
                    NotFoundError, "Key nope not found in checkpoint");
  EXPECT_EQ(calls, 0);
}

// A flipped byte anywhere in the big tensor (whichever thread reads that piece) is a
// DataLossError naming it; the other keys may have been delivered, "big" never is.
TEST_F(LookupInto, LookupEachDetectsCorruptionInAnyPiece) {
  with_big_damaged([&](BundleReader& reader) {
    std::mutex mu;
    std::set<size_t> delivered;
    KILN_EXPECT_ERROR(reader.lookup_each({"small", "big", "empty"}, 3,
                                         [&](size_t i, Tensor&&) {
                                           std::lock_guard<std::mutex> lock(mu);
                                           delivered.insert(i);
                                         }),
                      DataLossError, "tensor big in");
    EXPECT_EQ(delivered.count(1), 0u);
  });
}

TEST_F(LookupInto, GpuDestination) {
  if (gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  BundleReader reader("b", &fs_);
  Allocator* device = gpu::device_allocator(0, 0);
  for (const char* key : {"small", "big", "part"}) {
    const Tensor expected = reader.lookup(key);
    Tensor dst(DType::kFloat, expected.shape(), device, DeviceSpec::gpu(0));
    reader.lookup_into(key, dst);
    EXPECT_TRUE(same_bytes(dst.to_host(), expected)) << key;
  }
  // A caller's staging pool with one small buffer: many pieces.
  PinnedBufferPool pool(1 << 20, 1);
  Tensor dst(DType::kFloat, big_.shape(), device, DeviceSpec::gpu(0));
  reader.lookup_into("big", dst, &pool);
  EXPECT_TRUE(same_bytes(dst.to_host(), big_));
  EXPECT_EQ(pool.available(), 1);

  // Damage in the last piece: detected after all pieces were copied.
  const std::string data = data_filename("b", 0, 1);
  std::string bytes = fs_.get_contents(data);
  const BundleEntry e = reader.entry("big");
  std::string damaged = bytes;
  damaged[e.offset + e.size - 2] ^= 1;
  fs_.set_contents(data, damaged);
  BundleReader damaged_reader("b", &fs_);
  KILN_EXPECT_ERROR(damaged_reader.lookup_into("big", dst), DataLossError,
                    "Checksum does not match");
  KILN_EXPECT_ERROR(damaged_reader.lookup_into("big", dst, &pool), DataLossError,
                    "Checksum does not match");
  EXPECT_EQ(pool.available(), 1);
}

// The index is read once: 20,000 lookups of small tensors need no table reads.
TEST(BundleReaderIndex, ManyEntriesAllFoundAndAbsentKeysNot) {
  MemFileSystem fs;
  BundleWriterOptions options;
  options.fs = &fs;
  BundleWriter writer("many", options);
  for (int i = 0; i < 20000; ++i) writer.add("t" + std::to_string(i), Tensor::scalar<int32_t>(i));
  writer.finish();
  BundleReader reader("many", &fs);
  for (int i = 0; i < 20000; i += 7) {
    ASSERT_TRUE(reader.contains("t" + std::to_string(i)));
    ASSERT_EQ(*reader.lookup("t" + std::to_string(i)).data<int32_t>(), i);
  }
  EXPECT_FALSE(reader.contains("t20000"));
  EXPECT_FALSE(reader.contains(""));
  KILN_EXPECT_ERROR(reader.lookup("t-1"), NotFoundError, "Key t-1 not found in checkpoint");
}

}  // namespace
}  // namespace kiln::io

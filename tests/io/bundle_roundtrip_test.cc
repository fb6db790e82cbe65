// BundleWriter -> BundleReader round trips: every dtype and shape kind, awkward names, many
// tensors, alignment; in memory except where the POSIX path itself is under test.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "core/errors.h"
#include "io/bundle_reader.h"
#include "io/bundle_writer.h"
#include "io/mem_file_system.h"
#include "io_test_util.h"

namespace kiln::io {
namespace {

// Same dtype, shape and bytes (or strings).
void expect_same(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.dtype(), b.dtype());
  ASSERT_EQ(a.shape(), b.shape());
  if (a.dtype() == DType::kString) {
    EXPECT_EQ(a.to_vector<std::string>(), b.to_vector<std::string>());
  } else if (a.bytes() > 0) {
    EXPECT_EQ(std::memcmp(a.raw_data(), b.raw_data(), a.bytes()), 0);
  }
}

// A tensor of `dtype` and `shape` with varied (deterministic) contents.
Tensor make_tensor(DType dtype, const Shape& shape, uint64_t seed = 1) {
  Tensor t(dtype, shape);
  std::mt19937_64 rng(seed);
  if (dtype == DType::kString) {
    std::string* s = t.data<std::string>();
    for (int64_t i = 0; i < t.num_elements(); ++i) s[i] = std::string(rng() % 7, 'a' + i % 26);
  } else if (dtype == DType::kBool) {
    bool* b = t.data<bool>();
    for (int64_t i = 0; i < t.num_elements(); ++i) b[i] = rng() & 1;
  } else {
    auto* p = static_cast<unsigned char*>(t.raw_data());
    for (size_t i = 0; i < t.bytes(); ++i) p[i] = static_cast<unsigned char>(rng());
  }
  return t;
}

const DType kAllDTypes[] = {DType::kFloat, DType::kDouble, DType::kInt32,    DType::kUInt8,
                            DType::kInt16, DType::kInt8,   DType::kString,   DType::kInt64,
                            DType::kBool,  DType::kBFloat16, DType::kHalf};

class BundleRoundTrip : public ::testing::Test {
 protected:
  MemFileSystem fs_;
};

TEST_F(BundleRoundTrip, EveryDTypeScalarVectorMatrixAndZeroSize) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (DType dt : kAllDTypes) {
    const std::string name = dtype_name(dt);
    tensors.push_back({name + "/scalar", make_tensor(dt, Shape{}, 1)});
    tensors.push_back({name + "/vector", make_tensor(dt, Shape{17}, 2)});
    tensors.push_back({name + "/matrix", make_tensor(dt, Shape{3, 5}, 3)});
    tensors.push_back({name + "/empty", make_tensor(dt, Shape{0}, 4)});
    tensors.push_back({name + "/empty2", make_tensor(dt, Shape{4, 0, 2}, 5)});
  }
  BundleWriter writer("ckpt/model", {.fs = &fs_});
  for (const auto& [name, t] : tensors) writer.add(name, t);
  writer.finish();

  BundleReader reader("ckpt/model", &fs_);
  EXPECT_EQ(reader.header().num_shards, 1);
  EXPECT_EQ(reader.header().version.producer, 1);
  for (const auto& [name, t] : tensors) {
    SCOPED_TRACE(name);
    expect_same(reader.lookup(name), t);
  }
  EXPECT_EQ(reader.keys().size(), tensors.size());
}

TEST_F(BundleRoundTrip, DataIsInAddOrderAndIndexInKeyOrder) {
  BundleWriter writer("m", {.fs = &fs_});
  writer.add("zeta", Tensor::of<int32_t>({1}, {1}));
  writer.add("alpha", Tensor::of<int32_t>({2, 3}, {2}));
  writer.add("mid", Tensor::scalar<int64_t>(4));
  writer.finish();
  BundleReader reader("m", &fs_);
  EXPECT_EQ(reader.keys(), (std::vector<std::string>{"alpha", "mid", "zeta"}));
  EXPECT_EQ(reader.entry("zeta").offset, 0);
  EXPECT_EQ(reader.entry("alpha").offset, 4);
  EXPECT_EQ(reader.entry("mid").offset, 12);
  EXPECT_EQ(fs_.file_size("m.data-00000-of-00001"), 20u);
}

TEST_F(BundleRoundTrip, LargeStringsAndEmptyStrings) {
  std::string big(200 * 1024, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  Tensor strings = Tensor::of_strings({"", big, "x", std::string(128, 'y')}, Shape{2, 2});
  BundleWriter writer("s", {.fs = &fs_});
  writer.add("big", strings);
  writer.add("empty_list", Tensor::of_strings({}, Shape{0}));
  writer.add("one_empty", Tensor::of_strings({""}, Shape{}));
  writer.finish();
  BundleReader reader("s", &fs_);
  expect_same(reader.lookup("big"), strings);
  expect_same(reader.lookup("empty_list"), Tensor::of_strings({}, Shape{0}));
  expect_same(reader.lookup("one_empty"), Tensor::of_strings({""}, Shape{}));
  EXPECT_EQ(reader.entry("empty_list").size, 4);  // just the length checksum, as TF writes it
}

TEST_F(BundleRoundTrip, AwkwardNames) {
  const std::vector<std::string> names = {
      "a", "a/b", "a/b/c", "a:0", "with space", "ünïcödé/変数", "ab", "a\x01", "\xff\xfe",
      "layer_1/kernel/Adam", "layer_1/kernel/Adam_1", "layer_1/kernel"};
  BundleWriter writer("n", {.fs = &fs_});
  for (size_t i = 0; i < names.size(); ++i)
    writer.add(names[i], Tensor::scalar<int32_t>(static_cast<int32_t>(i)));
  writer.finish();
  BundleReader reader("n", &fs_);
  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(reader.keys(), sorted);
  for (size_t i = 0; i < names.size(); ++i) {
    SCOPED_TRACE(names[i]);
    EXPECT_TRUE(reader.contains(names[i]));
    EXPECT_EQ(reader.lookup(names[i]).item<int32_t>(), static_cast<int32_t>(i));
  }
  EXPECT_FALSE(reader.contains("a/"));
  EXPECT_FALSE(reader.contains(""));  // the header is not a tensor
  EXPECT_THROW(reader.lookup("layer_1"), NotFoundError);
}

TEST_F(BundleRoundTrip, TwentyThousandTensorsSpanManyIndexBlocks) {
  constexpr int kCount = 20000;
  BundleWriter writer("many", {.fs = &fs_});
  for (int i = 0; i < kCount; ++i) {
    char name[64];
    std::snprintf(name, sizeof(name), "scope_%03d/a_rather_long_variable_name_%05d", i % 97, i);
    writer.add(name, Tensor::of<float>({float(i), float(-i)}, {2}));
  }
  writer.finish();
  EXPECT_GT(fs_.file_size("many.index"), 2 * 256 * 1024u);  // at least three 256 KiB data blocks
  BundleReader reader("many", &fs_);
  int seen = 0;
  std::string last;
  reader.for_each([&](const std::string& key, const BundleEntry& e) {
    EXPECT_LT(last, key);
    last = key;
    EXPECT_EQ(e.size, 8);
    ++seen;
  });
  EXPECT_EQ(seen, kCount);
  for (int i : {0, 1, 4999, 12345, kCount - 1}) {
    char name[64];
    std::snprintf(name, sizeof(name), "scope_%03d/a_rather_long_variable_name_%05d", i % 97, i);
    EXPECT_EQ(reader.lookup(name).to_vector<float>(), (std::vector<float>{float(i), float(-i)}));
  }
}

TEST_F(BundleRoundTrip, DataAlignment) {
  BundleWriter writer("al", {.fs = &fs_, .data_alignment = 64});
  writer.add("a", Tensor::of<int8_t>({1, 2, 3}, {3}));
  writer.add("b", Tensor::of<double>({1.5}, {1}));
  writer.add("c", Tensor::of_strings({"xyz"}, {1}));
  writer.finish();
  BundleReader reader("al", &fs_);
  for (const std::string& k : reader.keys()) EXPECT_EQ(reader.entry(k).offset % 64, 0) << k;
  EXPECT_EQ(reader.entry("a").size, 3);  // padding is not counted
  EXPECT_EQ(fs_.file_size("al.data-00000-of-00001") % 64, 0u);
  EXPECT_EQ(reader.lookup("b").item<double>(), 1.5);
  EXPECT_EQ(reader.lookup("c").to_vector<std::string>(), (std::vector<std::string>{"xyz"}));
}

TEST_F(BundleRoundTrip, EmptyBundle) {
  BundleWriter writer("empty", {.fs = &fs_});
  writer.finish();
  BundleReader reader("empty", &fs_);
  EXPECT_TRUE(reader.keys().empty());
}

TEST_F(BundleRoundTrip, WriterErrorsAreTypedAndSticky) {
  BundleWriter writer("d", {.fs = &fs_});
  writer.add("x", Tensor::scalar<float>(1));
  KILN_EXPECT_ERROR(writer.add("x", Tensor::scalar<float>(2)), InvalidArgumentError,
                    "Adding duplicate key: x");
  KILN_EXPECT_ERROR(writer.add("y", Tensor::scalar<float>(2)), InvalidArgumentError,
                    "Adding duplicate key: x");
  KILN_EXPECT_ERROR(writer.finish(), InvalidArgumentError, "Adding duplicate key: x");
  EXPECT_TRUE(fs_.list_dir(".").empty());  // temp data file removed

  BundleWriter done("e", {.fs = &fs_});
  done.finish();
  KILN_EXPECT_ERROR(done.finish(), FailedPreconditionError, "BundleWriter is closed");
  KILN_EXPECT_ERROR(done.add("z", Tensor::scalar<float>(1)), FailedPreconditionError,
                    "BundleWriter is closed");
}

TEST_F(BundleRoundTrip, AbandonedWriterLeavesNothing) {
  {
    BundleWriter writer("gone/model", {.fs = &fs_});
    writer.add("x", Tensor::scalar<float>(1));
  }
  EXPECT_TRUE(fs_.list_dir("gone").empty());
}

TEST(BundleRoundTripPosix, WritesFinalNamesOnly) {
  testing::ScratchDir dir;
  const std::string prefix = dir.file("sub/dir/model.ckpt-1000");
  Tensor t = make_tensor(DType::kFloat, Shape{256, 1024});  // 1 MiB: bypasses write buffering
  BundleWriter writer(prefix);
  writer.add("w", t);
  writer.add("s", Tensor::of_strings({"a", "bc"}, {2}));
  writer.finish();
  EXPECT_EQ(posix_file_system()->list_dir(dir.file("sub/dir")),
            (std::vector<std::string>{"model.ckpt-1000.data-00000-of-00001",
                                      "model.ckpt-1000.index"}));
  BundleReader reader(prefix);
  expect_same(reader.lookup("w"), t);
  EXPECT_EQ(reader.lookup("s").to_vector<std::string>(), (std::vector<std::string>{"a", "bc"}));
}

}  // namespace
}  // namespace kiln::io

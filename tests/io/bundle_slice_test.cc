// Partitioned tensors in V2 bundles: slices written with add_slice() read back whole and by any
// sub-slice; errors for slices outside the shape, overlapping or not covering a request.
#include <gtest/gtest.h>

#include <numeric>

#include "core/errors.h"
#include "io/bundle_reader.h"
#include "io/bundle_writer.h"
#include "io/mem_file_system.h"
#include "io/ordered_code.h"
#include "io/tensor_slice.h"
#include "io_test_util.h"

namespace kiln::io {
namespace {

// A [rows, cols] float tensor with value 10*row + col at (row, col) of the FULL tensor.
Tensor grid(int64_t row0, int64_t rows, int64_t col0, int64_t cols) {
  std::vector<float> v;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) v.push_back(static_cast<float>(10 * (row0 + r) + col0 + c));
  return Tensor::from_vector(v, Shape{rows, cols});
}

// Rows 0-1 and 2-4 of a [5, 3] tensor "w", plus a plain tensor.
void write_partitioned(FileSystem* fs, int num_shards = 1) {
  BundleWriter writer("ckpt/model", {.fs = fs, .num_shards = num_shards});
  writer.add_slice("w", Shape{5, 3}, parse_slice_spec("2,3:-"), grid(2, 3, 0, 3));
  writer.add_slice("w", Shape{5, 3}, parse_slice_spec("0,2:-"), grid(0, 2, 0, 3));
  writer.add("b", Tensor::of<float>({1, 2, 3}, {3}));
  writer.finish();
}

TEST(BundleSlices, ReadWholeAndBySubSlice) {
  MemFileSystem fs;
  write_partitioned(&fs);
  BundleReader reader("ckpt/model", &fs);
  EXPECT_EQ(reader.keys().size(), 4u);  // b, w, and the two slice keys
  const BundleEntry full = reader.entry("w");
  EXPECT_EQ(full.shape, (std::vector<int64_t>{5, 3}));
  EXPECT_EQ(full.slices.size(), 2u);
  EXPECT_TRUE(reader.contains(encode_slice_key("w", parse_slice_spec("0,2:-"))));

  EXPECT_EQ(reader.lookup("w").to_vector<float>(), grid(0, 5, 0, 3).to_vector<float>());
  for (const char* spec : {"1,3:-", "0,5:1,2", "4,1:2,1", "1,1:-", "-:-", "0,0:-"}) {
    SCOPED_TRACE(spec);
    TensorSlice s = resolve_slice(parse_slice_spec(spec), {5, 3});
    Tensor t = reader.lookup_slice("w", parse_slice_spec(spec));
    EXPECT_EQ(t.shape().dims(), (std::vector<int64_t>{s[0].length, s[1].length}));
    EXPECT_EQ(t.to_vector<float>(),
              grid(s[0].start, s[0].length, s[1].start, s[1].length).to_vector<float>());
  }
  // A tensor stored whole can be read by slices too.
  EXPECT_EQ(reader.lookup_slice("b", parse_slice_spec("1,2")).to_vector<float>(),
            (std::vector<float>{2, 3}));
  KILN_EXPECT_ERROR(reader.lookup_slice("w", parse_slice_spec("3,3:-")), InvalidArgumentError,
                    "outside");
  KILN_EXPECT_ERROR(reader.lookup_slice("w", parse_slice_spec("-")), InvalidArgumentError,
                    "rank");
}

TEST(BundleSlices, NotCoveredIsNotFound) {
  MemFileSystem fs;
  {
    BundleWriter writer("ckpt/model", {.fs = &fs});
    writer.add_slice("w", Shape{5, 3}, parse_slice_spec("0,2:-"), grid(0, 2, 0, 3));
    writer.finish();
  }
  BundleReader reader("ckpt/model", &fs);
  EXPECT_EQ(reader.lookup_slice("w", parse_slice_spec("1,1:0,2")).to_vector<float>(),
            (std::vector<float>{10, 11}));
  KILN_EXPECT_ERROR(reader.lookup("w"), NotFoundError,
                    "Does not have sufficient slices for partitioned tensor w");
  KILN_EXPECT_ERROR(reader.lookup_slice("w", parse_slice_spec("1,2:-")), NotFoundError,
                    "slice_spec: 1,2:-");
}

TEST(BundleSlices, StringsAndColumnsAcrossShards) {
  MemFileSystem fs;
  {
    BundleWriter writer("ckpt/model", {.fs = &fs, .num_shards = 2});
    writer.add_slice("s", Shape{2, 3}, parse_slice_spec("-:0,1"),
                     Tensor::of_strings({"a", "d"}, {2, 1}), 1);
    writer.add_slice("s", Shape{2, 3}, parse_slice_spec("-:1,2"),
                     Tensor::of_strings({"b", std::string(70000, 'c'), "e", ""}, {2, 2}), 0);
    writer.finish();
  }
  BundleReader reader("ckpt/model", &fs);
  EXPECT_EQ(reader.lookup("s").to_vector<std::string>(),
            (std::vector<std::string>{"a", "b", std::string(70000, 'c'), "d", "e", ""}));
  EXPECT_EQ(reader.lookup_slice("s", parse_slice_spec("1,1:0,2")).to_vector<std::string>(),
            (std::vector<std::string>{"d", "e"}));
}

TEST(BundleSlices, WriterErrors) {
  MemFileSystem fs;
  auto fresh = [&] { return std::make_unique<BundleWriter>("ckpt/m", BundleWriterOptions{.fs = &fs}); };
  KILN_EXPECT_ERROR(fresh()->add_slice("w", Shape{5, 3}, parse_slice_spec("4,2:-"), grid(0, 2, 0, 3)),
                    InvalidArgumentError, "outside");
  KILN_EXPECT_ERROR(fresh()->add_slice("w", Shape{5, 3}, parse_slice_spec("0,2:-"), grid(0, 3, 0, 3)),
                    InvalidArgumentError, "shape");
  {
    auto w = fresh();
    w->add_slice("w", Shape{5, 3}, parse_slice_spec("0,2:-"), grid(0, 2, 0, 3));
    KILN_EXPECT_ERROR(w->add_slice("w", Shape{5, 3}, parse_slice_spec("1,2:-"), grid(1, 2, 0, 3)),
                      InvalidArgumentError, "Adding duplicate key: w");
  }
  {
    auto w = fresh();
    w->add("w", grid(0, 5, 0, 3));
    KILN_EXPECT_ERROR(w->add_slice("w", Shape{5, 3}, parse_slice_spec("0,2:-"), grid(0, 2, 0, 3)),
                      InvalidArgumentError, "Adding duplicate key: w");
  }
  {
    auto w = fresh();
    w->add_slice("w", Shape{5, 3}, parse_slice_spec("0,2:-"), grid(0, 2, 0, 3));
    KILN_EXPECT_ERROR(w->add("w", grid(0, 5, 0, 3)), InvalidArgumentError, "Adding duplicate key: w");
  }
}

TEST(BundleSlices, FullSliceIsAPlainEntry) {
  MemFileSystem fs;
  {
    BundleWriter writer("ckpt/model", {.fs = &fs});
    writer.add_slice("w", Shape{5, 3}, parse_slice_spec("0,5:0,3"), grid(0, 5, 0, 3));
    writer.finish();
  }
  BundleReader reader("ckpt/model", &fs);
  EXPECT_EQ(reader.keys(), std::vector<std::string>{"w"});
  EXPECT_TRUE(reader.entry("w").slices.empty());
}

}  // namespace
}  // namespace kiln::io

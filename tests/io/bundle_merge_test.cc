// Several data files in one bundle, and merge_bundles (TF's MergeBundles): data files renamed,
// never copied; TF's messages for duplicates.
#include <gtest/gtest.h>

#include "core/errors.h"
#include "io/bundle_reader.h"
#include "io/bundle_writer.h"
#include "io/checkpoint_reader.h"
#include "io/mem_file_system.h"
#include "io/merge_bundles.h"
#include "io/tensor_slice.h"
#include "io/verify.h"
#include "io_test_util.h"

namespace kiln::io {
namespace {

TEST(BundleShards, ThreeDataFiles) {
  MemFileSystem fs;
  {
    BundleWriter w("ckpt/model", {.fs = &fs, .num_shards = 3});
    w.add("big", Tensor::from_vector(std::vector<float>(1000, 1.5f)));  // shard 0 (all empty)
    w.add("s", Tensor::of_strings({"x", "yz"}, {2}));                   // shard 1
    w.add("i", Tensor::scalar<int32_t>(4));                             // shard 2
    w.add("j", Tensor::scalar<int64_t>(5), 0);                          // explicit
    w.finish();
  }
  EXPECT_EQ(fs.list_dir("ckpt"),
            (std::vector<std::string>{"model.data-00000-of-00003", "model.data-00001-of-00003",
                                      "model.data-00002-of-00003", "model.index"}));
  BundleReader reader("ckpt/model", &fs);
  EXPECT_EQ(reader.header().num_shards, 3);
  EXPECT_EQ(reader.entry("big").shard_id, 0);
  EXPECT_EQ(reader.entry("s").shard_id, 1);
  EXPECT_EQ(reader.entry("i").shard_id, 2);
  EXPECT_EQ(reader.entry("j").shard_id, 0);
  EXPECT_EQ(reader.entry("j").offset, 4000);
  EXPECT_EQ(reader.lookup("big").to_vector<float>(), std::vector<float>(1000, 1.5f));
  EXPECT_EQ(reader.lookup("s").to_vector<std::string>(), (std::vector<std::string>{"x", "yz"}));
  EXPECT_EQ(reader.lookup("j").item<int64_t>(), 5);
  EXPECT_EQ(verify_checkpoint("ckpt/model", &fs), "");
  KILN_EXPECT_ERROR(BundleWriter("ckpt/x", {.fs = &fs, .num_shards = 0}), InvalidArgumentError,
                    "num_shards");
  BundleWriter w("ckpt/y", {.fs = &fs, .num_shards = 2});
  KILN_EXPECT_ERROR(w.add("a", Tensor::scalar<int32_t>(1), 2), InvalidArgumentError,
                    "out of range");
}

// Two per-device parts as a sharded Saver writes them, one holding a 2-shard bundle.
void write_parts(MemFileSystem* fs) {
  {
    BundleWriter w("ckpt/model_temp/part-00000-of-00002", {.fs = fs});
    w.add("a", Tensor::scalar<float>(1));
    w.add_slice("p", Shape{4}, parse_slice_spec("0,2"), Tensor::of<float>({0, 1}, {2}));
    w.finish();
  }
  {
    BundleWriter w("ckpt/model_temp/part-00001-of-00002", {.fs = fs, .num_shards = 2});
    w.add("b", Tensor::of<float>({2, 3}, {2}), 1);
    w.add("c", Tensor::of_strings({"c"}, {1}), 0);
    w.add_slice("p", Shape{4}, parse_slice_spec("2,2"), Tensor::of<float>({2, 3}, {2}), 1);
    w.finish();
  }
}

TEST(MergeBundles, RenamesDataFilesAndMergesSlices) {
  MemFileSystem fs;
  write_parts(&fs);
  const std::string part1_data = "ckpt/model_temp/part-00001-of-00002.data-00001-of-00002";
  const uint64_t part1_size = fs.file_size(part1_data);
  merge_bundles(&fs, {"ckpt/model_temp/part-00000-of-00002", "ckpt/model_temp/part-00001-of-00002"},
                "ckpt/model");
  EXPECT_TRUE(fs.list_dir("ckpt/model_temp").empty()) << "indexes deleted, data files moved";
  EXPECT_EQ(fs.list_dir("ckpt"),
            (std::vector<std::string>{"model.data-00000-of-00003", "model.data-00001-of-00003",
                                      "model.data-00002-of-00003", "model.index", "model_temp"}));
  // Ids in order of first appearance: part 0's file, then part 1's shard 1 (key "2,2" slice
  // of p sorts first), then its shard 0.
  EXPECT_EQ(fs.file_size("ckpt/model.data-00001-of-00003"), part1_size);
  CheckpointReader reader("ckpt/model", &fs);
  EXPECT_EQ(reader.debug_string(),
            "a (DT_FLOAT) []\nb (DT_FLOAT) [2]\nc (DT_STRING) [1]\np (DT_FLOAT) [4]\n");
  EXPECT_EQ(reader.get_tensor("p").to_vector<float>(), (std::vector<float>{0, 1, 2, 3}));
  EXPECT_EQ(reader.get_tensor("b").to_vector<float>(), (std::vector<float>{2, 3}));
  EXPECT_EQ(reader.get_tensor("c").to_vector<std::string>(), std::vector<std::string>{"c"});
  EXPECT_EQ(verify_checkpoint("ckpt/model", &fs), "");
}

TEST(MergeBundles, DuplicateKeyIsTfError) {
  MemFileSystem fs;
  for (const char* p : {"ckpt/t/part-0", "ckpt/t/part-1"}) {
    BundleWriter w(p, {.fs = &fs});
    w.add("a", Tensor::scalar<float>(1));
    w.finish();
  }
  KILN_EXPECT_ERROR(merge_bundles(&fs, {"ckpt/t/part-0", "ckpt/t/part-1"}, "ckpt/model"),
                    InvalidArgumentError,
                    "Duplicate tensor keyed by a encountered, when merging prefix: ckpt/t/part-1");
  EXPECT_TRUE(fs.exists("ckpt/t/part-0.data-00000-of-00001")) << "nothing renamed on error";
  KILN_EXPECT_ERROR(merge_bundles(&fs, {"ckpt/t/none"}, "ckpt/model"), NotFoundError, "none");
}

}  // namespace
}  // namespace kiln::io

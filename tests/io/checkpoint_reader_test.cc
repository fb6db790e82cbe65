// CheckpointReader on TF's golden files (V1 and V2), on bundles we write, its debug string, and
// its messages for wrong paths (TF users pass .index/.meta/checkpoint files all the time).
#include <gtest/gtest.h>

#include "core/errors.h"
#include "io/bundle_writer.h"
#include "io/checkpoint_reader.h"
#include "io/mem_file_system.h"
#include "io/tensor_slice.h"
#include "io_test_util.h"

namespace kiln::io {
namespace {

std::string tf(const std::string& path) { return testing::testdata_dir() + "/tf/" + path; }

TEST(CheckpointReaderGolden, V1HalfPlusTwo) {
  for (const std::string& p : {tf("v1_half_plus_two/export"),
                               tf("v1_half_plus_two/export-?\?\?\?\?-of-00001"),
                               tf("v1_half_plus_two/export-00000-of-00001")}) {
    SCOPED_TRACE(p);
    CheckpointReader reader(p);
    EXPECT_FALSE(reader.is_v2());
    EXPECT_EQ(reader.tensor_names(), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(reader.get_tensor("a").item<float>(), 0.5f);
    EXPECT_EQ(reader.get_tensor("b").item<float>(), 2.0f);
    EXPECT_EQ(reader.debug_string(), "a (DT_FLOAT) []\nb (DT_FLOAT) []\n");
    EXPECT_EQ(reader.data_files(),
              std::vector<std::string>{tf("v1_half_plus_two/export-00000-of-00001")});
    KILN_EXPECT_ERROR(reader.get_tensor("v3"), NotFoundError, "Key v3 not found in checkpoint");
  }
}

TEST(CheckpointReaderGolden, V2Folders) {
  CheckpointReader h(tf("v2_half_plus_two/variables"));
  EXPECT_TRUE(h.is_v2());
  EXPECT_EQ(h.debug_string(), "a (DT_FLOAT) []\na2 (DT_FLOAT) []\nb (DT_FLOAT) []\n"
                              "c (DT_FLOAT) []\nc2 (DT_FLOAT) []\n");
  EXPECT_EQ(h.get_tensor("c2").item<float>(), 3.0f);
  EXPECT_EQ(h.data_files(),
            std::vector<std::string>{tf("v2_half_plus_two/variables.data-00000-of-00001")});
  CheckpointReader c(tf("v2_counter/variables"));
  EXPECT_EQ(c.get_tensor("counter").item<float>(), 0.0f);
  CheckpointReader o(tf("v2_tf2_object_graph/variables"));
  EXPECT_EQ(o.dtype("_CHECKPOINTABLE_OBJECT_GRAPH"), DType::kString);
  EXPECT_EQ(o.get_tensor("b/.ATTRIBUTES/VARIABLE_VALUE").item<float>(), 2.0f);
  EXPECT_FALSE(o.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH").item<std::string>().empty());
}

TEST(CheckpointReader, MapsAndDebugStringShowPartitionedOnce) {
  MemFileSystem fs;
  {
    BundleWriter w("ckpt/model", {.fs = &fs});
    w.add("v0", Tensor(DType::kFloat, Shape{2, 3}));
    w.add("v1", Tensor(DType::kFloat, Shape{3, 2, 1}));
    w.add("step", Tensor::scalar<int64_t>(7));
    w.add_slice("part", Shape{4}, parse_slice_spec("0,2"), Tensor::of<int32_t>({1, 2}, {2}));
    w.add_slice("part", Shape{4}, parse_slice_spec("2,2"), Tensor::of<int32_t>({3, 4}, {2}));
    w.finish();
  }
  CheckpointReader reader("ckpt/model", &fs);
  EXPECT_EQ(reader.debug_string(), "part (DT_INT32) [4]\nstep (DT_INT64) []\n"
                                   "v0 (DT_FLOAT) [2,3]\nv1 (DT_FLOAT) [3,2,1]\n");
  EXPECT_EQ(reader.tensor_names(), (std::vector<std::string>{"part", "step", "v0", "v1"}));
  EXPECT_EQ(reader.variable_to_shape_map().at("v1"), (Shape{3, 2, 1}));
  EXPECT_EQ(reader.variable_to_dtype_map().at("step"), DType::kInt64);
  EXPECT_TRUE(reader.has_tensor("v0"));
  EXPECT_FALSE(reader.has_tensor("v3"));
  EXPECT_EQ(reader.get_tensor("part").to_vector<int32_t>(), (std::vector<int32_t>{1, 2, 3, 4}));
  EXPECT_EQ(reader.get_slice("part", parse_slice_spec("1,2")).to_vector<int32_t>(),
            (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(reader.slices("part").size(), 2u);
  EXPECT_TRUE(reader.slices("v0").empty());
  KILN_EXPECT_ERROR(reader.get_tensor("v3"), NotFoundError, "Key v3 not found in checkpoint");
}

TEST(CheckpointReader, WrongPaths) {
  const std::string tf_msg = "Unsuccessful TensorSliceReader constructor: Failed to find any "
                             "matching files for ";
  KILN_EXPECT_ERROR(CheckpointReader("/no/such/model.ckpt"), NotFoundError,
                    tf_msg + "/no/such/model.ckpt");
  const std::string v2 = tf("v2_counter/variables");
  KILN_EXPECT_ERROR(CheckpointReader(v2 + ".index"), NotFoundError,
                    "pass its prefix " + v2 + " instead");
  KILN_EXPECT_ERROR(CheckpointReader(v2 + ".data-00000-of-00001"), NotFoundError,
                    "pass its prefix " + v2 + " instead");
  KILN_EXPECT_ERROR(CheckpointReader(tf("v1_half_plus_two/export.meta")), NotFoundError,
                    "pass the checkpoint prefix " + tf("v1_half_plus_two/export") + " instead");
  KILN_EXPECT_ERROR(CheckpointReader(tf("state_file/checkpoint")), NotFoundError,
                    "/tmp/bad_half_plus_two/00000123/export");
  KILN_EXPECT_ERROR(CheckpointReader(tf("v2_counter")), NotFoundError, "is a directory");
}

TEST(CheckpointReader, WrongPathsMessageStartsWithTfWords) {
  MemFileSystem fs;
  try {
    CheckpointReader reader("ckpt/model.ckpt.index", &fs);
    FAIL();
  } catch (const NotFoundError& e) {
    EXPECT_EQ(std::string(e.what()),
              "Unsuccessful TensorSliceReader constructor: Failed to find any matching files for "
              "ckpt/model.ckpt.index (ckpt/model.ckpt.index is the .index file of a checkpoint: "
              "pass its prefix ckpt/model.ckpt instead)");
  }
}

}  // namespace
}  // namespace kiln::io

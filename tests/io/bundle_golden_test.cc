// Bundles written by real TensorFlow (shared/testdata/tf, see its README) read with exactly the
// expected values.
#include <gtest/gtest.h>

#include "core/errors.h"
#include "io/bundle_reader.h"
#include "io_test_util.h"

namespace kiln::io {
namespace {

std::string golden(const std::string& name) {
  return testing::testdata_dir() + "/tf/" + name + "/variables";
}

void expect_float_scalar(const BundleReader& reader, const std::string& key, float value) {
  SCOPED_TRACE(key);
  Tensor t = reader.lookup(key);
  EXPECT_EQ(t.dtype(), DType::kFloat);
  EXPECT_EQ(t.shape(), Shape{});
  EXPECT_EQ(t.item<float>(), value);
}

TEST(BundleGolden, HalfPlusTwoWithSnappyBlocks) {
  BundleReader reader(golden("v2_half_plus_two"));
  EXPECT_EQ(reader.header().num_shards, 1);
  EXPECT_EQ(reader.keys(), (std::vector<std::string>{"a", "a2", "b", "c", "c2"}));
  expect_float_scalar(reader, "a", 0.5f);
  expect_float_scalar(reader, "a2", 0.5f);
  expect_float_scalar(reader, "b", 2.0f);
  expect_float_scalar(reader, "c", 3.0f);
  expect_float_scalar(reader, "c2", 3.0f);
  KILN_EXPECT_ERROR(reader.lookup("d"), NotFoundError, "Key d not found in checkpoint");
}

TEST(BundleGolden, Counter) {
  BundleReader reader(golden("v2_counter"));
  EXPECT_EQ(reader.keys(), (std::vector<std::string>{"counter"}));
  expect_float_scalar(reader, "counter", 0.0f);
}

TEST(BundleGolden, Tf2ObjectGraph) {
  BundleReader reader(golden("v2_tf2_object_graph"));
  EXPECT_EQ(reader.keys(),
            (std::vector<std::string>{"_CHECKPOINTABLE_OBJECT_GRAPH", "a/.ATTRIBUTES/VARIABLE_VALUE",
                                      "b/.ATTRIBUTES/VARIABLE_VALUE",
                                      "c/.ATTRIBUTES/VARIABLE_VALUE"}));
  Tensor graph = reader.lookup("_CHECKPOINTABLE_OBJECT_GRAPH");
  EXPECT_EQ(graph.dtype(), DType::kString);
  EXPECT_EQ(graph.shape(), Shape{});
  // A serialized TrackableObjectGraph: non-empty, and it names the variables it tracks.
  const std::string bytes = graph.item<std::string>();
  EXPECT_GT(bytes.size(), 100u);
  EXPECT_NE(bytes.find("a/.ATTRIBUTES/VARIABLE_VALUE"), std::string::npos);
  expect_float_scalar(reader, "a/.ATTRIBUTES/VARIABLE_VALUE", 0.5f);
  expect_float_scalar(reader, "b/.ATTRIBUTES/VARIABLE_VALUE", 2.0f);
  expect_float_scalar(reader, "c/.ATTRIBUTES/VARIABLE_VALUE", 3.0f);
}

TEST(BundleGolden, PassingAnotherFileAsPrefixIsNotFound) {
  // "variables.index" as the prefix looks for "variables.index.index".
  KILN_EXPECT_ERROR(BundleReader(golden("v2_counter") + ".index"), NotFoundError,
                    "variables.index.index");
}

}  // namespace
}  // namespace kiln::io

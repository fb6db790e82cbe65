// `kiln inspect`: TF's inspect_checkpoint text on the golden TF files, numpy-style values and
// JSON on bundles written with BundleWriter.
#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "io/bundle_writer.h"
#include "io/checkpoint_reader.h"
#include "io/io_test_util.h"
#include "tools/kiln_run.h"

namespace kiln::tools::testing {
namespace {

using io::testing::ScratchDir;
using io::testing::testdata_dir;

std::string tf(const std::string& rel) { return testdata_dir() + "/tf/" + rel; }
std::string golden(const std::string& name) {
  return std::string(KILN_TOOLS_TEST_DIR) + "/golden/" + name;
}

TEST(KilnInspect, DebugStringLikeTensorFlow) {
  KilnResult r = run_kiln({"inspect", tf("v2_half_plus_two/variables")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "a (DT_FLOAT) []\na2 (DT_FLOAT) []\nb (DT_FLOAT) []\nc (DT_FLOAT) []\n"
            "c2 (DT_FLOAT) []\n\n# Total number of params: 5\n");
  EXPECT_EQ(r.err, "");
}

TEST(KilnInspect, AllTensorsOnEveryGoldenCheckpoint) {
  KilnResult r = run_kiln({"inspect", "--all-tensors", tf("v2_half_plus_two/variables")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "tensor: a (float32) []\n0.5\ntensor: a2 (float32) []\n0.5\n"
            "tensor: b (float32) []\n2.0\ntensor: c (float32) []\n3.0\n"
            "tensor: c2 (float32) []\n3.0\n# Total number of params: 5\n");

  r = run_kiln({"inspect", "--all-tensors", tf("v2_counter/variables")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "tensor: counter (float32) []\n0.0\n# Total number of params: 1\n");

  r = run_kiln({"inspect", "--all-tensors", tf("v1_half_plus_two/export-00000-of-00001")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "tensor: a (float32) []\n0.5\ntensor: b (float32) []\n2.0\n"
                   "# Total number of params: 2\n");

  // Byte for byte what TF's inspect_checkpoint printed (string scalar as a Python bytes literal).
  r = run_kiln({"inspect", "--all-tensors", tf("v2_tf2_object_graph/variables")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, slurp(golden("v2_tf2_object_graph.all_tensors.txt")));
}

TEST(KilnInspect, TensorNamesAndOneTensor) {
  KilnResult r = run_kiln({"inspect", "--all-tensor-names", tf("v2_tf2_object_graph/variables")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "tensor: _CHECKPOINTABLE_OBJECT_GRAPH (string) []\n"
            "tensor: a/.ATTRIBUTES/VARIABLE_VALUE (float32) []\n"
            "tensor: b/.ATTRIBUTES/VARIABLE_VALUE (float32) []\n"
            "tensor: c/.ATTRIBUTES/VARIABLE_VALUE (float32) []\n# Total number of params: 4\n");

  r = run_kiln({"inspect", "--tensor", "b", tf("v2_half_plus_two/variables")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "tensor: b (float32) []\n2.0\n# Total number of params: 5\n");

  r = run_kiln({"inspect", "--tensor", "nope", tf("v2_half_plus_two/variables")});
  expect_failure(r, "inspect", "Tensor nope not found in checkpoint");
}

TEST(KilnInspect, JsonOfGoldenFiles) {
  KilnResult r = run_kiln({"inspect", "--json", tf("v2_half_plus_two/variables")});
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["tensors"].size(), 5u);
  EXPECT_EQ(j["tensors"][0], nlohmann::json::parse(R"({"name":"a","dtype":"float32","shape":[]})"));
  // Keys in the documented order.
  EXPECT_EQ(r.out.substr(0, 60).find("{\"name\":\"a\",\"dtype\":\"float32\",\"shape\":[]}"), 13u)
      << r.out;

  r = run_kiln({"inspect", "--json", "--all-tensors", tf("v2_tf2_object_graph/variables")});
  ASSERT_EQ(r.status, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["tensors"].size(), 4u);
  EXPECT_EQ(j["tensors"][1]["values"], nlohmann::json::parse("[0.5]"));
  EXPECT_EQ(j["tensors"][2]["values"], nlohmann::json::parse("[2.0]"));
  // The serialized object graph is not UTF-8: base64 of exactly the stored bytes.
  auto graph = j["tensors"][0];
  EXPECT_EQ(graph["dtype"], "string");
  ASSERT_TRUE(graph["values"][0].contains("base64")) << graph.dump();
  io::CheckpointReader reader(tf("v2_tf2_object_graph/variables"));
  std::string raw = reader.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH").item<std::string>();
  std::string b64 = graph["values"][0]["base64"];
  EXPECT_EQ(b64.size(), (raw.size() + 2) / 3 * 4);
  EXPECT_EQ(b64.substr(0, 8), "CpgBCgUS");  // 0a 98 01 0a 05 12

  r = run_kiln({"inspect", "--json", "--tensor", "counter", tf("v2_counter/variables")});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out),
            nlohmann::json::parse(
                R"({"tensors":[{"name":"counter","dtype":"float32","shape":[],"values":[0.0]}]})"));
}

// A bundle with every dtype kiln has, written by kiln's own writer.
class KilnInspectWritten : public ::testing::Test {
 protected:
  void SetUp() override {
    io::BundleWriter w(prefix_);
    float inf = std::numeric_limits<float>::infinity();
    w.add("f32", Tensor::from_vector<float>({1.5f, -0.f, 0.1f, NAN, inf, -inf, 1e-5f, 3e38f}, Shape{2, 4}));
    w.add("f64", Tensor::from_vector<double>({0.1, 1e300, -2.0}, Shape{3}));
    w.add("f16", Tensor::from_vector<Half>({Half(1.0f), Half(0.1f), Half(65504.0f)}, Shape{3}));
    w.add("bf16", Tensor::from_vector<BFloat16>({BFloat16(1.0f), BFloat16(0.1f)}, Shape{2}));
    w.add("i8", Tensor::from_vector<int8_t>({-128, 127}, Shape{2}));
    w.add("u8", Tensor::from_vector<uint8_t>({0, 255}, Shape{2}));
    w.add("i16", Tensor::from_vector<int16_t>({-32768, 32767}, Shape{2}));
    w.add("i32", Tensor::from_vector<int32_t>({1, 2, 3, 4, 5, 600}, Shape{2, 3}));
    w.add("i64", Tensor::from_vector<int64_t>({INT64_MIN, INT64_MAX}, Shape{2}));
    w.add("bool", Tensor::from_vector<bool>({true, false}, Shape{2}));
    w.add("str", Tensor::of_strings({"h\xc3\xa9llo", std::string("\x00\xff", 2), "it's"}, Shape{3}));
    w.add("empty", Tensor(DType::kFloat, Shape{0, 3}));
    w.add("s_f32", Tensor::scalar<float>(1234567.0f));
    w.add("s_f32_small", Tensor::scalar<float>(1e-5f));
    w.add("s_f64", Tensor::scalar<double>(1e16));
    w.add("s_f16", Tensor::scalar<Half>(Half(1000.0f)));
    w.add("s_bf16", Tensor::scalar<BFloat16>(BFloat16(0.1f)));
    w.add("s_bool", Tensor::scalar<bool>(false));
    w.add("s_str", Tensor::of_strings({"say \"hi\" it's\n"}, Shape{}));
    w.finish();
  }
  std::string value_text(const std::string& name) {
    KilnResult r = run_kiln({"inspect", "--tensor", name, prefix_});
    EXPECT_EQ(r.status, 0) << r.err;
    size_t first = r.out.find('\n'), last = r.out.rfind("# Total");
    return r.out.substr(first + 1, last - first - 2);
  }
  ScratchDir dir_;
  std::string prefix_ = dir_.file("model.ckpt");
};

TEST_F(KilnInspectWritten, NumpyText) {
  // What numpy 2 prints for the same values.
  EXPECT_EQ(value_text("s_f32"), "1.234567e+06");
  EXPECT_EQ(value_text("s_f32_small"), "1e-05");
  EXPECT_EQ(value_text("s_f64"), "1e+16");
  EXPECT_EQ(value_text("s_f16"), "1e+03");
  EXPECT_EQ(value_text("s_bf16"), "0.100098");
  EXPECT_EQ(value_text("s_bool"), "False");
  EXPECT_EQ(value_text("s_str"), "b'say \"hi\" it\\'s\\n'");
  EXPECT_EQ(value_text("i32"), "[[  1   2   3]\n [  4   5 600]]");
  EXPECT_EQ(value_text("str"), "[b'h\\xc3\\xa9llo' b'\\x00\\xff' b\"it's\"]");
  EXPECT_EQ(value_text("bool"), "[ True False]");
  EXPECT_EQ(value_text("empty"), "[]");
  KilnResult r = run_kiln({"inspect", "--tensor", "empty", prefix_});
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "tensor: empty (float32) [0, 3]");
}

TEST_F(KilnInspectWritten, JsonValuesExact) {
  KilnResult r = run_kiln({"inspect", "--json", "--all-tensors", prefix_});
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& t : j["tensors"]) by_name[t["name"]] = t;
  EXPECT_EQ(by_name.size(), 19u);
  EXPECT_EQ(by_name["f32"]["shape"], nlohmann::json::parse("[2,4]"));
  EXPECT_EQ(by_name["f32"]["values"],
            nlohmann::json::parse(R"([1.5,-0.0,0.1,"nan","inf","-inf",1e-05,3e+38])"));
  EXPECT_EQ(by_name["f64"]["values"], nlohmann::json::parse("[0.1,1e300,-2.0]"));
  // Shortest digits that read back as the same float16: 65500 -> 65504.
  EXPECT_EQ(by_name["f16"]["values"], nlohmann::json::parse("[1.0,0.1,65500.0]"));
  EXPECT_EQ(by_name["bf16"]["values"], nlohmann::json::parse("[1.0,0.1]"));
  EXPECT_EQ(by_name["i8"]["values"], nlohmann::json::parse("[-128,127]"));
  EXPECT_EQ(by_name["u8"]["values"], nlohmann::json::parse("[0,255]"));
  EXPECT_EQ(by_name["i16"]["values"], nlohmann::json::parse("[-32768,32767]"));
  EXPECT_EQ(by_name["i64"]["values"],
            nlohmann::json::parse("[-9223372036854775808,9223372036854775807]"));
  EXPECT_EQ(by_name["bool"]["values"], nlohmann::json::parse("[true,false]"));
  EXPECT_EQ(by_name["str"]["values"],
            nlohmann::json::parse(R"(["h\u00e9llo",{"base64":"AP8="},"it's"])"));
  EXPECT_EQ(by_name["empty"]["values"], nlohmann::json::array());
  EXPECT_EQ(by_name["empty"]["dtype"], "float32");
  EXPECT_EQ(by_name["s_str"]["shape"], nlohmann::json::array());
  EXPECT_EQ(by_name["s_str"]["values"], nlohmann::json::parse(R"(["say \"hi\" it's\n"])"));
  EXPECT_EQ(by_name["s_f16"]["values"], nlohmann::json::parse("[1000.0]"));
  // Without a value flag: names, dtypes and shapes only.
  r = run_kiln({"inspect", "--json", "--all-tensor-names", prefix_});
  ASSERT_EQ(r.status, 0) << r.err;
  // Parsed into a named object first: a range-for over parse(...)["tensors"] would iterate a
  // member of a temporary destroyed before the loop body runs (heap-use-after-free under ASan).
  const nlohmann::json names_only = nlohmann::json::parse(r.out);
  for (const auto& t : names_only.at("tensors")) EXPECT_FALSE(t.contains("values"));
}

TEST_F(KilnInspectWritten, PartitionedTensorShownWhole) {
  ScratchDir dir;
  std::string prefix = dir.file("part");
  {
    io::BundleWriter w(prefix);
    w.add_slice("w", Shape{4, 2}, {{0, 2}, {0, -1}}, Tensor::from_vector<float>({1, 2, 3, 4}, Shape{2, 2}));
    w.add_slice("w", Shape{4, 2}, {{2, 2}, {0, -1}}, Tensor::from_vector<float>({5, 6, 7, 8}, Shape{2, 2}));
    w.finish();
  }
  KilnResult r = run_kiln({"inspect", prefix});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "w (DT_FLOAT) [4,2]\n\n# Total number of params: 8\n");
  r = run_kiln({"inspect", "--json", "--all-tensors", prefix});
  EXPECT_EQ(nlohmann::json::parse(r.out),
            nlohmann::json::parse(
                R"({"tensors":[{"name":"w","dtype":"float32","shape":[4,2],"values":[1,2,3,4,5,6,7,8]}]})"));
}

TEST(KilnInspect, MutuallyExclusiveFlagsAreUsageErrors) {
  KilnResult r = run_kiln({"inspect", "--all-tensors", "--tensor", "a", tf("v2_counter/variables")});
  EXPECT_EQ(r.status, 2);
  r = run_kiln({"inspect"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("prefix"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace kiln::tools::testing

// `kiln run`: TensorFlow's v1_half_plus_two graph and a graph kiln saved, fed from JSON and from
// .npy files, with text and JSON output, and the one-line failures.
#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "io/io_test_util.h"
#include "kiln/kiln.h"
#include "tools/kiln_run.h"

namespace kiln::tools::testing {
namespace {

using io::testing::ScratchDir;
using io::testing::testdata_dir;

std::string tf(const std::string& rel) { return testdata_dir() + "/tf/" + rel; }

// A version 1.0 .npy file of little-endian float64 values.
void write_npy_f8(const std::string& path, const std::vector<double>& v, const std::string& shape) {
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  out << "\x93NUMPY" << char(1) << char(0) << char(header.size() & 0xff) << char(header.size() >> 8)
      << header;
  out.write(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(double));
}

std::vector<double> json_fetch_values(const std::string& out, size_t i = 0) {
  auto j = nlohmann::json::parse(out);
  return j.at("fetches").at(i).at("values").get<std::vector<double>>();
}

TEST(KilnRun, TensorFlowHalfPlusTwo) {
  const std::vector<double> x{1, 2, 3};
  std::vector<double> want;
  for (double v : x) want.push_back(0.5 * v + 2.0);  // y = a*x + b with a=0.5, b=2 in the checkpoint

  KilnResult r = run_kiln({"run", tf("v1_half_plus_two/export.meta"), "--checkpoint",
                           tf("v1_half_plus_two/export"), "--feed", "x:0=[1,2,3]", "--fetch",
                           "y:0", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json_fetch_values(r.out), want);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["fetches"][0]["shape"], nlohmann::json::parse("[3,1]"));  // x is (?, 1)

  r = run_kiln({"run", tf("v1_half_plus_two/export.meta"), "--checkpoint",
                tf("v1_half_plus_two/export"), "--feed", "x=[[1],[2],[3]]", "--fetch", "y",
                "--fetch", "a:0"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "y:0 (float32) [3, 1]\n[[2.5]\n [3. ]\n [3.5]]\na:0 (float32) []\n0.5\n");

  ScratchDir tmp;
  write_npy_f8(tmp.file("x.npy"), x, "(3, 1)");
  r = run_kiln({"run", tf("v1_half_plus_two/export.meta"), "--checkpoint",
                tf("v1_half_plus_two/export"), "--feed", "x:0=@" + tmp.file("x.npy"), "--fetch",
                "y:0", "--json", "--device", "/cpu:0"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json_fetch_values(r.out), want);
}

TEST(KilnRun, GraphSavedByKiln) {
  ScratchDir tmp;
  Graph g;
  auto x = placeholder(g, DType::kFloat, Shape{-1, 2}, "x");
  Variable w(g, random_normal(g, {2, 3}, {.seed = 7}), "w");
  auto y = matmul(x, w, false, false, "y");
  Saver saver(g);
  Session sess(g);
  sess.run(global_variables_initializer(g));
  std::string prefix = saver.save(sess, tmp.file("model"), {.global_step = 5});
  Tensor feed = Tensor::of<float>({1, 2, 3, 4}, Shape{2, 2});
  std::vector<float> want = sess.run(y, {{x, feed}}).to_vector<float>();

  // A directory means its latest checkpoint.
  KilnResult r = run_kiln({"run", prefix + ".meta", "--checkpoint", tmp.path(), "--feed",
                           "x:0=[[1,2],[3,4]]", "--fetch", "y:0", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<double> got = json_fetch_values(r.out);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(static_cast<float>(got[i]), want[i]);
}

TEST(KilnRun, Failures) {
  const std::string meta = tf("v1_half_plus_two/export.meta");
  const std::string ckpt = tf("v1_half_plus_two/export");
  struct Case {
    std::vector<std::string> args;
    std::string message;
  } cases[] = {
      {{"run", meta, "--checkpoint", ckpt, "--feed", "x:0=[[1],[2,3]]", "--fetch", "y:0"}, "ragged"},
      {{"run", meta, "--checkpoint", ckpt, "--feed", "x:0=[\"a\"]", "--fetch", "y:0"}, "is not a number"},
      {{"run", meta, "--checkpoint", ckpt, "--feed", "x:0", "--fetch", "y:0"}, "NAME=VALUES"},
      {{"run", meta, "--checkpoint", ckpt, "--feed", "x:0=@/no/such.npy", "--fetch", "y:0"}, "/no/such.npy"},
      {{"run", meta, "--checkpoint", ckpt, "--fetch", "nope:0"}, "nope"},
      {{"run", meta, "--checkpoint", ckpt, "--fetch", "y:0"}, "ParseExample"},  // x not fed
      {{"run", meta, "--checkpoint", "/no/such/ckpt", "--fetch", "a:0"}, "not a valid checkpoint"},
      {{"run", "/no/such.meta", "--fetch", "a:0"}, "does not exist"},
  };
  for (const auto& c : cases) {
    KilnResult r = run_kiln(c.args);
    EXPECT_EQ(r.status, 1) << c.message << ": " << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_EQ(r.err.rfind("kiln run: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_EQ(run_kiln({"run", meta}).status, 2);  // --fetch is required
}

}  // namespace
}  // namespace kiln::tools::testing

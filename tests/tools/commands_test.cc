// `kiln verify`, `kiln latest`, `kiln convert`, --help, and the one-line failures for wrong
// paths (including the file names users pass instead of a prefix).
#include <filesystem>
#include <fstream>

#include "io/bundle_format.h"
#include "io/bundle_writer.h"
#include "io/checkpoint_reader.h"
#include "io/io_test_util.h"
#include "tools/kiln_run.h"

namespace kiln::tools::testing {
namespace {

using io::testing::ScratchDir;
using io::testing::testdata_dir;

std::string tf(const std::string& rel) { return testdata_dir() + "/tf/" + rel; }

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

void write_small_bundle(const std::string& prefix) {
  io::BundleWriter w(prefix);
  w.add("a", Tensor::from_vector<float>({1, 2, 3}, Shape{3}));
  w.add("s", Tensor::of_strings({"x", "yz"}, Shape{2}));
  w.finish();
}

TEST(KilnHelp, EverySubcommandHasHelp) {
  for (std::string sub : {"inspect", "verify", "latest", "convert", "run"}) {
    KilnResult r = run_kiln({sub, "--help"});
    EXPECT_EQ(r.status, 0) << sub;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << r.out;
  }
  KilnResult r = run_kiln({"--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("convert"), std::string::npos);
  EXPECT_EQ(run_kiln({}).status, 2);
  EXPECT_EQ(run_kiln({"frobnicate"}).status, 2);
}

TEST(KilnVerify, SoundCheckpoints) {
  for (std::string p : {"v2_half_plus_two/variables", "v2_counter/variables",
                        "v2_tf2_object_graph/variables", "v1_half_plus_two/export-00000-of-00001"}) {
    KilnResult r = run_kiln({"verify", tf(p)});
    EXPECT_EQ(r.status, 0) << p << ": " << r.err;
    EXPECT_EQ(r.out, tf(p) + ": OK\n");
  }
}

TEST(KilnVerify, CorruptDataNamesTheProblem) {
  ScratchDir dir;
  std::string prefix = dir.file("model.ckpt");
  write_small_bundle(prefix);
  std::string data = io::data_filename(prefix, 0, 1);
  {
    std::fstream f(data, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4);
    f.put('\x7f');
  }
  expect_failure(run_kiln({"verify", prefix}), "verify", "a");
  // Truncated index.
  write_small_bundle(dir.file("t"));
  std::filesystem::resize_file(dir.file("t.index"), 20);
  expect_failure(run_kiln({"verify", dir.file("t")}), "verify", "t.index");
  // Missing data shard.
  write_small_bundle(dir.file("m"));
  std::filesystem::remove(io::data_filename(dir.file("m"), 0, 1));
  expect_failure(run_kiln({"verify", dir.file("m")}), "verify", "m.data-00000-of-00001");
}

TEST(KilnLatest, ResolvesRelativePaths) {
  ScratchDir dir;
  write_small_bundle(dir.file("model.ckpt-2"));
  write_file(dir.file("checkpoint"),
             "model_checkpoint_path: \"model.ckpt-2\"\n"
             "all_model_checkpoint_paths: \"model.ckpt-1\"\n"
             "all_model_checkpoint_paths: \"model.ckpt-2\"\n");
  KilnResult r = run_kiln({"latest", dir.path()});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, dir.file("model.ckpt-2") + "\n");
  // The state file itself is accepted too.
  r = run_kiln({"latest", dir.file("checkpoint")});
  EXPECT_EQ(r.out, dir.file("model.ckpt-2") + "\n");
  // Absolute paths are kept.
  write_file(dir.file("checkpoint"), "model_checkpoint_path: \"" + dir.file("model.ckpt-2") + "\"\n");
  EXPECT_EQ(run_kiln({"latest", dir.path()}).out, dir.file("model.ckpt-2") + "\n");
}

TEST(KilnLatest, NoCheckpointIsAClearFailure) {
  ScratchDir dir;
  expect_failure(run_kiln({"latest", dir.path()}), "latest",
                 dir.file("checkpoint") + " does not exist");
  expect_failure(run_kiln({"latest", dir.file("nope")}), "latest", "no such directory");
  write_file(dir.file("checkpoint"), "all_model_checkpoint_paths: \"x\"\n");
  expect_failure(run_kiln({"latest", dir.path()}), "latest", "has no model_checkpoint_path");
  write_file(dir.file("checkpoint"), "model_checkpoint_path: \"gone\"\n");
  expect_failure(run_kiln({"latest", dir.path()}), "latest", dir.file("gone"));
  write_file(dir.file("checkpoint"), "this is { not a proto");
  expect_failure(run_kiln({"latest", dir.path()}), "latest", "not a valid CheckpointState");
  // The golden state file names a checkpoint of another machine.
  expect_failure(run_kiln({"latest", tf("state_file")}), "latest",
                 "/tmp/bad_half_plus_two/00000123/export");
}

TEST(KilnConvert, V1ToV2ShardedAndAligned) {
  ScratchDir dir;
  std::string out = dir.file("v2/model");
  KilnResult r = run_kiln({"convert", tf("v1_half_plus_two/export-00000-of-00001"), out,
                           "--shards", "3", "--align", "64"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, out + ": 2 tensors, 3 data files\n");
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(std::filesystem::exists(io::data_filename(out, i, 3)));
  EXPECT_EQ(run_kiln({"verify", out}).status, 0);
  io::CheckpointReader reader(out);
  EXPECT_TRUE(reader.is_v2());
  EXPECT_EQ(reader.get_tensor("a").item<float>(), 0.5f);
  EXPECT_EQ(reader.get_tensor("b").item<float>(), 2.0f);
  r = run_kiln({"inspect", "--all-tensors", out});
  EXPECT_EQ(r.out, "tensor: a (float32) []\n0.5\ntensor: b (float32) []\n2.0\n"
                   "# Total number of params: 2\n");
}

TEST(KilnConvert, PartitionedTensorsStayPartitioned) {
  ScratchDir dir;
  std::string src = dir.file("src"), dst = dir.file("dst");
  {
    io::BundleWriter w(src);
    // In name order, as TF's Saver and `kiln convert` add tensors.
    w.add("plain", Tensor::scalar<int64_t>(9));
    w.add_slice("w", Shape{4, 2}, {{0, 2}, {0, -1}}, Tensor::from_vector<float>({1, 2, 3, 4}, Shape{2, 2}));
    w.add_slice("w", Shape{4, 2}, {{2, 2}, {0, -1}}, Tensor::from_vector<float>({5, 6, 7, 8}, Shape{2, 2}));
    w.finish();
  }
  ASSERT_EQ(run_kiln({"convert", src, dst, "--shards", "2"}).status, 0);
  io::CheckpointReader reader(dst);
  EXPECT_EQ(reader.slices("w").size(), 2u);
  EXPECT_EQ(reader.get_tensor("w").to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(reader.get_tensor("plain").item<int64_t>(), 9);
  // Unsharded, a kiln bundle converts to the same bytes.
  ASSERT_EQ(run_kiln({"convert", src, dir.file("again")}).status, 0);
  EXPECT_EQ(slurp(dir.file("again.index")), slurp(src + ".index"));
  EXPECT_EQ(slurp(io::data_filename(dir.file("again"), 0, 1)), slurp(io::data_filename(src, 0, 1)));
}

TEST(KilnConvert, BadArguments) {
  ScratchDir dir;
  write_small_bundle(dir.file("m"));
  expect_failure(run_kiln({"convert", dir.file("m"), dir.file("m")}), "convert", "differ");
  expect_failure(run_kiln({"convert", dir.file("m"), dir.file("o.index")}), "convert",
                 "pass a prefix");
  expect_failure(run_kiln({"convert", dir.file("nope"), dir.file("o")}), "convert", dir.file("nope"));
  EXPECT_FALSE(std::filesystem::exists(dir.file("o.index")));
  EXPECT_EQ(run_kiln({"convert", dir.file("m"), dir.file("o"), "--shards", "0"}).status, 2);
}

// Every way users pass something other than a prefix: one line, exit 1, the prefix to use.
TEST(KilnPaths, FileNamesInsteadOfThePrefix) {
  ScratchDir dir;
  std::string p = dir.file("model.ckpt");
  write_small_bundle(p);
  write_file(p + ".meta", "not really a graph");
  write_file(dir.file("checkpoint"), "model_checkpoint_path: \"model.ckpt\"\n");
  for (std::string sub : {"inspect", "verify", "convert"}) {
    auto args = [&](const std::string& arg) {
      std::vector<std::string> a{sub, arg};
      if (sub == "convert") a.push_back(dir.file("out"));
      return a;
    };
    expect_failure(run_kiln(args(p + ".index")), sub, "pass its prefix instead: " + p);
    expect_failure(run_kiln(args(p + ".data-00000-of-00001")), sub, "pass its prefix instead: " + p);
    expect_failure(run_kiln(args(p + ".meta")), sub, "instead: " + p);
    expect_failure(run_kiln(args(dir.file("checkpoint"))), sub, "e.g. its newest: " + p);
    expect_failure(run_kiln(args(dir.path())), sub, "is a directory, not a checkpoint prefix; pass a checkpoint prefix instead, e.g. its newest: " + p);
    expect_failure(run_kiln(args(dir.file("missing"))), sub, dir.file("missing"));
  }
}

TEST(KilnPaths, DirectoriesAndStateFiles) {
  ScratchDir dir;
  write_small_bundle(dir.file("a.ckpt"));
  expect_failure(run_kiln({"inspect", dir.path()}), "inspect",
                 "is a directory, not a checkpoint prefix; pass a prefix such as " + dir.file("a.ckpt"));
  ScratchDir empty;
  expect_failure(run_kiln({"inspect", empty.path()}), "inspect", "no *.index file");
  expect_failure(run_kiln({"inspect", tf("state_file/checkpoint")}), "inspect",
                 "(the state file names /tmp/bad_half_plus_two/00000123/export, which does not exist)");
  expect_failure(run_kiln({"inspect", tf("v1_half_plus_two/export.meta")}), "inspect",
                 "pass the checkpoint prefix instead: " + tf("v1_half_plus_two/export"));
  // ... which is the V1 checkpoint's prefix.
  KilnResult r = run_kiln({"inspect", tf("v1_half_plus_two/export")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "a (DT_FLOAT) []\nb (DT_FLOAT) []\n\n# Total number of params: 2\n");
}

TEST(KilnPaths, GarbageIsNeverACrash) {
  ScratchDir dir;
  write_file(dir.file("garbage"), std::string(300, 'x'));
  write_file(dir.file("g2.index"), std::string(100, '\0'));
  for (std::string sub : {"inspect", "verify"}) {
    for (std::string arg : {dir.file("garbage"), dir.file("g2"), std::string("")}) {
      KilnResult r = run_kiln({sub, arg});
      EXPECT_EQ(r.status, 1) << sub << " " << arg << ": " << r.err;
      EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
    }
  }
}

}  // namespace
}  // namespace kiln::tools::testing

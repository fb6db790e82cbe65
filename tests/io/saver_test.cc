// kiln::Saver: TF1's tf.train.Saver file names, return values, the `checkpoint` state file,
// retention (max_to_keep, keep_checkpoint_every_n_hours), sharded saves over logical CPU devices,
// restores of TF's golden checkpoints, and every error with TF's message.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/errors.h"
#include "io/checkpoint_reader.h"
#include "io/fault_file_system.h"
#include "io/mem_file_system.h"
#include "io_test_util.h"
#include "kiln/kiln.h"

namespace kiln {
namespace {

namespace stdfs = std::filesystem;
using io::testing::ScratchDir;

std::string tf(const std::string& path) { return io::testing::testdata_dir() + "/tf/" + path; }

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The entries of `dir`, without the state file's lock file (DIR/<latest_filename>.lock, which
// every save on the POSIX file system creates and keeps; io/saver.h "Concurrency").
std::vector<std::string> listing(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : stdfs::directory_iterator(dir))
    if (!e.path().filename().string().ends_with(".lock")) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<float> values(Session& s, const Variable& v) {
  return s.variable_value(v.name()).to_vector<float>();
}

struct TwoVars {
  Graph g;
  Variable v1{g, constant<float>(g, {1, 2}, Shape{1, 2}), "v1"};
  Variable v2{g, constant<float>(g, {1, 2, 3, 4, 5, 6}, Shape{2, 3}), "v2"};
  Operation init = global_variables_initializer(g);
};

// Runs a function with the working directory set to `dir`.
template <typename F>
void in_dir(const std::string& dir, F f) {
  auto old = stdfs::current_path();
  stdfs::current_path(dir);
  try {
    f();
  } catch (...) {
    stdfs::current_path(old);
    throw;
  }
  stdfs::current_path(old);
}

TEST(Saver, SeedProgramFlow) {
  ScratchDir tmp;
  in_dir(tmp.path(), [] {
    Graph g;
    auto v1 = Variable(g, random_normal(g, {1, 2}), "v1");
    auto v2 = Variable(g, random_normal(g, {2, 3}), "v2");
    auto init = global_variables_initializer(g);
    Saver saver(g);
    stdfs::create_directories("save");
    Session sess(g);
    sess.run(init);
    std::string path = saver.save(sess, "save/model.ckpt");
    EXPECT_EQ(path, "save/model.ckpt");
    EXPECT_EQ(saver.save(sess, "save/my_test_model", {.global_step = 1000}),
              "save/my_test_model-1000");
    EXPECT_EQ(listing("save"),
              (std::vector<std::string>{"checkpoint", "model.ckpt.data-00000-of-00001",
                                        "model.ckpt.index", "model.ckpt.meta",
                                        "my_test_model-1000.data-00000-of-00001",
                                        "my_test_model-1000.index", "my_test_model-1000.meta"}));
    // The save dir is relative: paths in the state file are relative to it (TF).
    EXPECT_EQ(read_text("save/checkpoint"),
              "model_checkpoint_path: \"my_test_model-1000\"\n"
              "all_model_checkpoint_paths: \"model.ckpt\"\n"
              "all_model_checkpoint_paths: \"my_test_model-1000\"\n");
    EXPECT_EQ(latest_checkpoint("save"), "save/my_test_model-1000");

    Session sess2(g);
    saver.restore(sess2, path);
    EXPECT_EQ(values(sess2, v1), values(sess, v1));
    EXPECT_EQ(values(sess2, v2), values(sess, v2));
    io::CheckpointReader reader(path);
    EXPECT_EQ(reader.debug_string(), "v1 (DT_FLOAT) [1,2]\nv2 (DT_FLOAT) [2,3]\n");
  });
}

TEST(Saver, FileNamesReturnValuesAndAbsoluteState) {
  ScratchDir tmp;
  TwoVars m;
  Session sess(m.g);
  sess.run(m.init);
  Saver saver(m.g);
  const std::string p = tmp.file("my_test_model");
  EXPECT_EQ(saver.save(sess, p, {.global_step = 0}), p + "-0");
  EXPECT_EQ(saver.save(sess, p, {.global_step = 1000}), p + "-1000");
  EXPECT_TRUE(stdfs::exists(p + "-1000.index"));
  EXPECT_TRUE(stdfs::exists(p + "-1000.data-00000-of-00001"));
  EXPECT_EQ(read_text(tmp.file("checkpoint")),
            "model_checkpoint_path: \"" + p + "-1000\"\n" +
                "all_model_checkpoint_paths: \"" + p + "-0\"\n" +
                "all_model_checkpoint_paths: \"" + p + "-1000\"\n");
  EXPECT_EQ(saver.last_checkpoints(), (std::vector<std::string>{p + "-0", p + "-1000"}));

  Saver padded(m.g, {.pad_step_number = true});
  EXPECT_EQ(padded.save(sess, p, {.global_step = 1000}), p + "-00001000");
  EXPECT_TRUE(stdfs::exists(p + "-00001000.index"));

  // A custom state file name, and write_state = false.
  Saver other(m.g);
  other.save(sess, tmp.file("x"), {.global_step = 1, .latest_filename = "latest"});
  EXPECT_EQ(latest_checkpoint(tmp.path(), "latest"), tmp.file("x-1"));
  other.save(sess, tmp.file("y"), {.write_state = false});
  EXPECT_EQ(latest_checkpoint(tmp.path(), "latest"), tmp.file("x-1"));
  EXPECT_TRUE(other.last_checkpoints() == std::vector<std::string>{tmp.file("x-1")});
}

TEST(Saver, SaveRelativePathsSurvivesAMove) {
  ScratchDir tmp;
  TwoVars m;
  Session sess(m.g);
  sess.run(m.init);
  stdfs::create_directories(tmp.file("a"));
  Saver saver(m.g, {.save_relative_paths = true});
  saver.save(sess, tmp.file("a/model.ckpt"), {.global_step = 7});
  EXPECT_EQ(read_text(tmp.file("a/checkpoint")),
            "model_checkpoint_path: \"model.ckpt-7\"\n"
            "all_model_checkpoint_paths: \"model.ckpt-7\"\n");
  stdfs::rename(tmp.file("a"), tmp.file("b"));
  auto latest = latest_checkpoint(tmp.file("b"));
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(*latest, tmp.file("b/model.ckpt-7"));
  Session sess2(m.g);
  saver.restore(sess2, *latest);
  EXPECT_EQ(values(sess2, m.v2), (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

// Files on disk, last_checkpoints and the state file after every save: max_to_keep=2 over 5
// saves and max_to_keep=3 over 10 (the case; step 10 sorts before 8 on disk).
TEST(Saver, RetentionAfterEverySave) {
  for (auto [keep, saves] : {std::pair{2, 5}, std::pair{3, 10}}) {
    ScratchDir tmp;
    TwoVars m;
    Session sess(m.g);
    sess.run(m.init);
    Saver saver(m.g, {.max_to_keep = keep});
    const std::string p = tmp.file("model");
    for (int step = 1; step <= saves; ++step) {
      saver.save(sess, p, {.global_step = step});
      std::vector<std::string> expected_ckpts;
      std::vector<std::string> expected_files{"checkpoint"};
      for (int s = std::max(1, step - keep + 1); s <= step; ++s) {
        expected_ckpts.push_back(p + "-" + std::to_string(s));
        for (const char* suffix : {".data-00000-of-00001", ".index", ".meta"})
          expected_files.push_back("model-" + std::to_string(s) + suffix);
      }
      std::sort(expected_files.begin(), expected_files.end());
      EXPECT_EQ(saver.last_checkpoints(), expected_ckpts) << "keep " << keep << " after save " << step;
      EXPECT_EQ(listing(tmp.path()), expected_files) << "keep " << keep << " after save " << step;
      std::string state = "model_checkpoint_path: \"" + p + "-" + std::to_string(step) + "\"\n";
      for (const auto& c : expected_ckpts) state += "all_model_checkpoint_paths: \"" + c + "\"\n";
      EXPECT_EQ(read_text(tmp.file("checkpoint")), state) << "keep " << keep << " after save " << step;
    }
    // Saving one path again moves it to the end without deleting anything.
    saver.save(sess, p, {.global_step = saves - 1});
    EXPECT_EQ(saver.last_checkpoints().back(), p + "-" + std::to_string(saves - 1));
    EXPECT_EQ(saver.last_checkpoints().size(), static_cast<size_t>(keep));
    EXPECT_TRUE(checkpoint_exists(p + "-" + std::to_string(saves)));
  }
}

TEST(Saver, MaxToKeepZeroKeepsAllAndListsOnlyNewest) {
  ScratchDir tmp;
  TwoVars m;
  Session sess(m.g);
  sess.run(m.init);
  for (int keep : {0, -1}) {
    Saver saver(m.g, {.max_to_keep = keep});
    const std::string p = tmp.file("k" + std::to_string(keep + 1));
    for (int step = 1; step <= 4; ++step) saver.save(sess, p, {.global_step = step});
    EXPECT_TRUE(saver.last_checkpoints().empty());
    for (int step = 1; step <= 4; ++step) EXPECT_TRUE(checkpoint_exists(p + "-" + std::to_string(step)));
    EXPECT_EQ(read_text(tmp.file("checkpoint")),
              "model_checkpoint_path: \"" + p + "-4\"\nall_model_checkpoint_paths: \"" + p +
                  "-4\"\n");
  }
}

TEST(Saver, KeepCheckpointEveryNHoursWithInjectedClock) {
  // TF's KeepCheckpointEveryNHoursTest: N = 0.7 s, max_to_keep = 2.
  ScratchDir tmp;
  TwoVars m;
  Session sess(m.g);
  sess.run(m.init);
  double t = 1000.0;
  Saver saver(m.g, {.max_to_keep = 2,
                    .keep_checkpoint_every_n_hours = 0.7 / 3600,
                    .clock = [&t] { return t; }});
  t += 1.0;
  std::string s1 = saver.save(sess, tmp.file("s1"));
  std::string s2 = saver.save(sess, tmp.file("s2"));
  std::string s3 = saver.save(sess, tmp.file("s3"));  // evicts s1: 1001 > 1000.7, kept
  EXPECT_EQ(saver.last_checkpoints(), (std::vector<std::string>{s2, s3}));
  EXPECT_TRUE(checkpoint_exists(s1));
  std::string s4 = saver.save(sess, tmp.file("s4"));  // evicts s2: 1001 < 1001.4, deleted
  EXPECT_EQ(saver.last_checkpoints(), (std::vector<std::string>{s3, s4}));
  EXPECT_TRUE(checkpoint_exists(s1));
  EXPECT_FALSE(checkpoint_exists(s2));
  EXPECT_FALSE(stdfs::exists(s2 + ".data-00000-of-00001"));
  EXPECT_TRUE(checkpoint_exists(s3));
  EXPECT_TRUE(checkpoint_exists(s4));
}

TEST(Saver, SetAndRecoverLastCheckpoints) {
  ScratchDir tmp;
  TwoVars m;
  Session sess(m.g);
  sess.run(m.init);
  Saver first(m.g, {.max_to_keep = 2});
  for (int step = 1; step <= 3; ++step) first.save(sess, tmp.file("m"), {.global_step = step});
  EXPECT_FALSE(checkpoint_exists(tmp.file("m-1")));

  // set_last_checkpoints: timestamps +inf, so evicted entries are preserved.
  Saver keep(m.g, {.max_to_keep = 1});
  keep.set_last_checkpoints({tmp.file("m-2")});
  keep.save(sess, tmp.file("m"), {.global_step = 4});
  EXPECT_TRUE(checkpoint_exists(tmp.file("m-2")));

  // recover_last_checkpoints: missing ones are skipped, recovered ones get deleted by retention.
  Saver rec(m.g, {.max_to_keep = 1});
  rec.recover_last_checkpoints({tmp.file("m-1"), tmp.file("m-2")});
  EXPECT_EQ(rec.last_checkpoints(), std::vector<std::string>{tmp.file("m-2")});
  rec.save(sess, tmp.file("m"), {.global_step = 5});
  EXPECT_FALSE(checkpoint_exists(tmp.file("m-2")));
  EXPECT_TRUE(checkpoint_exists(tmp.file("m-5")));
}

TEST(Saver, RecoverStatePicksUpHistoryFromStateFile) {
  ScratchDir tmp;
  TwoVars m;
  Session sess(m.g);
  sess.run(m.init);
  {
    Saver first(m.g, {.max_to_keep = 3});
    for (int step = 1; step <= 3; ++step) first.save(sess, tmp.file("m"), {.global_step = step});
  }
  // A plain restarted Saver forgets m-1..m-3 (TF); with recover_state they stay in the window.
  Saver restarted(m.g, {.max_to_keep = 3, .recover_state = true});
  restarted.save(sess, tmp.file("m"), {.global_step = 4});
  EXPECT_EQ(restarted.last_checkpoints(),
            (std::vector<std::string>{tmp.file("m-2"), tmp.file("m-3"), tmp.file("m-4")}));
  EXPECT_FALSE(checkpoint_exists(tmp.file("m-1")));
  restarted.save(sess, tmp.file("m"), {.global_step = 5});
  EXPECT_FALSE(checkpoint_exists(tmp.file("m-2")));
  auto state = get_checkpoint_state(tmp.path());
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->all_model_checkpoint_paths,
            (std::vector<std::string>{tmp.file("m-3"), tmp.file("m-4"), tmp.file("m-5")}));
}

class SaverSharded : public ::testing::TestWithParam<int> {};

TEST_P(SaverSharded, OneDataFilePerDeviceRestoresEqual) {
  const int n = GetParam();
  ScratchDir tmp;
  Graph g;
  std::vector<Variable> vars;
  for (int i = 0; i < 2 * n; ++i) {
    auto scope = g.device("/cpu:" + std::to_string(i % n));
    vars.emplace_back(g, random_normal(g, {3, static_cast<int64_t>(i + 1)}),
                      "var" + std::to_string(i));
  }
  auto init = global_variables_initializer(g);
  Session sess(g, SessionOptions{.cpu_devices = n});
  sess.run(init);
  Saver saver(g, {.sharded = true});
  const std::string p = tmp.file("sharded");
  EXPECT_EQ(saver.save(sess, p, {.global_step = 3}), p + "-3");

  std::vector<std::string> expected{"checkpoint", "sharded-3.index", "sharded-3.meta"};
  for (int i = 0; i < n; ++i) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "sharded-3.data-%05d-of-%05d", i, n);
    expected.push_back(buf);
  }
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(listing(tmp.path()), expected);  // the P_temp_<hex> directory is gone

  io::CheckpointReader reader(p + "-3");
  EXPECT_EQ(reader.tensor_names().size(), vars.size());
  EXPECT_EQ(reader.data_files().size(), static_cast<size_t>(n));

  Session fresh(g, SessionOptions{.cpu_devices = n});
  saver.restore(fresh, p + "-3");
  for (const auto& v : vars) {
    EXPECT_EQ(values(fresh, v), values(sess, v)) << v.name();
    EXPECT_EQ(fresh.variable_value(v.name()).device(), sess.variable_value(v.name()).device());
  }
  // The same saver saves again (same temp suffix) and retention works on sharded checkpoints.
  Saver small(g, {.sharded = true, .max_to_keep = 1});
  small.save(sess, p, {.global_step = 4});
  small.save(sess, p, {.global_step = 5});
  EXPECT_FALSE(checkpoint_exists(p + "-4"));
  EXPECT_FALSE(stdfs::exists(p + "-4.data-00000-of-0000" + std::to_string(n)));
  EXPECT_TRUE(checkpoint_exists(p + "-5"));
}

INSTANTIATE_TEST_SUITE_P(SaverDevices, SaverSharded, ::testing::Values(2, 4, 8));

TEST(Saver, ShardedNameCollisionIsAllowed) {
  ScratchDir tmp;
  TwoVars m;
  Session sess(m.g);
  sess.run(m.init);
  Saver saver(m.g, {.sharded = true});
  KILN_EXPECT_ERROR(saver.save(sess, tmp.file("checkpoint")), InvalidArgumentError,
                    "conflicts with path used for checkpoint state");
}

TEST(Saver, RestoresGoldenTfCheckpoints) {
  {  // V1 (TF's old format) through CheckpointReader.
    Graph g;
    Variable a(g, constant(g, 0.0f), "a");
    Variable b(g, constant(g, 0.0f), "b");
    Saver saver(g);
    Session sess(g);
    saver.restore(sess, tf("v1_half_plus_two/export"));
    EXPECT_EQ(sess.variable_value("a").item<float>(), 0.5f);
    EXPECT_EQ(sess.variable_value("b").item<float>(), 2.0f);
  }
  {  // V2 with renaming through a map.
    Graph g;
    Variable x(g, constant(g, 0.0f), "x");
    Variable y(g, constant(g, 0.0f), "y");
    Saver saver(g, {.var_list = std::map<std::string, Variable>{{"c", x}, {"b", y}}});
    Session sess(g);
    saver.restore(sess, tf("v2_half_plus_two/variables"));
    EXPECT_EQ(sess.variable_value("x").item<float>(), 3.0f);
    EXPECT_EQ(sess.variable_value("y").item<float>(), 2.0f);
  }
}

TEST(Saver, VarListDeferBuildAllowEmptyReshape) {
  ScratchDir tmp;
  TwoVars m;
  Session sess(m.g);
  sess.run(m.init);
  // A list keyed by op name: only v1 is saved.
  Saver only_v1(m.g, {.var_list = {m.v1}});
  std::string p = only_v1.save(sess, tmp.file("v1only"));
  EXPECT_EQ(io::CheckpointReader(p).tensor_names(), std::vector<std::string>{"v1"});

  Saver deferred(m.g, {.defer_build = true});
  EXPECT_FALSE(deferred.built());
  KILN_EXPECT_ERROR(deferred.save(sess, tmp.file("d")), FailedPreconditionError,
                    "`build()` should be called before save if defer_build==True");
  deferred.build();
  EXPECT_EQ(deferred.save(sess, tmp.file("d")), tmp.file("d"));
  KILN_EXPECT_ERROR(Saver(m.g, {.var_list = {m.v1}, .defer_build = true}), InvalidArgumentError,
                    "If `var_list` is provided then build cannot be deferred");

  Graph empty;
  Saver nothing(empty, {.allow_empty = true});
  Session es(empty);
  EXPECT_EQ(nothing.save(es, tmp.file("none")), "");
  EXPECT_FALSE(stdfs::exists(tmp.file("none.index")));
  nothing.restore(es, tmp.file("none"));  // a no-op
  KILN_EXPECT_ERROR(Saver{empty}, InvalidArgumentError, "No variables to save");

  // reshape: [2,3] restored into a [3,2] variable with the same element count.
  Graph g2;
  Variable v2(g2, constant<float>(g2, {0, 0, 0, 0, 0, 0}, Shape{3, 2}), "v2");
  Session s2(g2);
  Saver strict(g2);
  std::string full = Saver(m.g).save(sess, tmp.file("full"));
  KILN_EXPECT_ERROR(strict.restore(s2, full), InvalidArgumentError,
                    "lhs shape= [3,2] rhs shape= [2,3]");
  Saver loose(g2, {.reshape = true});
  loose.restore(s2, full);
  EXPECT_EQ(s2.variable_value("v2").shape(), (Shape{3, 2}));
  EXPECT_EQ(values(s2, v2), (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST(Saver, Errors) {
  ScratchDir tmp;
  TwoVars m;
  Session sess(m.g);
  sess.run(m.init);
  Saver saver(m.g);

  KILN_EXPECT_ERROR(saver.restore(sess, tmp.file("nothing_here")), InvalidArgumentError,
                    "The passed save_path is not a valid checkpoint: " + tmp.file("nothing_here"));
  KILN_EXPECT_ERROR(saver.save(sess, tmp.file("missing/model.ckpt")), NotFoundError,
                    "Parent directory of " + tmp.file("missing/model.ckpt") +
                        " doesn't exist, can't save.");
  EXPECT_FALSE(stdfs::exists(tmp.file("missing")));
  KILN_EXPECT_ERROR(saver.save(sess, tmp.file("checkpoint")), InvalidArgumentError,
                    "'latest_filename' collides with 'save_path': 'checkpoint' and '" +
                        tmp.file("checkpoint") + "'");
  KILN_EXPECT_ERROR(saver.save(sess, tmp.file("latest"), {.latest_filename = "latest"}),
                    InvalidArgumentError, "'latest_filename' collides with 'save_path'");
  KILN_EXPECT_ERROR(saver.save(sess, tmp.file("m"), {.latest_filename = "a/b"}),
                    InvalidArgumentError, "'latest_filename' must not contain path components");
  // With a step there is no collision.
  EXPECT_EQ(saver.save(sess, tmp.file("checkpoint"), {.global_step = 1}),
            tmp.file("checkpoint-1"));

  std::string path = saver.save(sess, tmp.file("model.ckpt"));
  // A variable missing from the checkpoint.
  Graph g3;
  Variable v3(g3, constant<float>(g3, {1, 2}, Shape{1, 2}), "v3");
  Session s3(g3);
  try {
    Saver(g3).restore(s3, path);
    ADD_FAILURE() << "expected NotFoundError";
  } catch (const NotFoundError& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind("Restoring from checkpoint failed.", 0), 0u) << msg;
    EXPECT_NE(msg.find("Key v3 not found in checkpoint"), std::string::npos) << msg;
  }
  // Shape mismatch names both shapes.
  Graph g4;
  Variable v1b(g4, constant<float>(g4, {1, 2, 3}, Shape{3}), "v1");
  Session s4(g4);
  KILN_EXPECT_ERROR(Saver(g4, {.var_list = {v1b}}).restore(s4, path), InvalidArgumentError,
                    "Assign requires shapes of both tensors to match. lhs shape= [3] rhs shape= "
                    "[1,2]");
  KILN_EXPECT_ERROR(Saver(g4, {.var_list = {v1b}, .reshape = true}).restore(s4, path),
                    InvalidArgumentError, "lhs shape= [3] rhs shape= [1,2]");
  // Dtype mismatch.
  Graph g5;
  Variable v1d(g5, constant<double>(g5, {1, 2}, Shape{1, 2}), "v1");
  Session s5(g5);
  try {
    Saver(g5).restore(s5, path);
    ADD_FAILURE() << "expected InvalidArgumentError";
  } catch (const InvalidArgumentError& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind("Restoring from checkpoint failed.", 0), 0u) << msg;
    EXPECT_NE(msg.find("tensor_name = v1; expected dtype"), std::string::npos) << msg;
  }
  EXPECT_FALSE(s5.variable_initialized("v1"));  // nothing assigned by a failed restore
  // Two variables with one checkpoint name.
  KILN_EXPECT_ERROR(Saver(m.g, {.var_list = {m.v1, m.v1}}), InvalidArgumentError,
                    "At least two variables have the same name: v1");
  // A file of a checkpoint instead of its prefix fails to open as a checkpoint.
  EXPECT_THROW(saver.restore(sess, path + ".index"), Error);
}

TEST(Saver, FailedStateWriteDeletesNothing) {
  TwoVars m;
  Session sess(m.g);
  sess.run(m.init);
  io::MemFileSystem mem;
  mem.create_dir("/ck");
  io::FaultInjectingFileSystem fs(&mem);
  using FOp = io::FaultInjectingFileSystem::Op;
  Saver saver(m.g, {.max_to_keep = 1, .fs = &fs});
  saver.save(sess, "/ck/m", {.global_step = 1});
  // The bundle's two renames (data, index) succeed; the state file's rename fails.
  fs.reset();
  fs.fail_on(FOp::kRename, 3);
  EXPECT_THROW(saver.save(sess, "/ck/m", {.global_step = 2}), Error);
  EXPECT_TRUE(kiln::checkpoint_exists("/ck/m-1", &mem));   // the evicted checkpoint is still there
  EXPECT_TRUE(kiln::checkpoint_exists("/ck/m-2", &mem));   // the new bundle itself is complete
  EXPECT_EQ(latest_checkpoint("/ck", "checkpoint", &mem), "/ck/m-1");
  // A later successful save does not delete m-1 behind the state file's back (TF forgets it).
  fs.reset();
  saver.save(sess, "/ck/m", {.global_step = 3});
  EXPECT_TRUE(kiln::checkpoint_exists("/ck/m-1", &mem));
  EXPECT_FALSE(kiln::checkpoint_exists("/ck/m-2", &mem));
  EXPECT_EQ(latest_checkpoint("/ck", "checkpoint", &mem), "/ck/m-3");
  Session fresh(m.g);
  saver.restore(fresh, "/ck/m-3");
  EXPECT_EQ(values(fresh, m.v2), (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST(Saver, FailedShardLeavesNoFilesBehind) {
  Graph g;
  std::vector<Variable> vars;
  for (int i = 0; i < 4; ++i) {
    auto scope = g.device("/cpu:" + std::to_string(i % 2));
    vars.emplace_back(g, random_normal(g, {64}), "w" + std::to_string(i));
  }
  auto init = global_variables_initializer(g);
  Session sess(g, SessionOptions{.cpu_devices = 2});
  sess.run(init);
  io::MemFileSystem mem;
  mem.create_dir("/ck");
  io::FaultInjectingFileSystem fs(&mem);
  Saver saver(g, {.sharded = true, .fs = &fs});
  fs.fail_on(io::FaultInjectingFileSystem::Op::kAppend, 2,
             io::FaultInjectingFileSystem::Fault::kNoSpace);
  EXPECT_THROW(saver.save(sess, "/ck/m", {.global_step = 1}), ResourceExhaustedError);
  EXPECT_TRUE(mem.list_dir("/ck").empty());  // no temp dir, no index, no state file
  fs.reset();
  EXPECT_EQ(saver.save(sess, "/ck/m", {.global_step = 1}), "/ck/m-1");
  EXPECT_EQ(mem.list_dir("/ck"),
            (std::vector<std::string>{"checkpoint", "m-1.data-00000-of-00002",
                                      "m-1.data-00001-of-00002", "m-1.index", "m-1.meta"}));
}

// Whichever rename of a sharded save fails (a shard's files, the merge's data files, the index,
// the meta graph, the state file), no data file is left without its index and no temp directory
// remains.
TEST(Saver, FailedRenameNeverLeavesOrphanDataFiles) {
  Graph g;
  for (int i = 0; i < 4; ++i) {
    auto scope = g.device("/cpu:" + std::to_string(i % 2));
    Variable(g, random_normal(g, {64}), "w" + std::to_string(i));
  }
  Session sess(g, SessionOptions{.cpu_devices = 2});
  sess.run(global_variables_initializer(g));
  bool succeeded = false;
  for (int k = 1; k <= 40 && !succeeded; ++k) {
    io::MemFileSystem mem;
    mem.create_dir("/ck");
    io::FaultInjectingFileSystem fs(&mem);
    Saver saver(g, {.sharded = true, .fs = &fs});
    fs.fail_on(io::FaultInjectingFileSystem::Op::kRename, k);
    try {
      saver.save(sess, "/ck/m", {.global_step = 1});
      succeeded = true;
    } catch (const Error&) {
    }
    std::vector<std::string> files = mem.list_dir("/ck");
    bool has_index = std::count(files.begin(), files.end(), "m-1.index") > 0;
    for (const auto& f : files) {
      EXPECT_EQ(f.find("_temp_"), std::string::npos) << "rename " << k << " left " << f;
      if (f.rfind("m-1.data-", 0) == 0) {
        EXPECT_TRUE(has_index) << "rename " << k << " left " << f;
      }
    }
  }
  EXPECT_TRUE(succeeded) << "a save with no fault left must succeed";
}

TEST(SaverCheckpointManagement, StateFunctions) {
  ScratchDir tmp;
  EXPECT_FALSE(latest_checkpoint(tmp.path()).has_value());
  EXPECT_FALSE(get_checkpoint_state(tmp.path()).has_value());

  // TF's own state file (absolute paths that do not exist here).
  auto golden = get_checkpoint_state(tf("state_file"));
  ASSERT_TRUE(golden.has_value());
  EXPECT_EQ(golden->model_checkpoint_path, "/tmp/bad_half_plus_two/00000123/export");
  EXPECT_FALSE(latest_checkpoint(tf("state_file")).has_value());

  std::ofstream(tmp.file("checkpoint")) << "all_model_checkpoint_paths: \"x\"\n";
  KILN_EXPECT_ERROR(get_checkpoint_state(tmp.path()), InvalidArgumentError,
                    "Invalid checkpoint state loaded from " + tmp.path());
  std::ofstream(tmp.file("checkpoint")) << "this is not a proto {";
  EXPECT_FALSE(get_checkpoint_state(tmp.path()).has_value());

  // Relative paths are joined onto the directory without normalization.
  TwoVars m;
  Session sess(m.g);
  sess.run(m.init);
  Saver(m.g).save(sess, tmp.file("model.ckpt"), {.write_state = false});
  std::ofstream(tmp.file("checkpoint"))
      << "model_checkpoint_path: \"./model.ckpt\"\nall_model_checkpoint_paths: \"./model.ckpt\"\n";
  EXPECT_EQ(latest_checkpoint(tmp.path()), tmp.path() + "/./model.ckpt");
  EXPECT_TRUE(checkpoint_exists(tmp.file("model.ckpt")));
  EXPECT_TRUE(checkpoint_exists(tf("v1_half_plus_two/export")));
  EXPECT_FALSE(checkpoint_exists(tmp.file("nope")));

  std::ofstream(tmp.file("model.ckpt.meta")) << "meta";
  std::ofstream(tmp.file("model.ckpt.other")) << "kept";
  remove_checkpoint(tmp.file("model.ckpt"));
  EXPECT_EQ(listing(tmp.path()), (std::vector<std::string>{"checkpoint", "model.ckpt.other"}));
  remove_checkpoint(tmp.file("model.ckpt"));  // already gone: no error
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

// restore_sequentially's promise, kept by every kiln restore: one variable at a time, so the
// memory beyond the variables themselves peaks at the largest one (TF's
// restore_sequentially=True; TF's default reads everything first).
TEST(Saver, RestorePeakMemoryIsTheLargestVariable) {
  ScratchDir tmp;
  Graph g;
  const std::vector<int64_t> sizes_mib{1, 2, 4, 3};
  int64_t total = 0, largest = 0;
  for (size_t i = 0; i < sizes_mib.size(); ++i) {
    int64_t n = sizes_mib[i] * (1 << 20) / 4;
    Variable(g, random_uniform(g, {n}), "v" + std::to_string(i));
    total += n * 4;
    largest = std::max(largest, n * 4);
  }
  Saver saver(g, {.restore_sequentially = true});
  Session sess(g);
  sess.run(global_variables_initializer(g));
  std::string path = saver.save(sess, tmp.file("m"));

  Allocator* host = host_allocator();
  const int64_t slack = 256 << 10;  // index block, small tensors, rounding
  {
    // Into initialized variables: each new value coexists with the old one only while it lands.
    int64_t before = host->stats().bytes_in_use;
    host->reset_peak();
    saver.restore(sess, path);
    int64_t extra = host->stats().peak_bytes_in_use - before;
    EXPECT_LE(extra, largest + slack) << "total " << total;
    EXPECT_GE(extra, largest) << "the peak must at least hold the largest variable once";
  }
  {
    // Into a fresh session: the peak is the restored variables, nothing more.
    Session fresh(g);
    int64_t before = host->stats().bytes_in_use;
    host->reset_peak();
    saver.restore(fresh, path);
    EXPECT_LE(host->stats().peak_bytes_in_use - before, total + slack);
    EXPECT_EQ(fresh.variable_value("v2").to_vector<float>(), sess.variable_value("v2").to_vector<float>());
  }
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

// ---- Leftovers of crashed saves (commit protocol step 0, io/saver.h) ----

// What a save killed at various points leaves behind, and look-alikes that must survive.
const char kHex32[] = "0123456789abcdef0123456789abcdef";

std::vector<std::string> leftover_files() {
  return {"m-3.index.tempstate123",
          "m-3.data-00000-of-00003.tempstate99",
          "m-3.data-00002-of-00003.tempstate18446744073709551615",
          "checkpoint.tmp42",
          "m-3.meta.tmp7"};
}
std::vector<std::string> lookalike_files() {
  return {"m-3.index.tempstate",                       // no digits
          "m-3.index.tempstate12x",                    // not only digits
          "m-3.data-0-of-1.tempstate5",                // shard numbers not 5 digits
          "my.tempstate1",                             // not a bundle file name
          ".index.tempstate1",                         // empty base
          "notes.tmp1",                                // .tmp of a file the Saver never writes
          "checkpoint.tmp",                            // no digits
          "checkpoint.tmp1a",
          "m-2.index",                                 // a real checkpoint's files
          "m-2.data-00000-of-00001",
          std::string("z_temp_") + kHex32};            // a plain FILE with a temp dir's name
}

// Directories named like sharded temp dirs (removed) and look-alikes (kept).
std::vector<std::string> leftover_dirs() {
  return {std::string("m-3_temp_") + kHex32, std::string("other_temp_") + kHex32};
}
std::vector<std::string> lookalike_dirs() {
  return {std::string("m-3_temp_") + std::string(kHex32).substr(1),        // 31 hex digits
          std::string("m-3_temp_") + "0123456789ABCDEF0123456789ABCDEF",   // upper case
          std::string("_temp_") + kHex32,                                  // nothing before _temp_
          std::string("m-3_temp_") + kHex32 + "x"};
}

TEST(SaverLeftovers, SaveRemovesLeftoversOfCrashedSavesAndNothingElse) {
  for (bool sharded : {false, true}) {
    Graph g;
    for (int i = 0; i < 3; ++i) {
      auto scope = g.device("/cpu:" + std::to_string(i));
      Variable(g, constant<float>(g, {1.f * i, 2.f * i}, Shape{2}), "w" + std::to_string(i));
    }
    Session sess(g, SessionOptions{.cpu_devices = 3});
    sess.run(global_variables_initializer(g));
    io::MemFileSystem mem;
    mem.create_dir("/ck");
    for (const auto& f : leftover_files()) mem.set_contents("/ck/" + f, "x");
    for (const auto& f : lookalike_files()) mem.set_contents("/ck/" + f, "keep");
    for (const auto& d : leftover_dirs()) {
      mem.create_dir("/ck/" + d);
      mem.set_contents("/ck/" + d + "/part-00000-of-00003.index", "x");
      mem.set_contents("/ck/" + d + "/part-00001-of-00003.data-00000-of-00001.tempstate5", "x");
    }
    for (const auto& d : lookalike_dirs()) {
      mem.create_dir("/ck/" + d);
      mem.set_contents("/ck/" + d + "/part-00000-of-00003.index", "keep");
    }
    // A temp-named directory that holds something the sharded writer never writes: its part
    // files go, the directory and the foreign file stay.
    const std::string mixed = std::string("x_temp_") + std::string(kHex32).replace(0, 1, "f");
    mem.create_dir("/ck/" + mixed);
    mem.set_contents("/ck/" + mixed + "/part-00000-of-00001.index", "x");
    mem.set_contents("/ck/" + mixed + "/README", "keep");

    Saver saver(g, {.sharded = sharded, .fs = &mem});
    EXPECT_EQ(saver.save(sess, "/ck/m", {.global_step = 4}), "/ck/m-4");

    std::vector<std::string> expected = lookalike_files();
    for (const auto& d : lookalike_dirs()) expected.push_back(d);
    expected.push_back(mixed);
    expected.push_back("checkpoint");
    expected.push_back("m-4.index");
    expected.push_back("m-4.meta");
    const int shards = sharded ? 3 : 1;
    for (int i = 0; i < shards; ++i)
      expected.push_back("m-4.data-0000" + std::to_string(i) + "-of-0000" + std::to_string(shards));
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(mem.list_dir("/ck"), expected) << "sharded=" << sharded;
    for (const auto& f : lookalike_files()) EXPECT_EQ(mem.get_contents("/ck/" + f), "keep") << f;
    for (const auto& d : lookalike_dirs())
      EXPECT_EQ(mem.list_dir("/ck/" + d), std::vector<std::string>{"part-00000-of-00003.index"});
    EXPECT_EQ(mem.list_dir("/ck/" + mixed), std::vector<std::string>{"README"});
    Session fresh(g, SessionOptions{.cpu_devices = 3});
    saver.restore(fresh, "/ck/m-4");
    EXPECT_EQ(fresh.variable_value("w2").to_vector<float>(), (std::vector<float>{2, 4}));
  }
}

// The same on the POSIX file system, with a custom latest_filename and meta suffix, and a
// leftover sharded temp directory exactly as a killed TF-style sharded save leaves it.
TEST(SaverLeftovers, RealDirectoryWithCustomStateAndMetaNames) {
  ScratchDir tmp;
  TwoVars m;
  Session sess(m.g);
  sess.run(m.init);
  auto touch = [&](const std::string& name) { std::ofstream(tmp.file(name)) << "x"; };
  touch("state.tmp77");
  touch("model-1.index.tempstate5");
  touch("model-1.mg.tmp3");
  touch("model-1.meta.tmp3");  // .meta is not this save's suffix, but the default one: kept
  touch("state.tmp");
  const std::string dir = std::string("model-1_temp_") + kHex32;
  stdfs::create_directory(tmp.file(dir));
  touch(dir + "/part-00000-of-00002.data-00000-of-00001");
  touch(dir + "/part-00001-of-00002.index.tempstate9");
  Saver saver(m.g);
  saver.save(sess, tmp.file("model"), {.global_step = 2, .latest_filename = "state",
                                        .meta_graph_suffix = "mg"});
  EXPECT_EQ(listing(tmp.path()),
            (std::vector<std::string>{"model-1.meta.tmp3", "model-2.data-00000-of-00001",
                                      "model-2.index", "model-2.mg", "state", "state.tmp"}));
}

// A FileSystem that, the first time a temporary bundle file is created, runs `hook` (another
// save into the same directory, while the outer one is in flight).
class HookFileSystem final : public io::FileSystem {
 public:
  HookFileSystem(io::FileSystem* base, std::function<void()> hook)
      : base_(base), hook_(std::move(hook)) {}
  std::unique_ptr<io::WritableFile> new_writable_file(const std::string& path) override {
    auto f = base_->new_writable_file(path);
    if (hook_ && path.find(".tempstate") != std::string::npos) std::exchange(hook_, nullptr)();
    return f;
  }
  std::unique_ptr<io::RandomAccessFile> new_random_access_file(const std::string& p) override {
    return base_->new_random_access_file(p);
  }
  void rename(const std::string& a, const std::string& b) override { base_->rename(a, b); }
  void delete_file(const std::string& p) override { base_->delete_file(p); }
  void delete_dir(const std::string& p) override { base_->delete_dir(p); }
  bool exists(const std::string& p) override { return base_->exists(p); }
  uint64_t file_size(const std::string& p) override { return base_->file_size(p); }
  void create_dir(const std::string& p) override { base_->create_dir(p); }
  std::vector<std::string> list_dir(const std::string& p) override { return base_->list_dir(p); }
  void sync_dir(const std::string& p) override { base_->sync_dir(p); }

 private:
  io::FileSystem* base_;
  std::function<void()> hook_;
};

// A second Saver saving into the same directory while the first one's temporary files exist
// must not sweep them (the first save would then fail its rename).
TEST(SaverLeftovers, SweepSparesTemporaryFilesOfASaveInFlight) {
  for (bool sharded : {false, true}) {
    TwoVars m;
    Session sess(m.g);
    sess.run(m.init);
    io::MemFileSystem mem;
    mem.create_dir("/ck");
    Saver inner(m.g, {.fs = &mem});
    HookFileSystem hooked(&mem, [&] {
      EXPECT_EQ(inner.save(sess, "/ck/other", {.global_step = 1, .latest_filename = "other_state"}),
                "/ck/other-1");
    });
    Saver outer(m.g, {.sharded = sharded, .fs = &hooked});
    EXPECT_EQ(outer.save(sess, "/ck/m", {.global_step = 1}), "/ck/m-1") << "sharded=" << sharded;
    EXPECT_TRUE(kiln::checkpoint_exists("/ck/m-1", &mem));
    EXPECT_TRUE(kiln::checkpoint_exists("/ck/other-1", &mem));
    Session fresh(m.g);
    outer.restore(fresh, "/ck/m-1");
    EXPECT_EQ(values(fresh, m.v2), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  }
}

}  // namespace
}  // namespace kiln

// ---- Several savers (threads or processes) saving into one directory (io/saver.h, Concurrency) ----

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <atomic>
#include <thread>

#include "io/verify.h"

extern char** environ;

namespace kiln {
namespace {

constexpr int kSharedDirVars = 3;

float shared_dir_value(const std::string& name, int64_t step, int var, int j) {
  return static_cast<float>((name == "a" ? 100000 : 200000) + 100 * step + 10 * var + j);
}

// Saves steps 1..steps under DIR/name with max_to_keep 2 and recover_state (so each saver takes
// the other's listed checkpoints into its history and deletes them by retention).
void shared_dir_save_loop(const std::string& dir, const std::string& name, bool sharded, int steps,
                          io::FileSystem* fs) {
  Graph g;
  std::vector<Variable> vars;
  for (int i = 0; i < kSharedDirVars; ++i) {
    auto scope = g.device("/cpu:" + std::to_string(i % 2));
    vars.emplace_back(g, constant(g, Tensor::from_vector<float>(std::vector<float>(8 * (i + 1)))),
                      "w" + std::to_string(i));
  }
  Session sess(g, SessionOptions{.cpu_devices = 2});
  sess.run(global_variables_initializer(g));
  Saver saver(g, {.sharded = sharded, .max_to_keep = 2, .recover_state = true, .fs = fs});
  for (int step = 1; step <= steps; ++step) {
    for (int i = 0; i < kSharedDirVars; ++i) {
      std::vector<float> v(8 * (i + 1));
      for (size_t j = 0; j < v.size(); ++j) v[j] = shared_dir_value(name, step, i, static_cast<int>(j));
      sess.set_variable_value(vars[i].name(), Tensor::from_vector<float>(v));
    }
    saver.save(sess, io::join_path(dir, name), {.global_step = step});
  }
}

// Checks a checkpoint written by shared_dir_save_loop: sound, and holding the values of its step.
void expect_shared_dir_checkpoint(const std::string& prefix, io::FileSystem* fs) {
  EXPECT_EQ(io::verify_checkpoint(prefix, fs), "") << prefix;
  const std::string base = prefix.substr(prefix.find_last_of('/') + 1);
  const std::string name = base.substr(0, base.find('-'));
  const int64_t step = std::stoll(base.substr(base.find('-') + 1));
  io::CheckpointReader reader(prefix, fs);
  const std::vector<float> w2 = reader.get_tensor("w2").to_vector<float>();
  ASSERT_EQ(w2.size(), 24u);
  EXPECT_EQ(w2[5], shared_dir_value(name, step, 2, 5)) << prefix;
}

// Under the state file's lock (as savers take it): the state file parses and every checkpoint
// it lists exists and verifies. Returns false when there is no state file yet.
bool check_shared_state(const std::string& dir, io::FileSystem* fs) {
  io::FileLock lock(fs, io::join_path(dir, "checkpoint.lock"));
  if (!fs->exists(io::join_path(dir, "checkpoint"))) return false;
  io::CheckpointState state;
  EXPECT_NO_THROW(state = io::read_checkpoint_state(dir, fs)) << "torn or unparsable state file";
  EXPECT_FALSE(state.model_checkpoint_path.empty());
  for (const auto& p : state.all_model_checkpoint_paths)
    expect_shared_dir_checkpoint(io::resolve_checkpoint_path(dir, p), fs);
  return true;
}

void expect_no_temp_names(const std::string& dir, io::FileSystem* fs) {
  for (const std::string& name : fs->list_dir(dir)) {
    EXPECT_EQ(name.find(".tempstate"), std::string::npos) << name;
    EXPECT_EQ(name.find(".tmp"), std::string::npos) << name;
    EXPECT_EQ(name.find("_temp_"), std::string::npos) << name;
  }
}

// The child side of TwoProcessesSaveIntoOneDirectory (run only by it, in a child process).
TEST(SaverTwoProcesses, DISABLED_ChildSaveLoop) {
  const char* dir = std::getenv("KILN_SHARED_DIR");
  const char* name = std::getenv("KILN_SHARED_NAME");
  ASSERT_TRUE(dir && name);
  const bool sharded = std::string(name) == "a";
  shared_dir_save_loop(dir, name, sharded, std::atoi(std::getenv("KILN_SHARED_STEPS")), nullptr);
}

pid_t spawn_child(const std::string& dir, const std::string& name, int steps) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  env.push_back("KILN_SHARED_DIR=" + dir);
  env.push_back("KILN_SHARED_NAME=" + name);
  env.push_back("KILN_SHARED_STEPS=" + std::to_string(steps));
  std::vector<std::string> args{"kiln_io_tests",
                                "--gtest_filter=SaverTwoProcesses.DISABLED_ChildSaveLoop",
                                "--gtest_also_run_disabled_tests"};
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  EXPECT_EQ(rc, 0);
  return rc == 0 ? pid : -1;
}

// Two processes (one sharded, one not, both with recover_state and max_to_keep 2) save 25 times
// each into one directory, sharing its `checkpoint` state file. Meanwhile, and at the end, the
// state file (read under its lock) always parses and every checkpoint it lists exists, verifies
// and holds its step's values; neither process's save fails (the sweep never deletes the other's
// in-flight temporary files), and no temporary file is left.
TEST(SaverTwoProcesses, TwoProcessesSaveIntoOneDirectory) {
  ScratchDir tmp;
  const int steps = 25;
  pid_t a = spawn_child(tmp.path(), "a", steps);
  pid_t b = spawn_child(tmp.path(), "b", steps);
  ASSERT_GT(a, 0);
  ASSERT_GT(b, 0);
  int status_a = -1, status_b = -1, observed = 0;
  while (status_a == -1 || status_b == -1) {
    if (check_shared_state(tmp.path(), io::posix_file_system())) ++observed;
    if (status_a == -1 && waitpid(a, &status_a, WNOHANG) == 0) status_a = -1;
    if (status_b == -1 && waitpid(b, &status_b, WNOHANG) == 0) status_b = -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_TRUE(WIFEXITED(status_a) && WEXITSTATUS(status_a) == 0) << "child a: " << status_a;
  EXPECT_TRUE(WIFEXITED(status_b) && WEXITSTATUS(status_b) == 0) << "child b: " << status_b;
  EXPECT_TRUE(check_shared_state(tmp.path(), io::posix_file_system()));
  EXPECT_GT(observed, 0);
  expect_no_temp_names(tmp.path(), io::posix_file_system());
  auto latest = io::latest_checkpoint(tmp.path());
  ASSERT_TRUE(latest.has_value());
  EXPECT_TRUE(latest->ends_with("a-25") || latest->ends_with("b-25")) << *latest;
  EXPECT_TRUE(stdfs::exists(tmp.file("checkpoint.lock")));
  std::cout << "[ two processes ] state file checked " << observed << " times while saving\n";
}

// The same with two threads of one process (separate Saver objects), on the POSIX file system
// and on MemFileSystem (where the locks are process-wide mutexes and no lock file is made).
TEST(SaverTwoProcesses, TwoThreadsSaveIntoOneDirectory) {
  for (bool posix : {true, false}) {
    SCOPED_TRACE(posix ? "posix" : "mem");
    ScratchDir tmp;
    io::MemFileSystem mem;
    mem.create_dir("/ck");
    io::FileSystem* fs = posix ? io::posix_file_system() : &mem;
    const std::string dir = posix ? tmp.path() : "/ck";
    std::atomic<int> done{0};
    auto run = [&](const std::string& name, bool sharded) {
      try {
        shared_dir_save_loop(dir, name, sharded, 20, fs);
      } catch (const std::exception& e) {
        ADD_FAILURE() << name << ": " << e.what();
      }
      ++done;
    };
    std::thread ta(run, "a", true), tb(run, "b", false);
    int observed = 0;
    while (done < 2)
      if (check_shared_state(dir, fs)) ++observed;
    ta.join();
    tb.join();
    EXPECT_TRUE(check_shared_state(dir, fs));
    expect_no_temp_names(dir, fs);
    if (!posix) {
      EXPECT_FALSE(mem.exists("/ck/checkpoint.lock"));
    }
  }
}

}  // namespace
}  // namespace kiln

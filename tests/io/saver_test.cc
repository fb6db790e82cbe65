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
#include "saver_test_util.h"
#include "kiln/kiln.h"

namespace kiln {
namespace {

using namespace saver_testing;

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

// Saver::save_async (issue 5): the snapshot is consistent while training keeps changing the
// variables, the state file names the checkpoint only once it is durable, one save in flight
// per Saver, failures reach wait() (and the next save when nobody waited), and a Saver that goes
// away finishes its save first. Files are written through a SlowFileSystem so the save is
// really still running while the test trains or looks.
#include <gtest/gtest.h>

#include <chrono>

#include "core/pinned_pool.h"
#include "io/fault_file_system.h"
#include "io/verify.h"
#include "saver_test_util.h"
#include "slow_file_system.h"

namespace kiln {
namespace {

using namespace saver_testing;
using io::testing::SlowFileSystem;

// w (CPU, 1M floats = 4 MiB, so the data file takes many appends) and a step that adds 1.
struct Counter {
  Graph g;
  Variable w{g, zeros(g, {1 << 20}, DType::kFloat), "w"};
  Variable small{g, constant<float>(g, {7, 8, 9}, Shape{3}), "small"};
  Output step = w.assign_add(ones(g, {1 << 20}, DType::kFloat));
  Operation init = global_variables_initializer(g);
};

float first_value(const Tensor& t) { return t.to_host().data<float>()[0]; }

TEST(SaverAsync, SnapshotIsConsistentWhileTrainingRuns) {
  ScratchDir tmp;
  Counter m;
  Session sess(m.g);
  sess.run(m.init);
  for (int i = 0; i < 3; ++i) sess.run(m.step);  // w == 3 everywhere
  SlowFileSystem slow(io::posix_file_system(), std::chrono::milliseconds(2));
  Saver saver(m.g, {.fs = &slow});
  SaveHandle h = saver.save_async(sess, tmp.file("model"), {.global_step = 3});
  int steps_during_save = 0;
  while (!h.done()) {
    sess.run(m.step);
    ++steps_during_save;
  }
  EXPECT_EQ(h.wait(), tmp.file("model-3"));
  EXPECT_GT(steps_during_save, 0) << "the save finished before training could run beside it";

  // The checkpoint holds the values of the moment save_async was called...
  io::CheckpointReader reader(tmp.file("model-3"));
  const Tensor saved = reader.get_tensor("w");
  const float* p = saved.data<float>();
  for (int64_t i = 0; i < saved.num_elements(); ++i) ASSERT_EQ(p[i], 3.0f) << i;
  EXPECT_NO_THROW(io::verify_checkpoint(tmp.file("model-3")));
  // ...and training lost none of its updates.
  const Tensor now = sess.variable_value("w");
  for (int64_t i = 0; i < now.num_elements(); i += 4099)
    ASSERT_EQ(now.data<float>()[i], 3.0f + steps_during_save);
}

TEST(SaverAsync, StateFileNamesTheCheckpointOnlyWhenItIsDurable) {
  ScratchDir tmp;
  Counter m;
  Session sess(m.g);
  sess.run(m.init);
  SlowFileSystem slow(io::posix_file_system(), std::chrono::milliseconds(3));
  Saver saver(m.g, {.fs = &slow});
  EXPECT_EQ(saver.save(sess, tmp.file("model"), {.global_step = 1}), tmp.file("model-1"));
  SaveHandle h = saver.save_async(sess, tmp.file("model"), {.global_step = 2});
  int looks = 0;
  while (!h.done()) {
    auto latest = latest_checkpoint(tmp.path());
    ASSERT_TRUE(latest.has_value());
    if (*latest == tmp.file("model-2")) {
      // Named in the state file: by then the checkpoint must be complete.
      EXPECT_NO_THROW(io::verify_checkpoint(*latest));
    } else {
      EXPECT_EQ(*latest, tmp.file("model-1"));
    }
    ++looks;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_GT(looks, 0);
  h.wait();
  EXPECT_EQ(latest_checkpoint(tmp.path()), tmp.file("model-2"));
}

TEST(SaverAsync, OneSaveInFlightAndRetentionAsSave) {
  ScratchDir tmp;
  Counter m;
  Session sess(m.g);
  sess.run(m.init);
  SlowFileSystem slow(io::posix_file_system(), std::chrono::milliseconds(1));
  Saver saver(m.g, {.max_to_keep = 2, .fs = &slow});
  std::vector<SaveHandle> handles;
  for (int step = 1; step <= 4; ++step) {
    sess.run(m.step);
    handles.push_back(saver.save_async(sess, tmp.file("model"), {.global_step = step}));
    // A second save_async waits for the first: every earlier one is done when it returns.
    for (size_t i = 0; i + 1 < handles.size(); ++i) EXPECT_TRUE(handles[i].done());
  }
  for (int step = 1; step <= 4; ++step)
    EXPECT_EQ(handles[step - 1].wait(), tmp.file("model-" + std::to_string(step)));
  EXPECT_EQ(saver.last_checkpoints(),
            (std::vector<std::string>{tmp.file("model-3"), tmp.file("model-4")}));
  EXPECT_FALSE(checkpoint_exists(tmp.file("model-1")));
  EXPECT_FALSE(checkpoint_exists(tmp.file("model-2")));
  io::CheckpointReader r(tmp.file("model-4"));
  EXPECT_EQ(first_value(r.get_tensor("w")), 4.0f);
  EXPECT_EQ(get_checkpoint_state(tmp.path())->all_model_checkpoint_paths,
            (std::vector<std::string>{tmp.file("model-3"), tmp.file("model-4")}));
}

TEST(SaverAsync, FailureReachesWaitAndThePreviousCheckpointSurvives) {
  ScratchDir tmp;
  Counter m;
  Session sess(m.g);
  sess.run(m.init);
  io::FaultInjectingFileSystem faulty(io::posix_file_system());
  Saver saver(m.g, {.fs = &faulty});
  saver.save(sess, tmp.file("model"), {.global_step = 1});
  faulty.fail_on(io::FaultInjectingFileSystem::Op::kAppend, 2,
                 io::FaultInjectingFileSystem::Fault::kNoSpace);
  SaveHandle h = saver.save_async(sess, tmp.file("model"), {.global_step = 2});
  EXPECT_THROW(h.wait(), ResourceExhaustedError);
  EXPECT_THROW(h.wait(), ResourceExhaustedError);  // every call
  EXPECT_TRUE(h.done());
  EXPECT_EQ(latest_checkpoint(tmp.path()), tmp.file("model-1"));
  EXPECT_NO_THROW(io::verify_checkpoint(tmp.file("model-1")));
  EXPECT_FALSE(checkpoint_exists(tmp.file("model-2")));
  // A later save works and the failed one left nothing behind.
  EXPECT_EQ(saver.save(sess, tmp.file("model"), {.global_step = 3}), tmp.file("model-3"));
  for (const auto& name : listing(tmp.path())) EXPECT_EQ(name.find("model-2"), std::string::npos) << name;
}

TEST(SaverAsync, AnUnseenFailureIsThrownByTheNextSave) {
  ScratchDir tmp;
  Counter m;
  Session sess(m.g);
  sess.run(m.init);
  io::FaultInjectingFileSystem faulty(io::posix_file_system());
  Saver saver(m.g, {.fs = &faulty});
  faulty.fail_on(io::FaultInjectingFileSystem::Op::kRename, 1);
  saver.save_async(sess, tmp.file("model"), {.global_step = 1});  // handle dropped
  EXPECT_THROW(saver.save_async(sess, tmp.file("model"), {.global_step = 2}), UnknownError);
  // Reported once: the save after that goes ahead.
  EXPECT_EQ(saver.save_async(sess, tmp.file("model"), {.global_step = 3}).wait(),
            tmp.file("model-3"));
}

TEST(SaverAsync, DestroyingTheSaverFinishesTheSave) {
  ScratchDir tmp;
  Counter m;
  Session sess(m.g);
  sess.run(m.init);
  SlowFileSystem slow(io::posix_file_system(), std::chrono::milliseconds(1));
  {
    Saver saver(m.g, {.fs = &slow});
    saver.save_async(sess, tmp.file("model"), {.global_step = 5});
  }
  EXPECT_EQ(latest_checkpoint(tmp.path()), tmp.file("model-5"));
  EXPECT_NO_THROW(io::verify_checkpoint(tmp.file("model-5")));
}

TEST(SaverAsync, ShardedOverDevicesWithMetaGraph) {
  ScratchDir tmp;
  Graph g;
  std::vector<Variable> vars;
  for (int i = 0; i < 6; ++i) {
    auto scope = g.device("/cpu:" + std::to_string(i % 3));
    vars.emplace_back(g, random_normal(g, {64, 100 + i}), "v" + std::to_string(i));
  }
  auto init = global_variables_initializer(g);
  Session sess(g, SessionOptions{.cpu_devices = 3});
  sess.run(init);
  Saver saver(g, {.sharded = true});
  const std::string p = saver.save_async(sess, tmp.file("s"), {.global_step = 9}).wait();
  EXPECT_EQ(p, tmp.file("s-9"));
  EXPECT_EQ(io::CheckpointReader(p).data_files().size(), 3u);
  Graph g2;
  Saver s2 = import_meta_graph(g2, p + ".meta");
  Session fresh(g2, SessionOptions{.cpu_devices = 3});
  s2.restore(fresh, p);
  for (const auto& v : vars)
    EXPECT_EQ(fresh.variable_value(v.name()).to_vector<float>(), values(sess, v)) << v.name();
}

TEST(SaverAsync, EmptySaverHandleIsDone) {
  Graph g;
  Session sess(g);
  Saver saver(g, {.allow_empty = true});
  ScratchDir tmp;
  SaveHandle h = saver.save_async(sess, tmp.file("m"));
  EXPECT_TRUE(h.done());
  EXPECT_EQ(h.wait(), "");
  EXPECT_THROW(SaveHandle().wait(), FailedPreconditionError);
}

TEST(SaverAsync, GpuVariablesSnapshotOnTheDevice) {
  if (gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  for (bool on_device : {true, false}) {
    ScratchDir tmp;
    Counter m;  // placed on /gpu:0
    Session sess(m.g);
    sess.run(m.init);
    sess.run(m.step);
    SlowFileSystem slow(io::posix_file_system(), std::chrono::milliseconds(2));
    SaverOptions o{.fs = &slow};
    o.io.snapshot_on_device = on_device;
    o.io.staging_buffer_bytes = (256 << 10) + 4096;  // many chunks, the last one short
    Saver saver(m.g, o);
    Allocator* pinned = pinned_host_allocator();
    pinned->reset_peak();
    const int64_t pinned_before = pinned->stats().bytes_in_use;
    SaveHandle h = saver.save_async(sess, tmp.file("g"), {.global_step = 1});
    // The snapshot went where it was asked to: spare GPU memory, or pinned host memory.
    const int64_t pinned_used = pinned->stats().peak_bytes_in_use - pinned_before;
    if (on_device)
      EXPECT_EQ(pinned_used, 0);
    else
      EXPECT_GE(pinned_used, int64_t{4} << 20);
    int steps = 0;
    while (!h.done()) {
      sess.run(m.step);
      ++steps;
    }
    h.wait();
    EXPECT_GT(steps, 0);
    const Tensor saved = io::CheckpointReader(tmp.file("g-1")).get_tensor("w");
    for (int64_t i = 0; i < saved.num_elements(); ++i) ASSERT_EQ(saved.data<float>()[i], 1.0f);
    EXPECT_EQ(first_value(sess.variable_value("w")), 1.0f + steps);
  }
}

}  // namespace
}  // namespace kiln

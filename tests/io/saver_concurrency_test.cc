// Several savers (threads, and real processes) saving into one directory (io/saver.h,
// "Concurrency"): the state file is never torn and every checkpoint it lists verifies.
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
#include "saver_test_util.h"

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

using namespace saver_testing;
namespace stdfs = std::filesystem;

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

// Exact resume of the training demo (examples/train_mlp), with real process restarts: N steps
// in one run must give the same per-step losses and bit-identical variables (weights, Adam
// slots, beta powers, global_step) as K steps, a fresh process restoring the latest checkpoint
// and the remaining N-K steps. Also when the first process is stopped by SIGINT at whatever step
// it has reached. On a CPU-only machine the runs train on logical CPU devices; where a GPU
// exists the demo trains there and this compares GPU runs with each other.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/checkpoint_reader.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;

// The demo's path, set by tests/CMakeLists.txt when the examples are built.
#ifndef KILN_TRAIN_MLP_BIN
#define KILN_TRAIN_MLP_BIN ""
#endif

const std::vector<std::string> kModel = {"--hidden", "16,16", "--batch-size", "32", "--log-every", "1000",
                                         "--seed", "5", "--lr", "0.02"};

struct Result {
  int status = -1;
  std::string output;
  std::string last_line() const {
    std::string s = output;
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s.substr(s.rfind('\n') == std::string::npos ? 0 : s.rfind('\n') + 1);
  }
};

class ResumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string(KILN_TRAIN_MLP_BIN).empty()) GTEST_SKIP() << "built without the examples (KILN_BUILD_EXAMPLES=OFF)";
    dir_ = fs::temp_directory_path() / ("kiln_resume_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty() && !HasFailure()) fs::remove_all(dir_);
  }

  std::vector<std::string> args(const std::string& run, int64_t steps, std::vector<std::string> extra = {}) {
    std::vector<std::string> a = {KILN_TRAIN_MLP_BIN, "--steps", std::to_string(steps), "--checkpoint-dir",
                                  (dir_ / run).string(), "--loss-log", (dir_ / (run + ".losses")).string()};
    a.insert(a.end(), kModel.begin(), kModel.end());
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  // Starts the program with stdout+stderr to `log`; returns its pid.
  pid_t spawn(const std::vector<std::string>& argv, const fs::path& log) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<char*> c;
    for (const auto& s : argv) c.push_back(const_cast<char*>(s.c_str()));
    c.push_back(nullptr);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, c[0], &actions, nullptr, c.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    EXPECT_EQ(rc, 0) << "cannot start " << argv[0] << ": " << std::strerror(rc);
    return pid;
  }

  Result wait_for(pid_t pid, const fs::path& log) {
    Result r;
    int status = 0;
    waitpid(pid, &status, 0);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::ifstream in(log);
    std::stringstream ss;
    ss << in.rdbuf();
    r.output = ss.str();
    return r;
  }

  Result run(const std::vector<std::string>& argv) {
    fs::path log = dir_ / ("out_" + std::to_string(runs_++) + ".txt");
    return wait_for(spawn(argv, log), log);
  }

  std::vector<std::string> lines(const std::string& file) {
    std::ifstream in(dir_ / file);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }

  // Every tensor of the two checkpoints has the same name, dtype, shape and bytes.
  void expect_identical_checkpoints(const std::string& a, const std::string& b) {
    kiln::io::CheckpointReader ra(a), rb(b);
    ASSERT_EQ(ra.tensor_names(), rb.tensor_names());
    EXPECT_GE(ra.tensor_names().size(), 12u) << "weights, biases, Adam slots, beta powers, global_step";
    for (const std::string& name : ra.tensor_names()) {
      kiln::Tensor ta = ra.get_tensor(name), tb = rb.get_tensor(name);
      ASSERT_EQ(ta.dtype(), tb.dtype()) << name;
      ASSERT_EQ(ta.shape(), tb.shape()) << name;
      EXPECT_EQ(std::memcmp(ta.raw_data(), tb.raw_data(), ta.bytes()), 0) << name << " differs";
    }
  }

  fs::path dir_;
  int runs_ = 0;
};

TEST_F(ResumeTest, RestartedRunIsBitIdenticalToAStraightRun) {
  const std::vector<std::string> two_devices = {"--devices", "2", "--save-every", "20"};
  Result straight = run(args("straight", 60, two_devices));
  ASSERT_EQ(straight.status, 0) << straight.output;
  EXPECT_EQ(straight.last_line().rfind("global_step=60 final_loss=", 0), 0u) << straight.last_line();
  EXPECT_NE(straight.last_line().find("resumed_from=none"), std::string::npos) << straight.last_line();

  Result first = run(args("split", 25, two_devices));
  ASSERT_EQ(first.status, 0) << first.output;
  Result second = run(args("split", 60, two_devices));
  ASSERT_EQ(second.status, 0) << second.output;
  EXPECT_NE(second.output.find("resumed from"), std::string::npos) << second.output;
  EXPECT_NE(second.last_line().find("resumed_from=25"), std::string::npos) << second.last_line();

  std::vector<std::string> a = lines("straight.losses"), b = lines("split.losses");
  ASSERT_EQ(a.size(), 60u);
  EXPECT_EQ(a, b) << "the loss curves differ";
  EXPECT_TRUE(fs::exists(dir_ / "split" / "model.ckpt-60.data-00001-of-00002")) << "one shard per device";
  expect_identical_checkpoints((dir_ / "straight" / "model.ckpt-60").string(),
                               (dir_ / "split" / "model.ckpt-60").string());
  // Same final line apart from where it resumed.
  auto head = [](const std::string& l) { return l.substr(0, l.find(" resumed_from=")); };
  EXPECT_EQ(head(straight.last_line()), head(second.last_line()));
}

TEST_F(ResumeTest, InterruptedRunSavesAndResumesBitIdentically) {
  // A long run stopped by SIGINT once it is training, wherever it has got to.
  fs::path log = dir_ / "interrupted.txt";
  pid_t pid = spawn(args("split", 1000000, {"--save-every", "1000000"}), log);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (lines("split.losses").size() < 5 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_GE(lines("split.losses").size(), 5u) << "the run never started training";
  kill(pid, SIGINT);
  Result stopped = wait_for(pid, log);
  EXPECT_EQ(stopped.status, 130) << stopped.output;
  EXPECT_NE(stopped.output.find("saving a final checkpoint"), std::string::npos) << stopped.output;
  const int64_t reached = static_cast<int64_t>(lines("split.losses").size());
  ASSERT_TRUE(fs::exists(dir_ / "split" / ("model.ckpt-" + std::to_string(reached) + ".index")))
      << "no checkpoint at the step it stopped (" << reached << ")\n" << stopped.output;

  const int64_t total = reached + 30;
  Result resumed = run(args("split", total));
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_NE(resumed.last_line().find("resumed_from=" + std::to_string(reached)), std::string::npos)
      << resumed.last_line();
  Result straight = run(args("straight", total));
  ASSERT_EQ(straight.status, 0) << straight.output;
  EXPECT_EQ(lines("straight.losses"), lines("split.losses"));
  const std::string name = "model.ckpt-" + std::to_string(total);
  expect_identical_checkpoints((dir_ / "straight" / name).string(), (dir_ / "split" / name).string());
}

}  // namespace

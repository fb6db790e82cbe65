// The child of the kill test (scripts/kill_test.sh, CTest kiln_kill_test): a training job that
// does nothing but save, so that SIGKILL lands inside Saver::save at random moments.
//
//   kiln_kill_saver_child DIR [LAST_STEP]
//       Restores DIR's latest checkpoint if there is one (and checks it), then for
//       step = latest + 1, latest + 2, ... (up to LAST_STEP when given, else forever): sets every
//       variable to values(step, i), saves DIR/model-STEP (sharded over 3 logical CPUs,
//       max_to_keep 3, recover_state so a restarted job keeps deleting old checkpoints) and
//       prints STEP on its own line once save() has returned.
//       With KILN_KILL_ASYNC=1 in the environment each save is a save_async(): right after it
//       returns, the variables are overwritten (as training would), then the handle is waited
//       for and STEP printed; the checkpoint must still hold values(step, i).
//   kiln_kill_saver_child --check DIR MIN_STEP [--clean]
//       What must hold after a kill, when MIN_STEP is the highest step known complete (printed
//       by a child, or found by the previous check; 0: none yet): latest_checkpoint(DIR) exists
//       (unless MIN_STEP is 0 and there is none), its step is MIN_STEP or MIN_STEP + 1 (the
//       killed child's save whose state file was committed before its print), it
//       passes verify_checkpoint (`kiln verify`), restores, and holds exactly values(step, i) and
//       global_step = step; every checkpoint the state file lists exists and verifies.
//       --clean (after a child ran to completion): no temporary file or temp directory is left.
//       Prints latest_step=N; exit 0 when all hold, 1 with one line per problem on stderr.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include <kiln/kiln.h>

#include "io/checkpoint_state.h"
#include "io/verify.h"

namespace k = kiln;

namespace {

constexpr int kVars = 6;
constexpr int kDevices = 3;

int64_t var_size(int i) { return 40000 + 1237 * i; }  // ~1 MB per checkpoint: saves take a while

// Exact in float32: below 2^24.
float value(int64_t step, int i, int64_t j) {
  return static_cast<float>((step % 10007) * 1000 + i * 100 + j % 97);
}

std::vector<float> values(int64_t step, int i) {
  std::vector<float> v(var_size(i));
  for (int64_t j = 0; j < var_size(i); ++j) v[j] = value(step, i, j);
  return v;
}

struct Model {
  k::Graph g;
  std::vector<k::Variable> vars;
  k::Variable step_var;
  k::Operation init;
  Model()
      : step_var([this] {
          auto d = g.device("/cpu:0");
          return k::Variable(g, k::constant<int64_t>(g, {0}, k::Shape{}), "global_step");
        }()) {
    for (int i = 0; i < kVars; ++i) {
      auto d = g.device("/cpu:" + std::to_string(i % kDevices));
      vars.emplace_back(g, k::zeros(g, k::Shape{var_size(i)}, k::DType::kFloat),
                        "layer" + std::to_string(i) + "/w");
    }
    init = k::global_variables_initializer(g);
  }
};

k::Saver make_saver(Model& m) {
  return k::Saver(m.g, {.sharded = true, .max_to_keep = 3, .recover_state = true});
}

// The step of "DIR/model-STEP".
int64_t step_of(const std::string& prefix) {
  size_t dash = prefix.rfind('-');
  if (dash == std::string::npos) throw k::InvalidArgumentError("not a stepped prefix: " + prefix);
  return std::stoll(prefix.substr(dash + 1));
}

// Problems with the restored values of `prefix` ("" when none).
std::string check_values(Model& m, k::Saver& saver, const std::string& prefix) {
  k::Session sess(m.g, k::SessionOptions{.cpu_devices = kDevices});
  saver.restore(sess, prefix);
  const int64_t step = step_of(prefix);
  const int64_t stored = sess.variable_value("global_step").to_host().data<int64_t>()[0];
  if (stored != step)
    return prefix + ": global_step holds " + std::to_string(stored) + ", expected " +
           std::to_string(step);
  for (int i = 0; i < kVars; ++i) {
    std::vector<float> got = sess.variable_value(m.vars[i].name()).to_vector<float>();
    if (got != values(step, i))
      return prefix + ": " + m.vars[i].name() + " does not hold the values of step " +
             std::to_string(step);
  }
  return "";
}

bool is_temp_name(const std::string& name) {
  return name.find(".tempstate") != std::string::npos || name.find(".tmp") != std::string::npos ||
         name.find("_temp_") != std::string::npos;
}

int check(const std::string& dir, int64_t min_step, bool clean) {
  std::vector<std::string> problems;
  Model m;
  k::Saver saver = make_saver(m);
  std::optional<std::string> latest;
  try {
    latest = k::latest_checkpoint(dir);
  } catch (const std::exception& e) {
    problems.push_back(std::string("latest_checkpoint: ") + e.what());
  }
  if (!latest) {
    if (min_step > 0 || k::io::posix_file_system()->exists(dir + "/checkpoint"))
      problems.push_back("no latest checkpoint in " + dir + " after step " +
                         std::to_string(min_step) + " completed");
  } else {
    try {
      const int64_t step = step_of(*latest);
      std::cout << "latest_step=" << step << "\n";
      if (step < min_step || step > min_step + 1)
        problems.push_back("latest checkpoint " + *latest + " is not step " +
                           std::to_string(min_step) + " or the one after it");
      std::string bad = k::io::verify_checkpoint(*latest);
      if (!bad.empty()) problems.push_back("verify " + *latest + ": " + bad);
      std::string wrong = check_values(m, saver, *latest);
      if (!wrong.empty()) problems.push_back(wrong);
      auto state = k::get_checkpoint_state(dir);
      if (state->all_model_checkpoint_paths.size() > 3)
        problems.push_back("state file lists " +
                           std::to_string(state->all_model_checkpoint_paths.size()) +
                           " checkpoints, max_to_keep is 3");
      for (const std::string& p : state->all_model_checkpoint_paths) {
        if (!k::checkpoint_exists(p)) {
          problems.push_back("state file lists " + p + ", which does not exist");
        } else if (std::string b = k::io::verify_checkpoint(p); !b.empty()) {
          problems.push_back("verify " + p + ": " + b);
        }
      }
    } catch (const std::exception& e) {
      problems.push_back(*latest + ": " + e.what());
    }
  }
  if (clean) {
    // Not failures (io/saver.h says why they can remain), but worth a figure: checkpoints left
    // unlisted by a kill between the state update and the deletion, and data files left without
    // an index by a kill inside a merge.
    int unlisted = 0, orphan_data = 0;
    std::set<std::string> listed;
    if (auto state = k::get_checkpoint_state(dir))
      listed.insert(state->all_model_checkpoint_paths.begin(),
                    state->all_model_checkpoint_paths.end());
    auto* fs = k::io::posix_file_system();
    for (const std::string& name : fs->list_dir(dir)) {
      if (is_temp_name(name)) problems.push_back("leftover after a completed save: " + name);
      if (name.ends_with(".index") && !listed.count(dir + "/" + name.substr(0, name.size() - 6)))
        ++unlisted;
      size_t data = name.find(".data-");
      if (data != std::string::npos && !fs->exists(dir + "/" + name.substr(0, data) + ".index"))
        ++orphan_data;
    }
    std::cout << "kill check: unlisted_checkpoints=" << unlisted
              << " data_files_without_index=" << orphan_data << "\n";
  }
  for (const auto& p : problems) std::cerr << "kill check: " << p << "\n";
  return problems.empty() ? 0 : 1;
}

int run(const std::string& dir, int64_t last_step) {
  Model m;
  k::Saver saver = make_saver(m);
  k::Session sess(m.g, k::SessionOptions{.cpu_devices = kDevices});
  sess.run(m.init);
  const char* async_env = std::getenv("KILN_KILL_ASYNC");
  const bool async = async_env && std::string(async_env) == "1";
  int64_t step = 1;
  if (auto latest = k::latest_checkpoint(dir)) {
    // Resume as a real job does; a checkpoint that does not hold what it should is fatal here.
    std::string wrong = check_values(m, saver, *latest);
    if (!wrong.empty()) throw k::DataLossError("resuming: " + wrong);
    saver.restore(sess, *latest);
    step = step_of(*latest) + 1;
  }
  for (; last_step < 0 || step <= last_step; ++step) {
    for (int i = 0; i < kVars; ++i)
      sess.set_variable_value(m.vars[i].name(),
                              k::Tensor::from_vector(values(step, i), k::Shape{var_size(i)}));
    sess.set_variable_value("global_step", k::Tensor::of<int64_t>({step}, k::Shape{}));
    if (async) {
      k::SaveHandle h = saver.save_async(sess, dir + "/model", {.global_step = step});
      for (int i = 0; i < kVars; ++i)  // training goes on while the files are written
        sess.set_variable_value(m.vars[i].name(), k::Tensor::from_vector(
                                                      values(step + 100000, i), k::Shape{var_size(i)}));
      h.wait();
    } else {
      saver.save(sess, dir + "/model", {.global_step = step});
    }
    std::printf("%lld\n", static_cast<long long>(step));
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() >= 3 && args[0] == "--check")
      return check(args[1], std::stoll(args[2]), args.size() == 4 && args[3] == "--clean");
    if (args.size() == 1 || args.size() == 2)
      return run(args[0], args.size() == 2 ? std::stoll(args[1]) : -1);
    std::cerr << "usage: kiln_kill_saver_child DIR [LAST_STEP]\n"
                 "       kiln_kill_saver_child --check DIR MIN_STEP [--clean]\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "kiln_kill_saver_child: " << e.what() << "\n";
    return 1;
  }
}

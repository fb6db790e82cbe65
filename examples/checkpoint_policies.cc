// Checkpoint retention as TF1 users set it up: save every K steps with global_step naming
// (model.ckpt-1000, model.ckpt-2000, ...), keep the newest max_to_keep, and with
// keep_checkpoint_every_n_hours also keep one checkpoint per N hours forever.
//
//   build/bin/checkpoint_policies [--dir DIR] [--steps 12000] [--save-every 1000]
//       [--max-to-keep 4] [--keep-every-hours 1] [--minutes-per-save 20]
//
// Two runs over the same training loop: "by steps" (max_to_keep only) and "by time" (plus
// keep_checkpoint_every_n_hours). Training time is simulated (--minutes-per-save per save, fed
// to the Saver through SaverOptions::clock) so the hour rule shows in seconds; the rule itself
// is TF's (reference §3.4): when a checkpoint falls out of the newest max_to_keep, it is kept
// forever if it was written after the current N-hour mark, which then moves N hours on.
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <kiln/kiln.h>

namespace k = kiln;

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " ") + k::fs::path(x).filename().string();
  return s.empty() ? "-" : s;
}

std::vector<std::string> on_disk(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : k::fs::directory_iterator(dir))
    if (e.path().extension() == ".index") out.push_back(e.path().stem().string());
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    return std::stoll(a.substr(a.rfind('-') + 1)) < std::stoll(b.substr(b.rfind('-') + 1));
  });
  return out;
}

int run_policy(const std::string& dir, int steps, int save_every, int max_to_keep, double hours,
               double minutes_per_save) {
  k::fs::remove_all(dir);
  k::fs::create_directories(dir);
  k::Graph g;
  k::Variable w(g, k::zeros(g, {4}), "w");
  k::Variable step(g, k::constant(g, int64_t{0}), "global_step", {.trainable = false});
  auto train = k::group(g, {w.assign_add(k::ones(g, {4})).node, step.assign_add(k::constant(g, int64_t{1})).node}, "train");
  double now = 0;  // simulated seconds since the job started
  k::Saver saver(g, {.max_to_keep = max_to_keep,
                     .keep_checkpoint_every_n_hours = hours,
                     .clock = [&now] { return now; }});
  k::Session sess(g);
  sess.run(k::global_variables_initializer(g));
  for (int s = 1; s <= steps; ++s) {
    sess.run(train);
    if (s % save_every != 0) continue;
    now += minutes_per_save * 60;
    std::string path = saver.save(sess, dir + "/model.ckpt", {.global_step = step});
    std::cout << "  step " << s << " (t=" << now / 60 << " min) saved "
              << k::fs::path(path).filename().string() << "; recent: " << join(saver.last_checkpoints())
              << "\n";
  }
  std::vector<std::string> disk = on_disk(dir);
  std::cout << "  on disk: " << join(disk) << "\n";
  auto state = k::get_checkpoint_state(dir);
  std::cout << "  checkpoint file: latest " << k::fs::path(state->model_checkpoint_path).filename().string()
            << ", listed " << join(state->all_model_checkpoint_paths) << "\n";
  return static_cast<int>(disk.size());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Checkpoint retention: max_to_keep and keep_checkpoint_every_n_hours"};
  std::string dir = "checkpoint_policies";
  int steps = 12000, save_every = 1000, max_to_keep = 4;
  double hours = 1, minutes = 20;
  app.add_option("--dir", dir, "Directory for the two runs' checkpoints");
  app.add_option("--steps", steps, "Training steps")->check(CLI::PositiveNumber);
  app.add_option("--save-every", save_every, "Save every K steps")->check(CLI::PositiveNumber);
  app.add_option("--max-to-keep", max_to_keep, "Newest checkpoints kept (0: keep all)");
  app.add_option("--keep-every-hours", hours, "keep_checkpoint_every_n_hours for the second run");
  app.add_option("--minutes-per-save", minutes, "Simulated training time between saves");
  CLI11_PARSE(app, argc, argv);
  try {
    std::cout << "by steps: every " << save_every << " steps, max_to_keep=" << max_to_keep << "\n";
    int kept_steps = run_policy(dir + "/by_steps", steps, save_every, max_to_keep, 10000, minutes);
    std::cout << "by time: also keep_checkpoint_every_n_hours=" << hours << " (simulated "
              << minutes << " min per save)\n";
    int kept_time = run_policy(dir + "/by_time", steps, save_every, max_to_keep, hours, minutes);
    std::cout << "kept_by_steps=" << kept_steps << " kept_by_time=" << kept_time << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "checkpoint_policies: " << e.what() << "\n";
    return 1;
  }
}

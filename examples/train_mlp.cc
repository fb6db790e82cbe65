// train_mlp: kiln's main job. Trains an MLP classifier on interleaved spirals generated in the
// program, checkpoints as it goes and resumes exactly where it stopped.
//
//   train_mlp [--steps 3000] [--batch-size 128] [--hidden 128,128] [--lr 0.01]
//             [--optimizer adam|momentum|sgd] [--devices 1] [--checkpoint-dir DIR]
//             [--save-every 500] [--max-to-keep 3] [--seed 1]
//
// - Data: --classes spirals of 2-D points (two turns each, Gaussian noise), a training set and a
//   held-out test set, both pure functions of --seed. The batch of step s is a pure function of
//   (seed, s): example i of the run's stream is element i mod N of the permutation of epoch
//   i / N, drawn from a counter-based generator. So nothing but the variables and global_step
//   needs saving to resume the data order, and the model has no other randomness after init.
// - Model: dense layers with ReLU, layer k's variables ("dense_k/kernel", "dense_k/bias") and
//   forward ops on device k mod --devices (logical CPUs, or logical GPUs when a GPU is present).
// - Checkpoints (with --checkpoint-dir): sharded saves (one data file per device) every
//   --save-every steps (Saver::save_async: training continues while they are written) and at
//   the end (synchronous), keeping --max-to-keep; on start the latest checkpoint is
//   restored (weights, optimizer slots, beta powers, global_step). Ctrl-C (SIGINT/SIGTERM) stops
//   after the current step and saves a final checkpoint.
// - Output: a progress line every --log-every steps (step, loss, batch accuracy, examples/s) and
//   last the machine-readable line
//     global_step=N final_loss=X test_accuracy=Y resumed_from=STEP|none
//   --loss-log FILE appends "step loss" per step with the loss's exact bits (hex float), which the
//   resume test compares.
#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <kiln/kiln.h>

#include "io/checkpoint_management.h"
#include "train/train.h"

namespace k = kiln;

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

// SplitMix64: a counter-based generator, so any draw is a pure function of (seed, counter).
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
double uniform(uint64_t seed, uint64_t counter) {
  return static_cast<double>(mix(seed ^ mix(counter)) >> 11) * 0x1.0p-53;
}
double normal(uint64_t seed, uint64_t counter) {  // Box-Muller on two uniforms
  double u1 = uniform(seed, 2 * counter), u2 = uniform(seed, 2 * counter + 1);
  return std::sqrt(-2.0 * std::log(u1 + 0x1.0p-60)) * std::cos(2 * M_PI * u2);
}

struct Dataset {
  std::vector<float> x;  // [n, 2]
  std::vector<int32_t> y;
  int64_t size() const { return static_cast<int64_t>(y.size()); }
};

// `per_class` points on each of `classes` interleaved two-turn spirals.
Dataset spirals(int classes, int per_class, uint64_t seed) {
  Dataset d;
  for (int i = 0; i < per_class; ++i)
    for (int c = 0; c < classes; ++c) {
      uint64_t id = static_cast<uint64_t>(i) * classes + c;
      double t = uniform(seed, 3 * id);
      double r = 0.1 + 0.9 * t;
      double angle = 2 * M_PI * c / classes + 4 * M_PI * t;
      d.x.push_back(static_cast<float>(r * std::cos(angle) + 0.03 * normal(seed, 3 * id + 1)));
      d.x.push_back(static_cast<float>(r * std::sin(angle) + 0.03 * normal(seed, 3 * id + 2)));
      d.y.push_back(c);
    }
  return d;
}

// The data order: a fresh permutation of the training set per epoch, a pure function of
// (seed, epoch) (Fisher-Yates driven by the counter-based generator).
class DataOrder {
 public:
  DataOrder(int64_t n, uint64_t seed) : n_(n), seed_(seed) {}
  int64_t example(int64_t stream_index) {
    int64_t epoch = stream_index / n_;
    if (epoch != epoch_) {
      perm_.resize(n_);
      for (int64_t i = 0; i < n_; ++i) perm_[i] = i;
      uint64_t key = mix(seed_ ^ mix(0x5eed0000ull + epoch));
      for (int64_t i = n_ - 1; i > 0; --i) {
        int64_t j = static_cast<int64_t>(mix(key + i) % static_cast<uint64_t>(i + 1));
        std::swap(perm_[i], perm_[j]);
      }
      epoch_ = epoch;
    }
    return perm_[stream_index % n_];
  }

 private:
  int64_t n_;
  uint64_t seed_;
  int64_t epoch_ = -1;
  std::vector<int64_t> perm_;
};

struct Layer {
  k::Variable kernel, bias;
  std::string device;
};

std::vector<int64_t> parse_hidden(const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    int64_t v = std::stoll(item);
    if (v <= 0) throw k::InvalidArgumentError("--hidden sizes must be positive, got " + item);
    out.push_back(v);
  }
  return out;
}

int argmax_row(const float* row, int64_t n) {
  int best = 0;
  for (int64_t j = 1; j < n; ++j)
    if (row[j] > row[best]) best = static_cast<int>(j);
  return best;
}

int run(int argc, char** argv) {
  int64_t steps = 3000, batch = 128, save_every = 500, log_every = 100, seed = 1;
  int devices = 1, max_to_keep = 3, classes = 3, per_class = 2000;
  std::string hidden_flag = "128,128", optimizer_name = "adam", checkpoint_dir, loss_log;
  double lr = 0.01;
  CLI::App app{"Train an MLP on interleaved spirals with checkpoints and exact resume."};
  app.add_option("--steps", steps, "total training steps (global_step to reach)")->capture_default_str();
  app.add_option("--batch-size", batch, "examples per step")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--hidden", hidden_flag, "hidden layer sizes, comma-separated")->capture_default_str();
  app.add_option("--lr", lr, "learning rate")->capture_default_str();
  app.add_option("--optimizer", optimizer_name, "adam, momentum or sgd")
      ->capture_default_str()->check(CLI::IsMember({"adam", "momentum", "sgd"}));
  app.add_option("--devices", devices, "logical devices to spread the layers over")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--checkpoint-dir", checkpoint_dir, "save and resume here (none: no checkpoints)");
  app.add_option("--save-every", save_every, "steps between checkpoints")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--max-to-keep", max_to_keep, "checkpoints to keep")->capture_default_str();
  app.add_option("--seed", seed, "seed of the data, its order and the initial weights")->capture_default_str();
  app.add_option("--log-every", log_every, "steps between progress lines")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--classes", classes, "number of spirals")->capture_default_str()->check(CLI::Range(2, 64));
  app.add_option("--loss-log", loss_log, "append 'step loss-as-hex-float' per step to this file");
  CLI11_PARSE(app, argc, argv);
  std::vector<int64_t> hidden = parse_hidden(hidden_flag);

  const bool gpu = k::gpu::device_count() > 0;
  k::SessionOptions session_options;
  session_options.cpu_devices = gpu ? 1 : devices;
  session_options.gpu_devices = gpu ? devices : 0;
  const std::string device_prefix = gpu ? "/gpu:" : "/cpu:";

  Dataset train = spirals(classes, per_class, static_cast<uint64_t>(seed));
  Dataset test = spirals(classes, per_class / 4, mix(static_cast<uint64_t>(seed) ^ 0x7e57ull));

  // ---- the graph ----
  k::Graph g;
  g.set_random_seed(seed);
  k::Output x = k::placeholder(g, k::float32, {batch, 2}, "x");
  k::Output labels = k::placeholder(g, k::int32, {batch}, "labels");
  k::Output test_x = k::placeholder(g, k::float32, {-1, 2}, "test_x");
  std::vector<Layer> layers;
  int64_t fan_in = 2;
  std::vector<int64_t> widths = hidden;
  widths.push_back(classes);
  for (size_t i = 0; i < widths.size(); ++i) {
    std::string device = device_prefix + std::to_string(i % devices);
    auto d = g.device(device);
    auto scope = g.name_scope(i == 0 ? "dense" : "dense_" + std::to_string(i));
    double stddev = std::sqrt(2.0 / static_cast<double>(fan_in));  // He initialization for ReLU
    k::Variable kernel(g, k::random_normal(g, {fan_in, widths[i]}, {.stddev = stddev}), "kernel");
    k::Variable bias(g, k::zeros(g, {widths[i]}), "bias");
    layers.push_back({kernel, bias, device});
    fan_in = widths[i];
  }
  auto forward = [&](k::Output in) {
    k::Output h = in;
    for (size_t i = 0; i < layers.size(); ++i) {
      auto d = g.device(layers[i].device);
      h = k::bias_add(k::matmul(h, layers[i].kernel), layers[i].bias);
      if (i + 1 < layers.size()) h = k::relu(h);
    }
    return h;
  };
  k::Output logits = forward(x);
  k::Output loss = k::reduce_mean(k::sparse_softmax_cross_entropy_with_logits(labels, logits), {}, false, "loss");
  k::Output test_logits = forward(test_x);
  k::Variable global_step = k::get_or_create_global_step(g);
  std::unique_ptr<k::Optimizer> optimizer;
  if (optimizer_name == "adam") optimizer = std::make_unique<k::AdamOptimizer>(k::AdamOptions{.learning_rate = lr});
  else if (optimizer_name == "momentum")
    optimizer = std::make_unique<k::MomentumOptimizer>(k::MomentumOptions{.learning_rate = lr, .momentum = 0.9});
  else optimizer = std::make_unique<k::GradientDescentOptimizer>(k::GradientDescentOptions{.learning_rate = lr});
  k::Operation train_op = optimizer->minimize(loss, global_step);
  k::Operation init = k::global_variables_initializer(g);

  k::Session sess(g, session_options);
  std::unique_ptr<k::Saver> saver;
  std::optional<int64_t> resumed_from;
  std::string prefix;
  if (!checkpoint_dir.empty()) {
    std::filesystem::create_directories(checkpoint_dir);
    prefix = (std::filesystem::path(checkpoint_dir) / "model.ckpt").string();
    k::SaverOptions so;
    so.sharded = true;
    so.max_to_keep = max_to_keep;
    so.recover_state = true;
    saver = std::make_unique<k::Saver>(g, so);
    if (auto latest = k::latest_checkpoint(checkpoint_dir)) {
      saver->restore(sess, *latest);
      resumed_from = sess.variable_value("global_step").to_host().data<int64_t>()[0];
      std::cout << "resumed from " << *latest << " at global_step " << *resumed_from << "\n";
    }
  }
  if (!resumed_from) sess.run(init);
  int64_t step = resumed_from.value_or(0);
  std::cout << "training " << layers.size() << "-layer MLP 2-" << hidden_flag << "-" << classes
            << " with " << optimizer_name << " on " << devices << " " << (gpu ? "GPU" : "CPU")
            << " device(s); " << train.size() << " training examples, batch " << batch << "\n";

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::FILE* loss_file = loss_log.empty() ? nullptr : std::fopen(loss_log.c_str(), "a");
  DataOrder order(train.size(), static_cast<uint64_t>(seed));
  k::Tensor xb(k::float32, {batch, 2}), yb(k::int32, {batch});
  double last_loss = std::nan("");
  int64_t last_saved = step;
  // Periodic checkpoints are asynchronous: training goes on while the files are written (the
  // next save waits for the previous one and rethrows its failure). The final one is
  // synchronous, so the program ends only once it is durable.
  auto save = [&](int64_t at, bool final) {
    if (!saver) return;
    if (at != last_saved) {
      if (final)
        saver->save(sess, prefix, {.global_step = at});
      else
        saver->save_async(sess, prefix, {.global_step = at});
    }
    if (final) saver->wait_for_pending_save();
    last_saved = at;
  };
  auto t0 = std::chrono::steady_clock::now();
  int64_t t0_step = step;
  while (step < steps && !g_stop) {
    for (int64_t i = 0; i < batch; ++i) {
      int64_t e = order.example(step * batch + i);
      xb.data<float>()[2 * i] = train.x[2 * e];
      xb.data<float>()[2 * i + 1] = train.x[2 * e + 1];
      yb.data<int32_t>()[i] = train.y[e];
    }
    bool log = (step + 1) % log_every == 0 || step + 1 == steps;
    std::vector<k::Output> fetches = {loss};
    if (log) fetches.push_back(logits);
    std::vector<k::Tensor> out = sess.run(fetches, {{x, xb}, {labels, yb}}, {train_op});
    float loss_value = out[0].to_host().data<float>()[0];
    last_loss = loss_value;
    if (loss_file) std::fprintf(loss_file, "%lld %a\n", static_cast<long long>(step), loss_value);
    ++step;
    if (log) {
      k::Tensor lg = out[1].to_host();
      int correct = 0;
      for (int64_t i = 0; i < batch; ++i) correct += argmax_row(lg.data<float>() + i * classes, classes) == yb.data<int32_t>()[i];
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("step %lld/%lld  loss %.4f  batch accuracy %.3f  %.0f examples/s\n",
                  static_cast<long long>(step), static_cast<long long>(steps), loss_value,
                  static_cast<double>(correct) / batch, (step - t0_step) * batch / std::max(secs, 1e-9));
      std::fflush(stdout);
    }
    if (step % save_every == 0) save(step, /*final=*/false);
  }
  if (loss_file) std::fclose(loss_file);
  if (g_stop) std::cout << "interrupted at global_step " << step << "; saving a final checkpoint\n";
  save(step, /*final=*/true);

  // ---- test accuracy ----
  k::Tensor tx = k::Tensor::from_vector(test.x).reshaped(k::Shape{test.size(), 2});
  k::Tensor tl = sess.run(test_logits, {{test_x, tx}}).to_host();
  int64_t correct = 0;
  for (int64_t i = 0; i < test.size(); ++i) correct += argmax_row(tl.data<float>() + i * classes, classes) == test.y[i];
  double accuracy = static_cast<double>(correct) / static_cast<double>(test.size());
  std::printf("global_step=%lld final_loss=%.6f test_accuracy=%.4f resumed_from=%s\n",
              static_cast<long long>(step), last_loss, accuracy,
              resumed_from ? std::to_string(*resumed_from).c_str() : "none");
  return g_stop ? 130 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_mlp: %s\n", e.what());
    return 1;
  }
}

// Optimizers (train/): each update against its textbook formula evaluated here in double (not
// TF's incremental form the kernels use), slot and step variables named and collected as TF
// does, training that lowers a loss, slots that survive a kiln::Saver round trip, and CPU/GPU
// parity of the fused update kernels (skipped without a GPU).
#include <gtest/gtest.h>
#include <kiln/kiln.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "io/saver.h"
#include "train/train.h"

namespace {

namespace k = kiln;
using k::DType;
using k::Graph;
using k::Output;
using k::Session;
using k::Shape;
using k::Tensor;

k::SessionOptions cpu_only() {
  k::SessionOptions o;
  o.gpu_devices = 0;
  return o;
}

std::vector<double> values_of(const Tensor& t) {
  Tensor h = t.to_host();
  std::vector<double> out;
  for (int64_t i = 0; i < h.num_elements(); ++i)
    out.push_back(h.dtype() == DType::kFloat ? h.data<float>()[i] : h.data<double>()[i]);
  return out;
}

void expect_near_all(const std::vector<double>& got, const std::vector<double>& want, double rtol,
                     const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], rtol * (1 + std::fabs(want[i]))) << what << " element " << i;
}

const std::vector<float> kInit = {0.5f, -1.0f, 2.0f, 0.25f, -0.75f, 1.5f};
const std::vector<float> kGrad = {0.1f, -0.2f, 0.3f, -0.4f, 0.5f, -0.6f};

// A variable w [2,3] and loss = sum(w * c): d loss / d w = c, known exactly.
struct LinearProblem {
  Graph g;
  k::Variable w;
  Output loss;
  LinearProblem()
      : w(g, k::constant(g, Tensor::of<float>({0.5f, -1.0f, 2.0f, 0.25f, -0.75f, 1.5f}, {2, 3})), "w") {
    Output c = k::constant(g, Tensor::of<float>({0.1f, -0.2f, 0.3f, -0.4f, 0.5f, -0.6f}, {2, 3}), "c");
    loss = k::reduce_sum(k::multiply(w, c), {}, false, "loss");
  }
};

TEST(GradientDescent, UpdateIsVarMinusLrTimesGrad) {
  LinearProblem p;
  k::GradientDescentOptimizer opt({.learning_rate = 0.1});
  k::Operation train = opt.minimize(p.loss);
  EXPECT_EQ(train.name(), "GradientDescent");
  EXPECT_NE(p.g.find_node("GradientDescent/update_w/ApplyGradientDescent"), nullptr);
  Session s(p.g, cpu_only());
  s.run(k::global_variables_initializer(p.g));
  std::vector<double> w(kInit.begin(), kInit.end());
  for (int step = 0; step < 3; ++step) {
    s.run(train);
    for (size_t i = 0; i < w.size(); ++i) w[i] -= 0.1 * kGrad[i];
    expect_near_all(values_of(s.variable_value("w")), w, 1e-6, "step " + std::to_string(step));
  }
}

TEST(Momentum, UpdateMatchesFormulaWithAndWithoutNesterov) {
  for (bool nesterov : {false, true}) {
    SCOPED_TRACE(nesterov ? "nesterov" : "plain");
    LinearProblem p;
    k::MomentumOptimizer opt({.learning_rate = 0.1, .momentum = 0.9, .use_nesterov = nesterov});
    k::Operation train = opt.minimize(p.loss);
    EXPECT_EQ(opt.get_slot(p.w, "momentum").name(), "w/Momentum");
    Session s(p.g, cpu_only());
    s.run(k::global_variables_initializer(p.g));
    std::vector<double> w(kInit.begin(), kInit.end()), accum(6, 0.0);
    for (int step = 0; step < 4; ++step) {
      s.run(train);
      for (size_t i = 0; i < w.size(); ++i) {
        accum[i] = 0.9 * accum[i] + kGrad[i];
        w[i] -= nesterov ? 0.1 * (kGrad[i] + 0.9 * accum[i]) : 0.1 * accum[i];
      }
      expect_near_all(values_of(s.variable_value("w")), w, 1e-6, "w");
      expect_near_all(values_of(s.variable_value("w/Momentum")), accum, 1e-6, "accum");
    }
  }
}

TEST(Adam, UpdateMatchesKingmaBaFormula) {
  for (bool nesterov : {false, true}) {
    SCOPED_TRACE(nesterov ? "nesterov" : "plain");
    LinearProblem p;
    k::AdamOptimizer opt({.learning_rate = 0.01, .beta1 = 0.9, .beta2 = 0.999, .epsilon = 1e-8,
                          .use_nesterov = nesterov});
    k::Operation train = opt.minimize(p.loss);
    Session s(p.g, cpu_only());
    s.run(k::global_variables_initializer(p.g));
    std::vector<double> w(kInit.begin(), kInit.end()), m(6, 0.0), v(6, 0.0);
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8, lr = 0.01;
    for (int t = 1; t <= 4; ++t) {
      s.run(train);
      double lr_t = lr * std::sqrt(1 - std::pow(b2, t)) / (1 - std::pow(b1, t));
      for (size_t i = 0; i < w.size(); ++i) {
        m[i] = b1 * m[i] + (1 - b1) * kGrad[i];
        v[i] = b2 * v[i] + (1 - b2) * kGrad[i] * kGrad[i];
        double num = nesterov ? b1 * m[i] + (1 - b1) * kGrad[i] : m[i];
        w[i] -= lr_t * num / (std::sqrt(v[i]) + eps);
      }
      expect_near_all(values_of(s.variable_value("w")), w, 2e-6, "w at t=" + std::to_string(t));
      expect_near_all(values_of(s.variable_value("w/Adam")), m, 2e-6, "m");
      expect_near_all(values_of(s.variable_value("w/Adam_1")), v, 2e-6, "v");
      expect_near_all(values_of(s.variable_value("beta1_power")), {std::pow(b1, t + 1)}, 1e-6, "beta1_power");
      expect_near_all(values_of(s.variable_value("beta2_power")), {std::pow(b2, t + 1)}, 1e-6, "beta2_power");
    }
  }
}

TEST(Optimizers, SlotsAndStepAreNamedAndCollectedAsTensorFlowDoes) {
  LinearProblem p;
  k::Variable step = k::get_or_create_global_step(p.g);
  EXPECT_EQ(step.name(), "global_step");
  EXPECT_EQ(step.dtype(), DType::kInt64);
  EXPECT_FALSE(step.trainable());
  EXPECT_EQ(k::get_or_create_global_step(p.g).name(), "global_step") << "created once";
  k::AdamOptimizer opt;
  k::Operation train = opt.minimize(p.loss, step);
  EXPECT_EQ(train.name(), "Adam");
  EXPECT_EQ(train.node->op(), "AssignAdd");
  EXPECT_NE(p.g.find_node("Adam/update"), nullptr);
  EXPECT_NE(p.g.find_node("Adam/update_w/ApplyAdam"), nullptr);
  EXPECT_EQ(opt.get_slot(p.w, "m").name(), "w/Adam");
  EXPECT_EQ(opt.get_slot(p.w, "v").name(), "w/Adam_1");
  EXPECT_EQ(opt.beta1_power().name(), "beta1_power");
  EXPECT_EQ(opt.beta2_power().name(), "beta2_power");
  std::vector<std::string> global, trainable;
  for (const auto& v : k::global_variables(p.g)) global.push_back(v.name());
  for (const auto& v : k::trainable_variables(p.g)) trainable.push_back(v.name());
  EXPECT_EQ(trainable, std::vector<std::string>{"w"});
  for (const char* name : {"w", "global_step", "w/Adam", "w/Adam_1", "beta1_power", "beta2_power"})
    EXPECT_NE(std::find(global.begin(), global.end(), name), global.end()) << name;
  EXPECT_THROW(opt.get_slot(p.w, "nope"), k::NotFoundError);

  Session s(p.g, cpu_only());
  s.run(k::global_variables_initializer(p.g));
  for (int i = 0; i < 3; ++i) s.run(train);
  EXPECT_EQ(s.variable_value("global_step").to_host().data<int64_t>()[0], 3);
}

TEST(Optimizers, NoGradientIsAnError) {
  Graph g;
  k::Variable w(g, k::constant(g, Tensor::of<float>({1, 2}, {2})), "w");
  k::Variable unused(g, k::constant(g, Tensor::of<float>({1, 2}, {2})), "unused");
  Output loss = k::reduce_sum(k::square(w));
  k::GradientDescentOptimizer opt;
  try {
    opt.minimize(loss, std::nullopt, {unused});
    FAIL() << "did not throw";
  } catch (const k::InvalidArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("No gradients provided for any variable: [unused]"), std::string::npos)
        << e.what();
  }
}

// A small softmax classifier on separable data: every optimizer must lower the loss a lot.
TEST(Optimizers, TrainingReducesTheLoss) {
  const std::vector<std::pair<std::string, std::function<std::unique_ptr<k::Optimizer>()>>> optimizers = {
      {"GradientDescent", [] { return std::make_unique<k::GradientDescentOptimizer>(k::GradientDescentOptions{.learning_rate = 0.5}); }},
      {"Momentum", [] { return std::make_unique<k::MomentumOptimizer>(k::MomentumOptions{.learning_rate = 0.1, .momentum = 0.9}); }},
      {"Nesterov", [] { return std::make_unique<k::MomentumOptimizer>(k::MomentumOptions{.learning_rate = 0.1, .momentum = 0.9, .use_nesterov = true}); }},
      {"Adam", [] { return std::make_unique<k::AdamOptimizer>(k::AdamOptions{.learning_rate = 0.05}); }},
  };
  std::mt19937 gen(7);
  std::normal_distribution<float> noise(0, 0.3f);
  const int n = 64;
  std::vector<float> xs;
  std::vector<int32_t> labels;
  for (int i = 0; i < n; ++i) {
    int c = i % 3;
    xs.push_back((c == 0 ? 1.f : c == 1 ? -1.f : 0.f) + noise(gen));
    xs.push_back((c == 2 ? 1.5f : -0.5f) + noise(gen));
    labels.push_back(c);
  }
  for (const auto& [name, make] : optimizers) {
    SCOPED_TRACE(name);
    Graph g;
    g.set_random_seed(3);
    Output x = k::constant(g, Tensor::from_vector(xs).reshaped(Shape{n, 2}), "x");
    Output y = k::constant(g, Tensor::from_vector(labels), "y");
    k::Variable w1(g, k::random_normal(g, {2, 16}, {.stddev = 0.5}), "w1");
    k::Variable b1(g, k::zeros(g, {16}), "b1");
    k::Variable w2(g, k::random_normal(g, {16, 3}, {.stddev = 0.5}), "w2");
    Output logits = k::matmul(k::relu(k::bias_add(k::matmul(x, w1), b1)), w2);
    Output loss = k::reduce_mean(k::sparse_softmax_cross_entropy_with_logits(y, logits));
    auto opt = make();
    k::Operation train = opt->minimize(loss, k::get_or_create_global_step(g));
    Session s(g, cpu_only());
    s.run(k::global_variables_initializer(g));
    double first = values_of(s.run(loss))[0];
    for (int i = 0; i < 200; ++i) s.run(train);
    double last = values_of(s.run(loss))[0];
    EXPECT_LT(last, 0.25 * first) << "loss " << first << " -> " << last;
    EXPECT_EQ(s.variable_value("global_step").to_host().data<int64_t>()[0], 200);
  }
}

TEST(Optimizers, SlotsRoundTripThroughSaver) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("kiln_train_saver_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  LinearProblem p;
  k::Variable step = k::get_or_create_global_step(p.g);
  k::AdamOptimizer opt({.learning_rate = 0.01});
  k::Operation train = opt.minimize(p.loss, step);
  k::Saver saver(p.g);
  const std::vector<std::string> names = {"w", "w/Adam", "w/Adam_1", "beta1_power", "beta2_power", "global_step"};

  Session a(p.g, cpu_only());
  a.run(k::global_variables_initializer(p.g));
  for (int i = 0; i < 3; ++i) a.run(train);
  std::string path = saver.save(a, (dir / "model.ckpt").string(), {.global_step = 3});

  Session b(p.g, cpu_only());
  saver.restore(b, path);
  for (const auto& n : names) {
    Tensor va = a.variable_value(n).to_host(), vb = b.variable_value(n).to_host();
    ASSERT_EQ(va.bytes(), vb.bytes()) << n;
    EXPECT_EQ(std::memcmp(va.raw_data(), vb.raw_data(), va.bytes()), 0) << n << " differs after restore";
  }
  // Continuing from the restored state is the same as continuing the original.
  a.run(train);
  b.run(train);
  for (const auto& n : names) {
    Tensor va = a.variable_value(n).to_host(), vb = b.variable_value(n).to_host();
    EXPECT_EQ(std::memcmp(va.raw_data(), vb.raw_data(), va.bytes()), 0) << n << " diverged after one more step";
  }
  EXPECT_EQ(b.variable_value("global_step").to_host().data<int64_t>()[0], 4);
  fs::remove_all(dir);
}

TEST(Optimizers, GpuUpdatesMatchCpu) {
  if (k::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  for (const std::string kind : {"GradientDescent", "Momentum", "Adam"}) {
    SCOPED_TRACE(kind);
    std::vector<std::vector<double>> results;
    for (const std::string device : {"/gpu:0", "/cpu:0"}) {
      Graph g;
      Output loss;
      {
        auto d = g.device(device);
        k::Variable w(g, k::constant(g, Tensor::of<float>({0.5f, -1.0f, 2.0f, 0.25f, -0.75f, 1.5f}, {2, 3})), "w");
        Output c = k::constant(g, Tensor::of<float>({0.1f, -0.2f, 0.3f, -0.4f, 0.5f, -0.6f}, {2, 3}));
        loss = k::reduce_sum(k::square(k::multiply(w, c)));
      }
      std::unique_ptr<k::Optimizer> opt;
      if (kind == "GradientDescent") opt = std::make_unique<k::GradientDescentOptimizer>();
      else if (kind == "Momentum") opt = std::make_unique<k::MomentumOptimizer>(k::MomentumOptions{.use_nesterov = true});
      else opt = std::make_unique<k::AdamOptimizer>();
      k::Operation train = opt->minimize(loss);
      Session s(g);
      s.run(k::global_variables_initializer(g));
      for (int i = 0; i < 5; ++i) s.run(train);
      EXPECT_EQ(s.device_for(g.find_node("w")).is_gpu(), device == "/gpu:0");
      results.push_back(values_of(s.variable_value("w")));
    }
    expect_near_all(results[0], results[1], 1e-6, "gpu vs cpu");
  }
}

}  // namespace

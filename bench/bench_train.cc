// Training step time of an MLP through graph + session: forward, gradients (ops/gradients.h)
// and the fused optimizer updates, one Session::run per step, as examples/train_mlp runs it.
//
//   BM_TrainStep/<in>/<hidden>/<out>/<batch>   e.g. 784-1024-1024-10 at batch 128 (the issue's
//                                               model), and the demo's 2-128-128-3 at batch 128
//   BM_ForwardOnly/...                          the same graph's forward + loss alone
//   BM_MatMulBound/...                          the step's six GEMMs as direct Eigen products
//                                               compiled with kiln's flags, the CPU bound for the step
//
// Counters: examples/s, and for the train step the ratio of the GEMM-only bound's time to the
// step's time ("gemm_fraction"; 1.0 would mean zero overhead beyond the matrix products).
// bench/bench_train_torch.py times the same model in PyTorch eager on the same machine.
#include <benchmark/benchmark.h>

#include <Eigen/Core>

#include <kiln/kiln.h>

#include "train/train.h"

namespace k = kiln;

namespace {

struct Mlp {
  k::Graph g;
  k::Output x, labels, loss;
  k::Operation train_op;
  std::unique_ptr<k::Session> sess;
  k::FeedList feeds;

  Mlp(int64_t in, int64_t hidden, int64_t out, int64_t batch) {
    g.set_random_seed(1);
    x = k::placeholder(g, k::float32, {batch, in}, "x");
    labels = k::placeholder(g, k::int32, {batch}, "labels");
    k::Output h = x;
    std::vector<int64_t> widths = {hidden, hidden, out};
    int64_t fan_in = in;
    for (size_t i = 0; i < widths.size(); ++i) {
      k::Variable w(g, k::random_normal(g, {fan_in, widths[i]}, {.stddev = std::sqrt(2.0 / fan_in)}), "w");
      k::Variable b(g, k::zeros(g, {widths[i]}), "b");
      h = k::bias_add(k::matmul(h, w), b);
      if (i + 1 < widths.size()) h = k::relu(h);
      fan_in = widths[i];
    }
    loss = k::reduce_mean(k::sparse_softmax_cross_entropy_with_logits(labels, h));
    k::AdamOptimizer opt({.learning_rate = 1e-4});
    train_op = opt.minimize(loss, k::get_or_create_global_step(g));
    k::SessionOptions so;
    so.gpu_devices = 0;
    sess = std::make_unique<k::Session>(g, so);
    sess->run(k::global_variables_initializer(g));
    k::Tensor xt(k::float32, {batch, in}), yt(k::int32, {batch});
    for (int64_t i = 0; i < xt.num_elements(); ++i) xt.data<float>()[i] = static_cast<float>((i * 7919) % 1000) / 1000.f - 0.5f;
    for (int64_t i = 0; i < batch; ++i) yt.data<int32_t>()[i] = static_cast<int32_t>(i % out);
    feeds = {{x, xt}, {labels, yt}};
  }
};

void BM_TrainStep(benchmark::State& state) {
  const int64_t batch = state.range(3);
  Mlp m(state.range(0), state.range(1), state.range(2), batch);
  for (auto _ : state) m.sess->run(std::vector<k::Output>{}, m.feeds, {m.train_op});
  state.counters["examples/s"] = benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_ForwardOnly(benchmark::State& state) {
  const int64_t batch = state.range(3);
  Mlp m(state.range(0), state.range(1), state.range(2), batch);
  for (auto _ : state) benchmark::DoNotOptimize(m.sess->run(m.loss, m.feeds));
  state.counters["examples/s"] = benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
}

// The step's matrix products alone: per layer one forward GEMM, one for the weight gradient and
// (except the first layer) one for the input gradient.
void BM_MatMulBound(benchmark::State& state) {
  const int64_t in = state.range(0), hidden = state.range(1), out = state.range(2), batch = state.range(3);
  using M = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  std::vector<int64_t> dims = {in, hidden, hidden, out};
  std::vector<M> w, a, dw, da;
  for (int i = 0; i < 3; ++i) {
    w.push_back(M::Random(dims[i], dims[i + 1]));
    dw.push_back(M::Zero(dims[i], dims[i + 1]));
  }
  for (int i = 0; i < 4; ++i) {
    a.push_back(M::Random(batch, dims[i]));
    da.push_back(M::Random(batch, dims[i]));
  }
  for (auto _ : state) {
    for (int i = 0; i < 3; ++i) a[i + 1].noalias() = a[i] * w[i];
    for (int i = 2; i >= 0; --i) {
      dw[i].noalias() = a[i].transpose() * da[i + 1];
      if (i > 0) da[i].noalias() = da[i + 1] * w[i].transpose();
    }
    benchmark::DoNotOptimize(dw[0].data());
  }
  state.counters["examples/s"] = benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
}

#define MODELS ->Args({784, 1024, 10, 128})->Args({2, 128, 3, 128})->Unit(benchmark::kMillisecond)->UseRealTime()
BENCHMARK(BM_TrainStep) MODELS;
BENCHMARK(BM_ForwardOnly) MODELS;
BENCHMARK(BM_MatMulBound) MODELS;

}  // namespace

BENCHMARK_MAIN();

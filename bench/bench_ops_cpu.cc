// CPU op throughput through graph + session, each next to a bound measured in the same process:
//   Add of two 16M-float tensors (2 reads + 1 write)  vs std::memcpy of 16M floats (1 + 1)
//   MatMul 1024^3 float32                              vs a direct Eigen product
//   RandomStandardNormal, 16M floats (1 write)         vs std::memset of the same bytes
// Graph inputs live in Variables initialised once, and each run names the op as a *target*, so
// no feed or fetch copy is timed: what is measured is Session::run of that op, end to end.
// The ratios are reported as counters (ratio_to_memcpy, ratio_to_eigen, ratio_to_memset).
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <vector>

#include <kiln/kiln.h>

namespace k = kiln;

namespace {

using Clock = std::chrono::steady_clock;

k::SessionOptions cpu_only() {
  k::SessionOptions o;
  o.gpu_devices = 0;
  return o;
}

// Median seconds of `reps` calls of fn after two warm-up calls. The bound is measured inside
// each benchmark so that it sees the same machine state (other load, clocks) as the op.
double median_seconds(const std::function<void()>& fn, int reps = 9) {
  fn();
  fn();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    auto t0 = Clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  std::nth_element(t.begin(), t.begin() + reps / 2, t.end());
  return t[reps / 2];
}

// Times sess.run(target) per iteration (wall clock) and returns the mean seconds per run.
double time_runs(benchmark::State& state, k::Session& sess, k::Operation target) {
  sess.run(target);  // warm-up: placement, plan, allocator
  double seconds = 0;
  for (auto _ : state) {
    auto t0 = Clock::now();
    sess.run(target);
    double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    state.SetIterationTime(dt);
    seconds += dt;
  }
  return seconds / static_cast<double>(state.iterations());
}

// bytes_per_second (printed as G/s) from the per-run byte count and the manual time.
void set_bytes(benchmark::State& state, double bytes_per_iter) {
  state.SetBytesProcessed(static_cast<int64_t>(bytes_per_iter) * state.iterations());
}

// ---- elementwise Add vs memcpy --------------------------------------------------------------

void BM_Add(benchmark::State& state) {
  const int64_t n = state.range(0);
  k::Graph g;
  k::Variable a(g, k::random_normal(g, {n}), "a");
  k::Variable b(g, k::random_normal(g, {n}), "b");
  k::Output sum = k::add(a, b);
  k::Session sess(g, cpu_only());
  sess.run(k::global_variables_initializer(g));

  const double bytes = 3.0 * n * sizeof(float);  // read a, read b, write sum
  double op_s = time_runs(state, sess, sum.node);

  std::vector<float> src(n, 1.0f), dst(n);
  double copy_s = median_seconds([&] {
    std::memcpy(dst.data(), src.data(), n * sizeof(float));
    benchmark::DoNotOptimize(dst.data());
  });
  const double copy_gbps = 2.0 * n * sizeof(float) / copy_s / 1e9;
  set_bytes(state, bytes);
  state.counters["GBps"] = bytes / op_s / 1e9;
  state.counters["memcpy_GBps"] = copy_gbps;
  state.counters["ratio_to_memcpy"] = (bytes / op_s / 1e9) / copy_gbps;
}
BENCHMARK(BM_Add)->Arg(16 << 20)->UseManualTime()->Unit(benchmark::kMillisecond);

// ---- MatMul vs Eigen ------------------------------------------------------------------------

void BM_MatMul(benchmark::State& state) {
  const int64_t n = state.range(0);
  k::Graph g;
  k::Variable a(g, k::random_normal(g, {n, n}), "a");
  k::Variable b(g, k::random_normal(g, {n, n}), "b");
  k::Output c = k::matmul(a, b);
  k::Session sess(g, cpu_only());
  sess.run(k::global_variables_initializer(g));

  const double flops = 2.0 * n * n * n;
  double op_s = time_runs(state, sess, c.node);

  // The same product written directly in Eigen (row-major, as kiln stores tensors).
  using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Mat ea = Mat::Random(n, n), eb = Mat::Random(n, n), ec(n, n);
  double eigen_s = median_seconds([&] {
    ec.noalias() = ea * eb;
    benchmark::DoNotOptimize(ec.data());
  }, 5);
  state.counters["GFLOPs"] = flops / op_s / 1e9;
  state.counters["eigen_GFLOPs"] = flops / eigen_s / 1e9;
  state.counters["ratio_to_eigen"] = eigen_s / op_s;
}
BENCHMARK(BM_MatMul)->Arg(1024)->UseManualTime()->Unit(benchmark::kMillisecond);

// ---- RandomStandardNormal vs memset ---------------------------------------------------------

void BM_RandomNormal(benchmark::State& state) {
  const int64_t n = state.range(0);
  k::Graph g;
  k::random_normal(g, {n}, {}, "rn");
  // The RandomStandardNormal node alone (random_normal also adds Mul and Add for stddev/mean).
  k::Operation rnd = g.get_operation_by_name("rn/RandomStandardNormal");
  k::Session sess(g, cpu_only());

  const double bytes = static_cast<double>(n) * sizeof(float);
  double op_s = time_runs(state, sess, rnd);

  std::vector<float> dst(n);
  double memset_s = median_seconds([&] {
    std::memset(dst.data(), 0x3f, n * sizeof(float));
    benchmark::DoNotOptimize(dst.data());
  });
  set_bytes(state, bytes);
  state.counters["GBps"] = bytes / op_s / 1e9;
  state.counters["Msamples_per_s"] = static_cast<double>(n) / op_s / 1e6;
  state.counters["memset_GBps"] = bytes / memset_s / 1e9;
  state.counters["ratio_to_memset"] = memset_s / op_s;
}
BENCHMARK(BM_RandomNormal)->Arg(16 << 20)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

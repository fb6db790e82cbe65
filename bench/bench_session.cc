// Session overhead per executed node.
//
// A chain of N tiny nodes on a scalar float is run over and over; since each node's compute is
// a few nanoseconds (CPU) or one tiny kernel (GPU), the time per run divided by N is what the
// executor, the kernel dispatch and (on a GPU) the launch cost per node. Targets: <= 2 us/node
// on the CPU, <= 5 us/node on a GPU (perf-anchors-compute.md, G1).
//
//   Identity chain: no arithmetic at all, pure executor/bookkeeping cost.
//   Add chain:      x = x + 1 repeated, a real kernel per node (one launch each on a GPU).
//
// N = 1 shows the fixed cost of one Session::run; N = 1000 the per-node slope.
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <string>

#include <kiln/kiln.h>

namespace k = kiln;

namespace {

enum class Chain { kIdentity, kAdd };

// Builds the chain under `device` ("" for the session's default) and returns its last output.
k::Output build_chain(k::Graph& g, Chain chain, int n, const std::string& device) {
  auto scope = g.device(device);
  k::Output x = k::constant(g, 1.0f, "x0");
  k::Output one = k::constant(g, 1.0f, "one");
  for (int i = 0; i < n; ++i) x = chain == Chain::kAdd ? k::add(x, one) : k::identity(x);
  return x;
}

void run_chain(benchmark::State& state, Chain chain, bool gpu) {
  if (gpu && k::gpu::device_count() == 0) {
    state.SkipWithError("no GPU");
    return;
  }
  const int n = static_cast<int>(state.range(0));
  k::Graph g;
  k::Output last = build_chain(g, chain, n, gpu ? "/gpu:0" : "/cpu:0");
  k::SessionOptions options;
  if (!gpu) options.gpu_devices = 0;
  k::Session sess(g, options);
  // Warm-up: the first run places nodes and builds (then caches) the plan.
  for (int i = 0; i < 3; ++i) benchmark::DoNotOptimize(sess.run(last));

  double seconds = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    k::Tensor out = sess.run(last);  // run() returns after the GPU work has finished
    benchmark::DoNotOptimize(out);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const double runs = static_cast<double>(state.iterations());
  state.counters["us_per_node"] = seconds * 1e6 / (runs * n);
  state.counters["us_per_run"] = seconds * 1e6 / runs;
  // Sanity: the Add chain must produce 1 + N (exact in float for these N).
  if (chain == Chain::kAdd) {
    float v = sess.run(last).item<float>();
    if (v != 1.0f + static_cast<float>(n)) state.SkipWithError("Add chain gave a wrong value");
  }
}

void BM_Cpu_IdentityChain(benchmark::State& s) { run_chain(s, Chain::kIdentity, false); }
void BM_Cpu_AddChain(benchmark::State& s) { run_chain(s, Chain::kAdd, false); }
void BM_Gpu_IdentityChain(benchmark::State& s) { run_chain(s, Chain::kIdentity, true); }
void BM_Gpu_AddChain(benchmark::State& s) { run_chain(s, Chain::kAdd, true); }

// Wall time: the calling thread blocks while the GPU works, so CPU time would flatter us.
#define KILN_CHAIN_BENCH(fn) \
  BENCHMARK(fn)->Arg(1)->Arg(10)->Arg(100)->Arg(1000)->UseRealTime()->Unit(benchmark::kMicrosecond)
KILN_CHAIN_BENCH(BM_Cpu_IdentityChain);
KILN_CHAIN_BENCH(BM_Cpu_AddChain);
KILN_CHAIN_BENCH(BM_Gpu_IdentityChain);
KILN_CHAIN_BENCH(BM_Gpu_AddChain);

}  // namespace

BENCHMARK_MAIN();

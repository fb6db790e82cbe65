// GPU op throughput through graph + session, each next to its hardware bound measured in the
// same process, on the same GPU and stream:
//   RandomStandardNormal, 64M floats (1 write)      vs a plain write kernel     -> ratio_to_write
//   Add (2 reads + 1 write), Relu (1 read + 1 write) vs a plain copy kernel      -> ratio_to_copy
//   MatMul 4096^3 float32                            vs cublasSgemm, same handle -> ratio_to_cublas
// Targets (perf-anchors-compute.md G7, G5, G3): >= 0.70, >= 0.85, >= 0.95.
//
// Graph inputs are Variables initialised once; each timed Session::run names the op as a
// *target*, so nothing is fed or fetched and its output is just dropped. run() returns after the
// GPU work is done, so session runs are timed with the wall clock, end to end, subtracting
// nothing (launch + executor overhead count against us). Raw kernels and cuBLAS are timed with
// CUDA events. Everything skips with "no GPU" when none is present.
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include <kiln/kiln.h>

#include "kernels/cuda/cuda_primitives.h"  // cublas_handle(Device&)

namespace k = kiln;

#define CHECK_CUDA(expr)                                                               \
  do {                                                                                 \
    cudaError_t e_ = (expr);                                                           \
    if (e_ != cudaSuccess) {                                                           \
      std::fprintf(stderr, "%s failed: %s (%s:%d)\n", #expr, cudaGetErrorString(e_),   \
                   __FILE__, __LINE__);                                                \
      std::abort();                                                                    \
    }                                                                                  \
  } while (0)

namespace {

// ---- the bound kernels: as simple as a bandwidth test gets (16-byte accesses, one per thread) --

__global__ void write_kernel(float4* out, size_t n4, float v) {
  size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x;
  if (i < n4) out[i] = make_float4(v, v, v, v);
}

__global__ void copy_kernel(const float4* __restrict__ in, float4* __restrict__ out, size_t n4) {
  size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x;
  if (i < n4) out[i] = in[i];
}

unsigned blocks_for(size_t n4) { return static_cast<unsigned>((n4 + 255) / 256); }

// Mean seconds of one `launch` on `stream`: `warmup` untimed calls, then `reps` back to back
// between two events.
double event_seconds(cudaStream_t stream, const std::function<void()>& launch, int reps = 20,
                     int warmup = 3) {
  for (int i = 0; i < warmup; ++i) launch();
  cudaEvent_t start, stop;
  CHECK_CUDA(cudaEventCreate(&start));
  CHECK_CUDA(cudaEventCreate(&stop));
  CHECK_CUDA(cudaEventRecord(start, stream));
  for (int i = 0; i < reps; ++i) launch();
  CHECK_CUDA(cudaEventRecord(stop, stream));
  CHECK_CUDA(cudaEventSynchronize(stop));
  CHECK_CUDA(cudaGetLastError());
  float ms = 0;
  CHECK_CUDA(cudaEventElapsedTime(&ms, start, stop));
  CHECK_CUDA(cudaEventDestroy(start));
  CHECK_CUDA(cudaEventDestroy(stop));
  return ms * 1e-3 / reps;
}

// Write bandwidth (bytes/s) of n floats on `stream`.
double write_bandwidth(cudaStream_t stream, size_t n) {
  float* buf = nullptr;
  CHECK_CUDA(cudaMalloc(&buf, n * sizeof(float)));
  size_t n4 = n / 4;
  double s = event_seconds(stream, [&] {
    write_kernel<<<blocks_for(n4), 256, 0, stream>>>(reinterpret_cast<float4*>(buf), n4, 1.0f);
  });
  CHECK_CUDA(cudaFree(buf));
  return n * sizeof(float) / s;
}

// Copy bandwidth (bytes read + written per second) of n floats on `stream`.
double copy_bandwidth(cudaStream_t stream, size_t n) {
  float *in = nullptr, *out = nullptr;
  CHECK_CUDA(cudaMalloc(&in, n * sizeof(float)));
  CHECK_CUDA(cudaMalloc(&out, n * sizeof(float)));
  CHECK_CUDA(cudaMemsetAsync(in, 0, n * sizeof(float), stream));
  size_t n4 = n / 4;
  double s = event_seconds(stream, [&] {
    copy_kernel<<<blocks_for(n4), 256, 0, stream>>>(reinterpret_cast<const float4*>(in),
                                                    reinterpret_cast<float4*>(out), n4);
  });
  CHECK_CUDA(cudaFree(in));
  CHECK_CUDA(cudaFree(out));
  return 2.0 * n * sizeof(float) / s;
}

bool skip_without_gpu(benchmark::State& state) {
  if (k::gpu::device_count() > 0) return false;
  state.SkipWithError("no GPU");
  return true;
}

// The session's /gpu:0 and its stream: the bounds run where the session's kernels run.
k::Device& gpu0(k::Session& sess) { return sess.devices().get(k::DeviceSpec::gpu(0)); }
cudaStream_t stream_of(k::Device& d) { return static_cast<cudaStream_t>(d.stream()); }

// Times sess.run(target) per iteration (wall clock, run() synchronizes); mean seconds per run.
// Also reports cudaMalloc calls per steady-state run, which should be 0 (caching allocator, G11).
double time_runs(benchmark::State& state, k::Session& sess, k::Operation target) {
  for (int i = 0; i < 3; ++i) sess.run(target);  // placement, plan, allocator cache, clocks
  const int64_t mallocs_before = k::gpu::allocator_stats().device_mallocs;
  double seconds = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    sess.run(target);
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    state.SetIterationTime(dt);
    seconds += dt;
  }
  state.counters["cudaMalloc_per_run"] =
      double(k::gpu::allocator_stats().device_mallocs - mallocs_before) / state.iterations();
  return seconds / static_cast<double>(state.iterations());
}

void report_bandwidth(benchmark::State& state, double bytes, double op_s, double bound_bps,
                      const char* ratio_name) {
  state.SetBytesProcessed(static_cast<int64_t>(bytes) * state.iterations());  // kIsRate
  state.counters["GBps"] = bytes / op_s / 1e9;
  state.counters["bound_GBps"] = bound_bps / 1e9;
  state.counters[ratio_name] = (bytes / op_s) / bound_bps;
}

// ---- raw bounds on their own, for the table ----------------------------------------------------

void BM_WriteKernel(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const size_t n = state.range(0), n4 = n / 4;
  float* buf = nullptr;
  CHECK_CUDA(cudaMalloc(&buf, n * sizeof(float)));
  auto launch = [&] {
    write_kernel<<<blocks_for(n4), 256>>>(reinterpret_cast<float4*>(buf), n4, 1.0f);
  };
  event_seconds(nullptr, launch, 1);  // warm-up
  for (auto _ : state) state.SetIterationTime(event_seconds(nullptr, launch, 1, 0));
  CHECK_CUDA(cudaFree(buf));
  state.SetBytesProcessed(static_cast<int64_t>(n * sizeof(float)) * state.iterations());
}
BENCHMARK(BM_WriteKernel)->Arg(64 << 20)->UseManualTime()->Unit(benchmark::kMicrosecond);

// The floor under any per-node GPU cost: launching an empty kernel and, for a chain, waiting for
// it. bench_session's GPU chains are read against this (µs per launch on this machine).
__global__ void empty_kernel() {}

void BM_EmptyKernelLaunch(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const int n = static_cast<int>(state.range(0));
  cudaStream_t stream = nullptr;
  CHECK_CUDA(cudaStreamCreate(&stream));
  empty_kernel<<<1, 1, 0, stream>>>();
  CHECK_CUDA(cudaStreamSynchronize(stream));
  double seconds = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) empty_kernel<<<1, 1, 0, stream>>>();
    CHECK_CUDA(cudaStreamSynchronize(stream));
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  CHECK_CUDA(cudaGetLastError());
  CHECK_CUDA(cudaStreamDestroy(stream));
  state.counters["us_per_launch"] = seconds * 1e6 / (static_cast<double>(state.iterations()) * n);
}
BENCHMARK(BM_EmptyKernelLaunch)->Arg(1)->Arg(1000)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_CopyKernel(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const size_t n = state.range(0), n4 = n / 4;
  float *in = nullptr, *out = nullptr;
  CHECK_CUDA(cudaMalloc(&in, n * sizeof(float)));
  CHECK_CUDA(cudaMalloc(&out, n * sizeof(float)));
  auto launch = [&] {
    copy_kernel<<<blocks_for(n4), 256>>>(reinterpret_cast<const float4*>(in),
                                          reinterpret_cast<float4*>(out), n4);
  };
  event_seconds(nullptr, launch, 1);  // warm-up
  for (auto _ : state) state.SetIterationTime(event_seconds(nullptr, launch, 1, 0));
  CHECK_CUDA(cudaFree(in));
  CHECK_CUDA(cudaFree(out));
  state.SetBytesProcessed(static_cast<int64_t>(2 * n * sizeof(float)) * state.iterations());
}
BENCHMARK(BM_CopyKernel)->Arg(16 << 20)->Arg(64 << 20)->UseManualTime()->Unit(benchmark::kMicrosecond);

// ---- random_normal -------------------------------------------------------------------------------

void BM_RandomNormal(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const int64_t n = state.range(0);
  k::Graph g;
  {
    auto on_gpu = g.device("/gpu:0");
    k::random_normal(g, {n}, {}, "rn");
  }
  // The RandomStandardNormal node alone (random_normal adds a Mul and an Add for stddev/mean).
  k::Operation rnd = g.get_operation_by_name("rn/RandomStandardNormal");
  k::Session sess(g);
  double op_s = time_runs(state, sess, rnd);
  double bound = write_bandwidth(stream_of(gpu0(sess)), n);
  report_bandwidth(state, double(n) * sizeof(float), op_s, bound, "ratio_to_write");
  state.counters["Gsamples_per_s"] = n / op_s / 1e9;
}
BENCHMARK(BM_RandomNormal)->Arg(64 << 20)->UseManualTime()->Unit(benchmark::kMicrosecond);

// ---- elementwise ---------------------------------------------------------------------------------

enum class Elementwise { kAdd, kRelu };

void run_elementwise(benchmark::State& state, Elementwise which) {
  if (skip_without_gpu(state)) return;
  const int64_t n = state.range(0);
  k::Graph g;
  k::Operation op;
  {
    auto on_gpu = g.device("/gpu:0");
    k::Variable a(g, k::random_normal(g, {n}), "a");
    k::Variable b(g, k::random_normal(g, {n}), "b");
    op = (which == Elementwise::kAdd ? k::add(a, b) : k::relu(a)).node;
  }
  k::Session sess(g);
  sess.run(k::global_variables_initializer(g));
  double op_s = time_runs(state, sess, op);
  double bound = copy_bandwidth(stream_of(gpu0(sess)), n);
  const int streams = which == Elementwise::kAdd ? 3 : 2;  // arrays read + written
  report_bandwidth(state, double(streams) * n * sizeof(float), op_s, bound, "ratio_to_copy");
}

void BM_Add(benchmark::State& state) { run_elementwise(state, Elementwise::kAdd); }
void BM_Relu(benchmark::State& state) { run_elementwise(state, Elementwise::kRelu); }
BENCHMARK(BM_Add)->Arg(16 << 20)->Arg(64 << 20)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Relu)->Arg(16 << 20)->Arg(64 << 20)->UseManualTime()->Unit(benchmark::kMicrosecond);

// ---- reductions ----------------------------------------------------------------------------------
// Sum over rows of a [rows, cols] float matrix, both ways: axis 0 (column sums: the bias-gradient
// shape) and axis 1 (row sums), next to the copy kernel (bytes read once, output negligible).

void run_reduce(benchmark::State& state, int64_t axis) {
  if (skip_without_gpu(state)) return;
  const int64_t rows = state.range(0), cols = state.range(1);
  k::Graph g;
  k::Operation op;
  {
    auto on_gpu = g.device("/gpu:0");
    k::Variable a(g, k::random_normal(g, {rows, cols}), "a");
    op = k::reduce_sum(a, {axis}).node;
  }
  k::Session sess(g);
  sess.run(k::global_variables_initializer(g));
  double op_s = time_runs(state, sess, op);
  double bound = copy_bandwidth(stream_of(gpu0(sess)), rows * cols);
  report_bandwidth(state, double(rows) * cols * sizeof(float), op_s, bound, "ratio_to_copy");
}

void BM_ReduceSumAxis0(benchmark::State& state) { run_reduce(state, 0); }
void BM_ReduceSumAxis1(benchmark::State& state) { run_reduce(state, 1); }
BENCHMARK(BM_ReduceSumAxis0)->Args({65536, 1024})->Args({8192, 8192})->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ReduceSumAxis1)->Args({65536, 1024})->Args({8192, 8192})->UseManualTime()->Unit(benchmark::kMicrosecond);

// ---- MatMul vs cuBLAS ----------------------------------------------------------------------------

void BM_MatMul(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  const int64_t n = state.range(0);
  k::Graph g;
  k::Operation op;
  {
    auto on_gpu = g.device("/gpu:0");
    k::Variable a(g, k::random_normal(g, {n, n}), "a");
    k::Variable b(g, k::random_normal(g, {n, n}), "b");
    op = k::matmul(a, b).node;
  }
  k::Session sess(g);
  sess.run(k::global_variables_initializer(g));
  const double flops = 2.0 * n * n * n;
  double op_s = time_runs(state, sess, op);

  // The same product straight through cuBLAS on kiln's own handle (same stream, same math
  // mode), reading the session's variable buffers. Row-major C = A B is column-major
  // C^T = B^T A^T, hence B before A.
  k::Device& dev = gpu0(sess);
  auto handle = static_cast<cublasHandle_t>(k::kernels::cuda::cublas_handle(dev));
  k::Tensor a = sess.variable_value("a"), b = sess.variable_value("b");
  float* c = nullptr;
  CHECK_CUDA(cudaMalloc(&c, n * n * sizeof(float)));
  const float one = 1.0f, zero = 0.0f;
  const int ni = static_cast<int>(n);
  double cublas_s = event_seconds(stream_of(dev), [&] {
    cublasStatus_t st = cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, ni, ni, ni, &one,
                                    b.data<float>(), ni, a.data<float>(), ni, &zero, c, ni);
    if (st != CUBLAS_STATUS_SUCCESS) std::abort();
  }, 10);
  CHECK_CUDA(cudaFree(c));

  state.counters["TFLOPs"] = flops / op_s / 1e12;
  state.counters["cublas_TFLOPs"] = flops / cublas_s / 1e12;
  state.counters["ratio_to_cublas"] = cublas_s / op_s;
}
BENCHMARK(BM_MatMul)->Arg(4096)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (k::gpu::device_count() > 0) benchmark::AddCustomContext("gpu", k::gpu::device_description(0));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

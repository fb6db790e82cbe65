// CUDA primitives vs CPU: reductions and transposes.
#include "kernels/cuda_test_util.h"

namespace kiln::kernels {
namespace {

using namespace test_util;

// ---- reduce ----

TEST(CudaPrimitives, ReduceMatchesCpu) {
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  const ReduceShape shapes[] = {
      {1, 1000, 1},  // full reduction
      {1, 1, 1},     {37, 129, 1},  // rows (contiguous segments)
      {1, 129, 37},  // columns (bias-gradient shape)
      {5, 17, 9},    // general
      {64, 3, 1},    {1, 5000, 2},
      {3, 4000, 40}, {2, 300, 1000},  // columns split into chunks (two passes)
      {3, 0, 4},     // empty reductions: sum 0, mean NaN/0, max -inf/lowest
      {1, 0, 1},     {0, 5, 3},  // empty output
  };
  const ReduceOp ops[] = {ReduceOp::kSum, ReduceOp::kMean, ReduceOp::kMax};
  uint32_t seed = 300;
  for (const ReduceShape& s : shapes) {
    const Shape in_shape{s.outer, s.reduced, s.inner}, out_shape{s.outer, s.inner};
    for (DType dtype : {DType::kFloat, DType::kDouble, DType::kInt32, DType::kInt64}) {
      Tensor x = random_host(dtype, in_shape, -50, 50, seed++);
      Tensor gx = to_gpu(x);
      for (ReduceOp op : ops) {
        Tensor want(dtype, out_shape);
        C().reduce(cpu(), op, x, s, want);
        Tensor out = gpu_tensor(dtype, out_shape);
        G().reduce(gpu(), op, gx, s, out);
        // Sums of up to 5000 terms of magnitude <= 50, added in different orders.
        const double scale = op == ReduceOp::kSum ? 50.0 * s.reduced : 50.0;
        const double atol = op == ReduceOp::kMax ? 0 : tol(dtype) * scale;
        expect_close(want, out, op == ReduceOp::kMax ? 0 : tol(dtype), atol,
                     "reduce op " + std::to_string(static_cast<int>(op)) + " " +
                         dtype_name(dtype) + " [" + std::to_string(s.outer) + "," +
                         std::to_string(s.reduced) + "," + std::to_string(s.inner) + "]");
      }
    }
  }
}

TEST(CudaPrimitives, ReduceMaxPropagatesNaN) {
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  Tensor x = random_host(DType::kFloat, Shape{4, 100}, -5, 5, 9);
  x.data<float>()[150] = std::numeric_limits<float>::quiet_NaN();  // row 1
  Tensor out = gpu_tensor(DType::kFloat, Shape{4});
  G().reduce(gpu(), ReduceOp::kMax, to_gpu(x), ReduceShape{4, 100, 1}, out);
  std::vector<float> got = out.to_vector<float>();
  EXPECT_FALSE(std::isnan(got[0]));
  EXPECT_TRUE(std::isnan(got[1]));
  EXPECT_FALSE(std::isnan(got[2]));
}

TEST(CudaPrimitives, LargeFullReduceIsAccurate) {
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  const int64_t n = (int64_t{1} << 24) + 3;
  Tensor x = random_host(DType::kFloat, Shape{n}, 0.5, 1.5, 21);
  double sum = 0, mx = -1;
  for (float v : x.to_vector<float>()) sum += v, mx = std::max<double>(mx, v);
  Tensor gx = to_gpu(x);
  const ReduceShape s{1, n, 1};
  Tensor out = gpu_tensor(DType::kFloat, Shape{1});
  G().reduce(gpu(), ReduceOp::kSum, gx, s, out);
  EXPECT_NEAR(out.item<float>(), sum, 1e-5 * sum);
  G().reduce(gpu(), ReduceOp::kMean, gx, s, out);
  EXPECT_NEAR(out.item<float>(), sum / n, 1e-5 * sum / n);
  G().reduce(gpu(), ReduceOp::kMax, gx, s, out);
  EXPECT_EQ(out.item<float>(), static_cast<float>(mx));
  // Deterministic: the same bits on a second run.
  Tensor out2 = gpu_tensor(DType::kFloat, Shape{1});
  G().reduce(gpu(), ReduceOp::kSum, gx, s, out);
  G().reduce(gpu(), ReduceOp::kSum, gx, s, out2);
  EXPECT_EQ(out.item<float>(), out2.item<float>());
}

// ---- transpose ----

TEST(CudaPrimitives, TransposeMatchesCpu) {
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  struct Case { Shape shape; std::vector<int> perm; };
  const Case cases[] = {
      {{37, 65}, {1, 0}},                 // 2-D: tiled, partial tiles
      {{64, 128}, {1, 0}},                // 2-D: whole tiles
      {{3, 33, 70}, {0, 2, 1}},           // batched 2-D: tiled
      {{1, 5, 1, 7}, {3, 2, 1, 0}},       // size-1 dims dropped -> 2-D
      {{4, 5, 6}, {2, 0, 1}},             // generic
      {{2, 3, 4, 5}, {3, 1, 0, 2}},       // generic rank 4
      {{4, 5, 6}, {0, 1, 2}},             // identity: a copy
      {{6, 7, 8}, {1, 2, 0}},             // merges to 2-D
      {{2, 1, 3, 2, 1, 2, 3, 2}, {7, 2, 5, 0, 4, 6, 1, 3}},  // rank 8
      {{0, 3}, {1, 0}},                   // empty
      {{}, {}},                           // scalar
  };
  uint32_t seed = 500;
  for (const Case& c : cases) {
    std::vector<int64_t> out_dims;
    for (int p : c.perm) out_dims.push_back(c.shape.dim(p));
    const Shape out_shape(out_dims);
    for (DType dtype : {DType::kInt8, DType::kHalf, DType::kFloat, DType::kDouble}) {
      Tensor x = random_host(dtype, c.shape, -100, 100, seed++);
      Tensor want(dtype, out_shape);
      C().transpose(cpu(), x, c.perm, want);
      Tensor out = gpu_tensor(dtype, out_shape);
      G().transpose(gpu(), to_gpu(x), c.perm, out);
      expect_exact(want, out, "transpose " + str(c.shape) + " " + dtype_name(dtype));
    }
  }
}

}  // namespace
}  // namespace kiln::kernels

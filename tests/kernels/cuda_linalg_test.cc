// CUDA primitives vs CPU: matmul (cuBLAS), softmax and sparse cross-entropy.
#include "kernels/cuda_test_util.h"

namespace kiln::kernels {
namespace {

using namespace test_util;

// ---- matmul ----

// ||got - want||_F / ||want||_F.
double relative_frobenius(const std::vector<double>& want, const std::vector<double>& got) {
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    num += (got[i] - want[i]) * (got[i] - want[i]);
    den += want[i] * want[i];
  }
  return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}

Shape stored_shape(int64_t rows, int64_t cols, bool transposed) {
  return transposed ? Shape{cols, rows} : Shape{rows, cols};
}

TEST(CudaPrimitives, MatmulMatchesCpu) {
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  struct Mkn { int64_t m, k, n; };
  const Mkn sizes[] = {{1, 1, 1}, {7, 13, 5}, {33, 65, 17}, {64, 128, 32},
                       {0, 5, 3}, {4, 0, 3},  {3, 5, 0}};
  uint32_t seed = 700;
  for (DType dtype : {DType::kFloat, DType::kDouble}) {
    for (const Mkn& s : sizes) {
      for (int combo = 0; combo < 4; ++combo) {
        const bool ta = combo & 1, tb = combo & 2;
        Tensor a = random_host(dtype, stored_shape(s.m, s.k, ta), -1, 1, seed++);
        Tensor b = random_host(dtype, stored_shape(s.k, s.n, tb), -1, 1, seed++);
        Tensor want(dtype, Shape{s.m, s.n});
        C().matmul(cpu(), a, b, ta, tb, want);
        Tensor out = gpu_tensor(dtype, Shape{s.m, s.n});
        G().matmul(gpu(), to_gpu(a), to_gpu(b), ta, tb, out);
        const std::string what = std::string("matmul ") + dtype_name(dtype) + " " +
                                 std::to_string(s.m) + "x" + std::to_string(s.k) + "x" +
                                 std::to_string(s.n) + " ta=" + std::to_string(ta) +
                                 " tb=" + std::to_string(tb);
        Tensor got = out.to_host();
        ASSERT_EQ(got.shape(), want.shape()) << what;
        EXPECT_LT(relative_frobenius(as_doubles(want), as_doubles(got)),
                  dtype == DType::kFloat ? 1e-5 : 1e-12)
            << what;
        if (s.k == 0) expect_exact(want, out, what);  // exactly zero
      }
    }
  }
}

// Strict FP32 on a size where TF32 would show (its error is ~1e-3): checked against a float64
// product computed here, independent of the CPU primitive.
TEST(CudaPrimitives, MatmulLargeIsStrictFp32) {
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  const int64_t m = 512, k = 1024, n = 256;
  Tensor a = random_host(DType::kFloat, Shape{m, k}, -1, 1, 801);
  Tensor b = random_host(DType::kFloat, Shape{k, n}, -1, 1, 802);
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  std::vector<double> want(m * n, 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t p = 0; p < k; ++p) {
      const double av = pa[i * k + p];
      for (int64_t j = 0; j < n; ++j) want[i * n + j] += av * pb[p * n + j];
    }
  Tensor out = gpu_tensor(DType::kFloat, Shape{m, n});
  G().matmul(gpu(), to_gpu(a), to_gpu(b), false, false, out);
  EXPECT_LT(relative_frobenius(want, as_doubles(out.to_host())), 1e-5);
}

#if defined(KILN_HAVE_CUDA)
TEST(CudaPrimitives, CublasHandleIsCachedPerStream) {
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  void* h = cuda::cublas_handle(gpu());
  EXPECT_NE(h, nullptr);
  EXPECT_EQ(h, cuda::cublas_handle(gpu()));
  Device other(DeviceSpec::gpu(1), 0, 1);  // a second logical GPU: its own stream
  EXPECT_NE(h, cuda::cublas_handle(other));
}
#endif

// ---- softmax / sparse cross-entropy ----

TEST(CudaPrimitives, SoftmaxMatchesCpu) {
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  struct Case { Shape shape; double lo, hi; };
  const Case cases[] = {
      {{1, 1}, -10, 10},     {{7, 10}, -10, 10},      {{5, 32}, -10, 10},  // warp per row
      {{5, 33}, -10, 10},    {{8, 200}, -10, 10},     {{6, 300}, -10, 10},
      {{129, 1000}, -10, 10}, {{3, 1024}, -10, 10},
      {{5, 1025}, -10, 10},  {{3, 5000}, -10, 10},                              // block per row
      {{2, 3, 17}, -10, 10}, {{4, 50}, 990, 1010},  // large logits: needs max subtraction
      {{0, 10}, -1, 1},      {{3, 0}, -1, 1},
  };
  uint32_t seed = 900;
  for (const Case& c : cases) {
    for (DType dtype : {DType::kFloat, DType::kDouble}) {
      Tensor x = random_host(dtype, c.shape, c.lo, c.hi, seed++);
      Tensor want(dtype, c.shape);
      C().softmax(cpu(), x, want);
      Tensor out = gpu_tensor(dtype, c.shape);
      G().softmax(gpu(), to_gpu(x), out);
      expect_close(want, out, tol(dtype) * 10, tol(dtype) / 10,
                   "softmax " + str(c.shape) + " " + dtype_name(dtype));
    }
  }
}

TEST(CudaPrimitives, SparseXentMatchesCpu) {
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  struct Case { int64_t batch, classes; };
  const Case cases[] = {{1, 1}, {7, 10}, {9, 129}, {64, 1000}, {3, 3000}, {0, 5}};
  uint32_t seed = 1000;
  for (const Case& c : cases) {
    for (DType dtype : {DType::kFloat, DType::kDouble}) {
      for (DType label_type : {DType::kInt32, DType::kInt64}) {
        Tensor logits = random_host(dtype, Shape{c.batch, c.classes}, -10, 10, seed++);
        std::mt19937 rng(seed++);
        std::vector<int64_t> l(c.batch);
        for (auto& v : l) v = std::uniform_int_distribution<int64_t>(0, c.classes - 1)(rng);
        Tensor labels(label_type, Shape{c.batch});
        for (int64_t i = 0; i < c.batch; ++i) {
          if (label_type == DType::kInt32) labels.data<int32_t>()[i] = static_cast<int32_t>(l[i]);
          else labels.data<int64_t>()[i] = l[i];
        }
        Tensor want_loss(dtype, Shape{c.batch}), want_back(dtype, logits.shape());
        C().sparse_xent(cpu(), logits, labels, want_loss, want_back);
        Tensor loss = gpu_tensor(dtype, Shape{c.batch});
        Tensor back = gpu_tensor(dtype, logits.shape());
        G().sparse_xent(gpu(), to_gpu(logits), to_gpu(labels), loss, back);
        const std::string what = "sparse_xent [" + std::to_string(c.batch) + "," +
                                 std::to_string(c.classes) + "] " + dtype_name(dtype) + " " +
                                 dtype_name(label_type);
        expect_close(want_loss, loss, tol(dtype) * 10, tol(dtype), what + " loss");
        expect_close(want_back, back, tol(dtype) * 10, tol(dtype) / 10, what + " backprop");
      }
    }
  }
}

TEST(CudaPrimitives, SparseXentOutOfRangeLabelGivesNaNRow) {
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  const int64_t batch = 4;
  for (int32_t classes : {6, 2000}) {  // the warp-per-row and the block-per-row kernel
    Tensor logits = random_host(DType::kFloat, Shape{batch, classes}, -3, 3, 1234);
    Tensor labels = Tensor::from_vector<int32_t>({2, -1, classes, 0});  // rows 1, 2 invalid
    Tensor loss = gpu_tensor(DType::kFloat, Shape{batch});
    Tensor back = gpu_tensor(DType::kFloat, Shape{batch, classes});
    G().sparse_xent(gpu(), to_gpu(logits), to_gpu(labels), loss, back);
    std::vector<float> l = loss.to_vector<float>(), bp = back.to_vector<float>();
    for (int64_t r = 0; r < batch; ++r) {
      const bool bad = r == 1 || r == 2;
      EXPECT_EQ(std::isnan(l[r]), bad) << "classes " << classes << " row " << r;
      int64_t nans = 0;
      for (int64_t j = 0; j < classes; ++j) nans += std::isnan(bp[r * classes + j]);
      EXPECT_EQ(nans, bad ? classes : 0) << "classes " << classes << " row " << r;
    }
    // The valid rows agree with the CPU.
    Tensor good_labels = Tensor::from_vector<int32_t>({2, 0, 0, 0});
    Tensor want_loss(DType::kFloat, Shape{batch});
    Tensor want_back(DType::kFloat, Shape{batch, classes});
    C().sparse_xent(cpu(), logits, good_labels, want_loss, want_back);
    for (int64_t r : {0, 3})
      EXPECT_NEAR(l[r], want_loss.data<float>()[r], 1e-4) << "classes " << classes << " row " << r;
  }
}

}  // namespace
}  // namespace kiln::kernels

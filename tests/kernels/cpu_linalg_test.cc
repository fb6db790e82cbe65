// CPU primitives: matmul, softmax, sparse softmax cross-entropy, and the primitive table.
#include "kernels/cpu_test_util.h"

namespace kiln::kernels {
namespace {

using namespace test_util;

// ------------------------------------------------------------------------ matmul --

TEST(CpuPrimitivesMatmul, AllTransposeCombosAndSizes) {
  std::mt19937 gen(71);
  struct Mkn { int64_t m, k, n; };
  const Mkn sizes[] = {{3, 5, 7}, {1, 1, 1}, {4, 0, 3}, {0, 3, 2}, {2, 3, 0}, {17, 33, 9},
                       {64, 65, 66}, {1, 40, 1}};
  for_each_type<float, double, int32_t, int64_t>([&]<typename T>() {
    for (const Mkn& z : sizes) {
      for (int t = 0; t < 4; ++t) {
        bool ta = t & 1, tb = t & 2;
        SCOPED_TRACE(std::string(dtype_name(DTypeOf<T>::value)) + " m,k,n=" +
                     std::to_string(z.m) + "," + std::to_string(z.k) + "," +
                     std::to_string(z.n) + " ta=" + std::to_string(ta) +
                     " tb=" + std::to_string(tb));
        Tensor a = random_tensor<T>(ta ? Shape{z.k, z.m} : Shape{z.m, z.k}, gen, -100, 100);
        Tensor b = random_tensor<T>(tb ? Shape{z.n, z.k} : Shape{z.k, z.n}, gen, -100, 100);
        Tensor out(DTypeOf<T>::value, Shape{z.m, z.n});
        std::fill_n(out.data<T>(), out.num_elements(), T(77));  // must be overwritten
        P().matmul(dev(), a, b, ta, tb, out);
        auto av = values<T>(a), bv = values<T>(b), got = values<T>(out);
        for (int64_t i = 0; i < z.m; ++i) {
          for (int64_t j = 0; j < z.n; ++j) {
            double sum = 0, abs_sum = 0;
            for (int64_t l = 0; l < z.k; ++l) {
              double x = av[ta ? l * z.m + i : i * z.k + l];
              double y = bv[tb ? j * z.k + l : l * z.n + j];
              sum += x * y, abs_sum += std::abs(x * y);
            }
            double tol = std::is_integral_v<T> ? 0 : 2 * z.k * eps<T>() * abs_sum;
            ASSERT_NEAR(got[i * z.n + j], sum, tol) << "i=" << i << " j=" << j;
          }
        }
      }
    }
  });
}

TEST(CpuPrimitivesMatmul, BadArgumentsThrow) {
  Tensor a(float32, Shape{2, 3}), b(float32, Shape{4, 5}), out(float32, Shape{2, 5});
  EXPECT_THROW(P().matmul(dev(), a, b, false, false, out), InvalidArgumentError);
  Tensor a8(int8, Shape{2, 3}), b8(int8, Shape{3, 2}), o8(int8, Shape{2, 2});
  EXPECT_THROW(P().matmul(dev(), a8, b8, false, false, o8), InvalidArgumentError);
}

// ------------------------------------------------------------------------ softmax --

std::vector<double> softmax_ref(const std::vector<double>& x, int64_t cols) {
  std::vector<double> out(x.size());
  for (size_t r = 0; r * cols < x.size(); ++r) {
    double mx = -INFINITY, sum = 0;
    for (int64_t c = 0; c < cols; ++c) mx = std::max(mx, x[r * cols + c]);
    for (int64_t c = 0; c < cols; ++c) sum += std::exp(x[r * cols + c] - mx);
    for (int64_t c = 0; c < cols; ++c) out[r * cols + c] = std::exp(x[r * cols + c] - mx) / sum;
  }
  return out;
}

TEST(CpuPrimitivesSoftmax, MatchesReferenceAndRowsSumToOne) {
  std::mt19937 gen(81);
  for_each_type<float, double>([&]<typename T>() {
    for (const Shape& s : {Shape{4, 10}, Shape{1, 1}, Shape{3, 2, 5}, Shape{}, Shape{0, 5},
                           Shape{5, 0}, Shape{2, 1000}}) {
      for (double offset : {0.0, 1000.0, -1000.0, 1e30}) {
        SCOPED_TRACE(std::string(dtype_name(DTypeOf<T>::value)) + " " + s.to_string() +
                     " offset " + std::to_string(offset));
        Tensor x = random_tensor<T>(s, gen, -10, 10);
        for (int64_t i = 0; i < x.num_elements(); ++i)
          x.data<T>()[i] += static_cast<T>(offset);
        Tensor out(DTypeOf<T>::value, s);
        P().softmax(dev(), x, out);
        int64_t cols = s.rank() ? s.dim(-1) : 1;
        auto want = softmax_ref(values<T>(x), cols);
        auto got = values<T>(out);
        for (size_t i = 0; i < got.size(); ++i) {
          ASSERT_TRUE(std::isfinite(got[i]));
          ASSERT_NEAR(got[i], want[i], 16 * eps<T>()) << "i=" << i;
        }
        for (size_t r = 0; cols && r * cols < got.size(); ++r) {
          double sum = 0;
          for (int64_t c = 0; c < cols; ++c) sum += got[r * cols + c];
          ASSERT_NEAR(sum, 1.0, 2 * cols * eps<T>());
        }
      }
    }
  });
  Tensor xi(int32, Shape{2}), oi(int32, Shape{2});
  EXPECT_THROW(P().softmax(dev(), xi, oi), InvalidArgumentError);
}

// -------------------------------------------------------------------- sparse_xent --

TEST(CpuPrimitivesSparseXent, LossAndBackpropMatchReference) {
  std::mt19937 gen(91);
  for_each_type<float, double>([&]<typename T>() {
    for_each_type<int32_t, int64_t>([&]<typename L>() {
      for (double offset : {0.0, 500.0, -3000.0}) {
        const int64_t batch = 6, classes = 7;
        SCOPED_TRACE(std::string(dtype_name(DTypeOf<T>::value)) + " labels " +
                     dtype_name(DTypeOf<L>::value) + " offset " + std::to_string(offset));
        Tensor logits = random_tensor<T>(Shape{batch, classes}, gen, -5, 5);
        for (int64_t i = 0; i < logits.num_elements(); ++i)
          logits.data<T>()[i] += static_cast<T>(offset);
        Tensor labels = random_tensor<L>(Shape{batch}, gen, 0, classes - 1);
        Tensor loss(DTypeOf<T>::value, Shape{batch}), bp(DTypeOf<T>::value, logits.shape());
        P().sparse_xent(dev(), logits, labels, loss, bp);
        auto x = values<T>(logits), lv = values<L>(labels);
        auto sm = softmax_ref(x, classes);
        auto got_loss = values<T>(loss), got_bp = values<T>(bp);
        for (int64_t r = 0; r < batch; ++r) {
          int64_t label = static_cast<int64_t>(lv[r]);
          double want_loss = -std::log(sm[r * classes + label]);
          ASSERT_NEAR(got_loss[r], want_loss, 64 * eps<T>() * (1 + std::abs(x[r * classes])));
          double row_sum = 0;
          for (int64_t c = 0; c < classes; ++c) {
            double want = sm[r * classes + c] - (c == label ? 1 : 0);
            ASSERT_NEAR(got_bp[r * classes + c], want, 16 * eps<T>()) << "r=" << r << " c=" << c;
            row_sum += got_bp[r * classes + c];
          }
          EXPECT_NEAR(row_sum, 0.0, 16 * eps<T>());
        }
      }
    });
  });
}

TEST(CpuPrimitivesSparseXent, OutOfRangeLabelThrowsTensorFlowMessage) {
  Tensor logits(float32, Shape{3, 7});
  std::fill_n(logits.data<float>(), 21, 0.5f);
  Tensor loss(float32, Shape{3}), bp(float32, Shape{3, 7});
  std::fill_n(loss.data<float>(), 3, -42.f);
  Tensor labels = Tensor::of<int32_t>({1, 7, 3}, Shape{3});
  try {
    P().sparse_xent(dev(), logits, labels, loss, bp);
    FAIL() << "label 7 of 7 classes should throw";
  } catch (const InvalidArgumentError& e) {
    EXPECT_STREQ(e.what(),
                 "Received a label value of 7 which is outside the valid range of [0, 7).  "
                 "Label values: 1 7 3");
  }
  EXPECT_EQ(loss.to_vector<float>(), std::vector<float>(3, -42.f));  // nothing written
  Tensor neg = Tensor::of<int64_t>({-1, 0, 0}, Shape{3});
  try {
    P().sparse_xent(dev(), logits, neg, loss, bp);
    FAIL() << "label -1 should throw";
  } catch (const InvalidArgumentError& e) {
    EXPECT_STREQ(e.what(),
                 "Received a label value of -1 which is outside the valid range of [0, 7).  "
                 "Label values: -1 0 0");
  }
}

TEST(CpuPrimitivesSparseXent, EmptyBatchAndBadDtypes) {
  Tensor logits(float32, Shape{0, 4}), labels(int32, Shape{0});
  Tensor loss(float32, Shape{0}), bp(float32, Shape{0, 4});
  P().sparse_xent(dev(), logits, labels, loss, bp);
  Tensor l8(int8, Shape{0});
  EXPECT_THROW(P().sparse_xent(dev(), logits, l8, loss, bp), InvalidArgumentError);
}

// The table hands out the functions of kernels/cpu/cpu_primitives.h.
TEST(CpuPrimitivesTable, PointsAtCpuFunctions) {
  const Primitives& p = cpu_primitives();
  EXPECT_EQ(p.unary, &cpu::unary);
  EXPECT_EQ(p.binary, &cpu::binary);
  EXPECT_EQ(p.cast, &cpu::cast);
  EXPECT_EQ(p.fill, &cpu::fill);
  EXPECT_EQ(p.reduce, &cpu::reduce);
  EXPECT_EQ(p.transpose, &cpu::transpose);
  EXPECT_EQ(p.matmul, &cpu::matmul);
  EXPECT_EQ(p.softmax, &cpu::softmax);
  EXPECT_EQ(p.sparse_xent, &cpu::sparse_xent);
  EXPECT_EQ(p.random, &cpu::random);
  EXPECT_EQ(p.copy, &cpu::copy);
  EXPECT_EQ(&primitives_for(dev()), &p);
}

}  // namespace
}  // namespace kiln::kernels

// CPU primitives: reductions and transposes.
#include "kernels/cpu_test_util.h"

namespace kiln::kernels {
namespace {

using namespace test_util;

// ------------------------------------------------------------------------ reduce --

const ReduceShape kReduceShapes[] = {
    {3, 5, 4}, {1, 7, 1}, {4, 6, 1}, {1, 6, 5}, {2, 1, 3}, {1, 1, 1},
    {3, 0, 2}, {1, 0, 1}, {0, 4, 3}, {2, 3, 0}, {5, 1000, 1}, {2, 300, 7},
};

TEST(CpuPrimitivesReduce, AllOpsDtypesAndShapes) {
  std::mt19937 gen(51);
  for_each_type<float, double, int32_t, int64_t>([&]<typename T>() {
    constexpr bool integer = std::is_integral_v<T>;
    for (const ReduceShape& s : kReduceShapes) {
      for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kMean, ReduceOp::kMax}) {
        SCOPED_TRACE(std::string(dtype_name(DTypeOf<T>::value)) + " op " +
                     std::to_string(static_cast<int>(op)) + " [" + std::to_string(s.outer) +
                     "," + std::to_string(s.reduced) + "," + std::to_string(s.inner) + "]");
        Tensor x = random_tensor<T>(Shape{s.outer, s.reduced, s.inner}, gen, -1000, 1000);
        Tensor out(DTypeOf<T>::value, Shape{s.outer, s.inner});
        P().reduce(dev(), op, x, s, out);
        auto xv = values<T>(x), got = values<T>(out);
        for (int64_t o = 0; o < s.outer; ++o) {
          for (int64_t i = 0; i < s.inner; ++i) {
            double sum = 0, abs_sum = 0, mx = -INFINITY;
            for (int64_t j = 0; j < s.reduced; ++j) {
              double v = xv[(o * s.reduced + j) * s.inner + i];
              sum += v, abs_sum += std::abs(v), mx = std::max(mx, v);
            }
            double want, tol = 0;
            if (op == ReduceOp::kMax) {
              want = s.reduced ? mx : integer ? std::numeric_limits<T>::lowest() : -INFINITY;
            } else if (op == ReduceOp::kSum) {
              want = sum;
              if (!integer) tol = 2 * s.reduced * eps<T>() * abs_sum;
            } else if (integer) {
              want = s.reduced ? std::trunc(sum / s.reduced) : 0;
            } else {
              want = sum / s.reduced;  // NaN when empty
              tol = s.reduced ? 2 * eps<T>() * (abs_sum + std::abs(sum)) : 0;
            }
            double g = got[o * s.inner + i];
            if (!std::isfinite(want)) {  // empty Mean (NaN) or Max (-inf)
              ASSERT_TRUE(same_value(g, want)) << "got " << g << " want " << want;
            } else {
              ASSERT_NEAR(g, want, tol) << "o=" << o << " i=" << i;
            }
          }
        }
      }
    }
  });
}

TEST(CpuPrimitivesReduce, MaxPropagatesNaN) {
  Tensor x = Tensor::of<float>({1.f, NAN, 3.f, 4.f, 5.f, 6.f}, Shape{3, 2});
  for (ReduceShape s : {ReduceShape{1, 3, 2}, ReduceShape{3, 2, 1}}) {
    Tensor out(float32, Shape{s.outer * s.inner});
    P().reduce(dev(), ReduceOp::kMax, x, s, out);
    auto v = out.to_vector<float>();
    EXPECT_TRUE(std::isnan(v[s.inner == 2 ? 1 : 0]));
    EXPECT_EQ(v[s.inner == 2 ? 0 : 1], s.inner == 2 ? 5.f : 4.f);
  }
}

TEST(CpuPrimitivesReduce, BadArgumentsThrow) {
  Tensor x(int8, Shape{2, 3}), o(int8, Shape{2});
  EXPECT_THROW(P().reduce(dev(), ReduceOp::kSum, x, {2, 3, 1}, o), InvalidArgumentError);
  Tensor xf(float32, Shape{2, 3}), of(float32, Shape{3});
  EXPECT_THROW(P().reduce(dev(), ReduceOp::kSum, xf, {2, 3, 1}, of), InvalidArgumentError);
}

// --------------------------------------------------------------------- transpose --

template <typename T>
void check_transpose(const Tensor& x, const std::vector<int>& perm) {
  std::vector<int64_t> out_dims;
  for (int p : perm) out_dims.push_back(x.dim(p));
  Tensor out(x.dtype(), Shape(out_dims));
  P().transpose(dev(), x, perm, out);
  auto xv = x.to_vector<T>(), got = out.to_vector<T>();
  for (int64_t i = 0; i < out.num_elements(); ++i) {
    auto idx = unravel(i, out_dims);
    std::vector<int64_t> in_idx(perm.size());
    for (size_t d = 0; d < perm.size(); ++d) in_idx[perm[d]] = idx[d];
    int64_t src = 0;
    for (int d = 0; d < x.rank(); ++d) src = src * x.dim(d) + in_idx[d];
    ASSERT_TRUE(got[i] == xv[src]) << "output element " << i;
  }
}

std::vector<std::vector<int>> all_perms(int rank) {
  std::vector<int> p(rank);
  std::iota(p.begin(), p.end(), 0);
  std::vector<std::vector<int>> out;
  do out.push_back(p);
  while (std::next_permutation(p.begin(), p.end()));
  return out;
}

TEST(CpuPrimitivesTranspose, EveryPermutationUpToRank4) {
  std::mt19937 gen(61);
  for (const Shape& s : {Shape{3, 5}, Shape{2, 3, 4}, Shape{2, 3, 4, 5}, Shape{3, 1, 4, 1},
                         Shape{1, 2, 1, 3}, Shape{2, 0, 3}, Shape{7}}) {
    SCOPED_TRACE(s.to_string());
    Tensor xf = random_tensor<float>(s, gen, -10, 10);
    Tensor x8 = random_tensor<int8_t>(s, gen, -100, 100);
    Tensor x64 = random_tensor<int64_t>(s, gen, -1e15, 1e15);
    for (const auto& perm : all_perms(s.rank())) {
      check_transpose<float>(xf, perm);
      check_transpose<int8_t>(x8, perm);
      check_transpose<int64_t>(x64, perm);
    }
  }
}

TEST(CpuPrimitivesTranspose, OtherDtypesAndHigherRank) {
  std::mt19937 gen(62);
  Tensor x = random_tensor<double>(Shape{2, 3, 2, 2, 3}, gen, -1, 1);
  check_transpose<double>(x, {4, 2, 0, 3, 1});
  check_transpose<double>(x, {0, 1, 2, 4, 3});
  check_transpose<double>(x, {0, 1, 2, 3, 4});
  check_transpose<double>(Tensor::scalar(1.5), {});
  std::vector<std::string> strs;
  for (int i = 0; i < 24; ++i) strs.push_back("s" + std::to_string(i));
  check_transpose<std::string>(Tensor::of_strings(strs, Shape{2, 3, 4}), {2, 0, 1});
  Tensor h(float16, Shape{4, 6});
  for (int i = 0; i < 24; ++i) h.data<Half>()[i] = Half(static_cast<float>(i));
  Tensor ht(float16, Shape{6, 4});
  P().transpose(dev(), h, {1, 0}, ht);
  for (int r = 0; r < 6; ++r)
    for (int c = 0; c < 4; ++c)
      EXPECT_EQ(static_cast<float>(ht.data<Half>()[r * 4 + c]), static_cast<float>(c * 6 + r));
  Tensor b = Tensor::of<bool>({true, false, false, true, true, false}, Shape{2, 3});
  check_transpose<bool>(b, {1, 0});
}

TEST(CpuPrimitivesTranspose, BadPermThrows) {
  Tensor x(float32, Shape{2, 3}), out(float32, Shape{3, 2});
  EXPECT_THROW(P().transpose(dev(), x, {0, 0}, out), InvalidArgumentError);
  EXPECT_THROW(P().transpose(dev(), x, {1}, out), InvalidArgumentError);
  EXPECT_THROW(P().transpose(dev(), x, {0, 1}, out), InvalidArgumentError);  // wrong out shape
}

}  // namespace
}  // namespace kiln::kernels

// CPU primitives: unary, binary (every broadcast kind), fill and copy against double references.
#include "kernels/cpu_test_util.h"

namespace kiln::kernels {
namespace {

using namespace test_util;

// ------------------------------------------------------------------------- unary --

double unary_ref(UnaryOp op, double x) {
  switch (op) {
    case UnaryOp::kNeg: return -x;
    case UnaryOp::kSquare: return x * x;
    case UnaryOp::kSqrt: return std::sqrt(x);
    case UnaryOp::kExp: return std::exp(x);
    case UnaryOp::kLog: return std::log(x);
    case UnaryOp::kRelu: return x > 0 ? x : 0;
    case UnaryOp::kSigmoid: return 1 / (1 + std::exp(-x));
    case UnaryOp::kTanh: return std::tanh(x);
    case UnaryOp::kIdentity: return x;
  }
  return 0;
}

const UnaryOp kAllUnary[] = {UnaryOp::kNeg,  UnaryOp::kSquare,  UnaryOp::kSqrt,
                             UnaryOp::kExp,  UnaryOp::kLog,     UnaryOp::kRelu,
                             UnaryOp::kSigmoid, UnaryOp::kTanh, UnaryOp::kIdentity};

TEST(CpuPrimitivesUnary, FloatOpsMatchReference) {
  std::mt19937 gen(11);
  for_each_type<float, double>([&]<typename T>() {
    for (UnaryOp op : kAllUnary) {
      for (const Shape& shape : {Shape{3, 4}, Shape{}, Shape{0, 3}, Shape{1000}}) {
        SCOPED_TRACE(std::string(dtype_name(DTypeOf<T>::value)) + " op " +
                     std::to_string(static_cast<int>(op)) + " " + shape.to_string());
        bool positive = op == UnaryOp::kSqrt || op == UnaryOp::kLog;
        Tensor x = random_tensor<T>(shape, gen, positive ? 0.01 : -8.0, 8.0);
        Tensor out(DTypeOf<T>::value, shape);
        P().unary(dev(), op, x, out);
        auto xs = values<T>(x), got = values<T>(out);
        for (size_t i = 0; i < xs.size(); ++i) {
          double want = unary_ref(op, xs[i]);
          ASSERT_NEAR(got[i], want, 8 * eps<T>() * std::abs(want)) << "x=" << xs[i];
        }
      }
    }
  });
}

TEST(CpuPrimitivesUnary, IntegerNegAndSquare) {
  std::mt19937 gen(12);
  for_each_type<int32_t, int64_t>([&]<typename T>() {
    for (UnaryOp op : {UnaryOp::kNeg, UnaryOp::kSquare}) {
      Tensor x = random_tensor<T>(Shape{5, 7}, gen, -3000, 3000);
      Tensor out(DTypeOf<T>::value, x.shape());
      P().unary(dev(), op, x, out);
      auto xs = x.to_vector<T>(), got = out.to_vector<T>();
      for (size_t i = 0; i < xs.size(); ++i)
        EXPECT_EQ(got[i], op == UnaryOp::kNeg ? -xs[i] : xs[i] * xs[i]);
    }
  });
}

TEST(CpuPrimitivesUnary, SigmoidTailsDoNotOverflow) {
  Tensor x = Tensor::of<float>({-1000.f, -100.f, 100.f, 1000.f}, Shape{4});
  Tensor out(float32, Shape{4});
  P().unary(dev(), UnaryOp::kSigmoid, x, out);
  auto got = out.to_vector<float>();
  EXPECT_EQ(got[0], 0.f);
  EXPECT_NEAR(got[1], std::exp(-100.0), 1e-45);
  EXPECT_EQ(got[2], 1.f);
  EXPECT_EQ(got[3], 1.f);
}

TEST(CpuPrimitivesUnary, UnsupportedDtypesThrowNamingTheDtype) {
  Tensor xi = Tensor::of<int32_t>({4, 9}, Shape{2});
  Tensor oi(int32, Shape{2});
  try {
    P().unary(dev(), UnaryOp::kSqrt, xi, oi);
    FAIL() << "int32 sqrt should throw";
  } catch (const InvalidArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("int32"), std::string::npos) << e.what();
  }
  Tensor x8(int8, Shape{2}), o8(int8, Shape{2});
  EXPECT_THROW(P().unary(dev(), UnaryOp::kNeg, x8, o8), InvalidArgumentError);
}

// ------------------------------------------------------------------------ binary --

double binary_ref(BinaryOp op, double a, double b, bool integer) {
  switch (op) {
    case BinaryOp::kAdd: return a + b;
    case BinaryOp::kSub: return a - b;
    case BinaryOp::kMul: return a * b;
    case BinaryOp::kDiv: return integer ? std::trunc(a / b) : a / b;
    case BinaryOp::kMax: return std::isnan(a) || std::isnan(b) ? NAN : std::max(a, b);
  }
  return 0;
}

// Element of `s` that numpy broadcasting reads for output multi-index `out_idx`.
int64_t broadcast_source(const std::vector<int64_t>& out_idx, const Shape& s) {
  size_t lead = out_idx.size() - s.rank();
  int64_t flat = 0;
  for (int d = 0; d < s.rank(); ++d)
    flat = flat * s.dim(d) + (s.dim(d) == 1 ? 0 : out_idx[lead + d]);
  return flat;
}

struct BroadcastCase {
  Shape a, b;
  BroadcastPlan::Kind kind;
};

const BroadcastCase kBroadcastCases[] = {
    {Shape{2, 3}, Shape{2, 3}, BroadcastPlan::kSameShape},
    {Shape{}, Shape{}, BroadcastPlan::kSameShape},
    {Shape{0, 3}, Shape{0, 3}, BroadcastPlan::kSameShape},
    {Shape{}, Shape{4, 5}, BroadcastPlan::kScalarA},
    {Shape{1, 1}, Shape{4, 5}, BroadcastPlan::kScalarA},
    {Shape{4, 5}, Shape{}, BroadcastPlan::kScalarB},
    {Shape{3, 1, 2}, Shape{1}, BroadcastPlan::kScalarB},
    {Shape{2, 1, 3}, Shape{4, 1}, BroadcastPlan::kGeneral},
    {Shape{5, 1}, Shape{1, 7}, BroadcastPlan::kGeneral},
    {Shape{3}, Shape{2, 3}, BroadcastPlan::kGeneral},
    {Shape{2, 3}, Shape{3}, BroadcastPlan::kGeneral},
    {Shape{2, 1, 3, 1}, Shape{1, 4, 1, 5}, BroadcastPlan::kGeneral},
    {Shape{2, 3, 1, 4, 1}, Shape{3, 5, 4, 2}, BroadcastPlan::kGeneral},
    {Shape{2, 1, 2, 1, 2, 1}, Shape{1, 3, 1, 3, 1, 3}, BroadcastPlan::kGeneral},
    {Shape{0, 3}, Shape{1, 3}, BroadcastPlan::kGeneral},
    {Shape{4, 0}, Shape{1}, BroadcastPlan::kScalarB},
};

const BinaryOp kAllBinary[] = {BinaryOp::kAdd, BinaryOp::kSub, BinaryOp::kMul, BinaryOp::kDiv,
                               BinaryOp::kMax};

TEST(CpuPrimitivesBinary, AllOpsDtypesAndBroadcastKinds) {
  std::mt19937 gen(21);
  for_each_type<float, double, int32_t, int64_t>([&]<typename T>() {
    constexpr bool integer = std::is_integral_v<T>;
    for (const BroadcastCase& c : kBroadcastCases) {
      BroadcastPlan plan = make_broadcast_plan(c.a, c.b);
      ASSERT_EQ(plan.kind, c.kind) << c.a.to_string() << " " << c.b.to_string();
      Shape out_shape = broadcast_shapes(c.a, c.b);
      for (BinaryOp op : kAllBinary) {
        SCOPED_TRACE(std::string(dtype_name(DTypeOf<T>::value)) + " op " +
                     std::to_string(static_cast<int>(op)) + " " + c.a.to_string() + " with " +
                     c.b.to_string());
        Tensor a = random_tensor<T>(c.a, gen, -1000, 1000);
        Tensor b = random_tensor<T>(c.b, gen, -1000, 1000);
        if (op == BinaryOp::kDiv && integer) {  // nonzero divisors, some of them small
          T* pb = b.data<T>();
          for (int64_t i = 0; i < b.num_elements(); ++i)
            if (pb[i] == 0 || i % 3 == 0) pb[i] = static_cast<T>(i % 2 ? 7 : -3);
        }
        Tensor out(DTypeOf<T>::value, out_shape);
        P().binary(dev(), op, a, b, plan, out);
        auto av = values<T>(a), bv = values<T>(b), got = values<T>(out);
        for (int64_t i = 0; i < out.num_elements(); ++i) {
          auto idx = unravel(i, out_shape.dims());
          double x = av[broadcast_source(idx, c.a)], y = bv[broadcast_source(idx, c.b)];
          // Float +,-,*,/ are correctly rounded, so the double result rounded to T is exact.
          double want = static_cast<double>(static_cast<T>(binary_ref(op, x, y, integer)));
          ASSERT_EQ(got[i], want) << "i=" << i << " a=" << x << " b=" << y;
        }
      }
    }
  });
}

TEST(CpuPrimitivesBinary, IntegerDivisionTruncatesAndWraps) {
  Tensor a = Tensor::of<int32_t>({7, -7, 7, -7, std::numeric_limits<int32_t>::min(), 5},
                                 Shape{6});
  Tensor b = Tensor::of<int32_t>({2, 2, -2, -2, -1, -1}, Shape{6});
  Tensor out(int32, Shape{6});
  P().binary(dev(), BinaryOp::kDiv, a, b, make_broadcast_plan(a.shape(), b.shape()), out);
  EXPECT_EQ(out.to_vector<int32_t>(),
            (std::vector<int32_t>{3, -3, -3, 3, std::numeric_limits<int32_t>::min(), -5}));
}

TEST(CpuPrimitivesBinary, IntegerDivisionByZeroThrows) {
  for_each_type<int32_t, int64_t>([&]<typename T>() {
    for (const BroadcastCase& c : kBroadcastCases) {
      Tensor a = Tensor(DTypeOf<T>::value, c.a), b = Tensor(DTypeOf<T>::value, c.b);
      Shape out_shape = broadcast_shapes(c.a, c.b);
      if (out_shape.num_elements() == 0) continue;
      std::fill_n(a.data<T>(), a.num_elements(), T(5));
      std::fill_n(b.data<T>(), b.num_elements(), T(2));
      b.data<T>()[b.num_elements() - 1] = 0;
      Tensor out(DTypeOf<T>::value, out_shape);
      try {
        P().binary(dev(), BinaryOp::kDiv, a, b, make_broadcast_plan(c.a, c.b), out);
        FAIL() << "no throw for " << c.a.to_string() << " / " << c.b.to_string();
      } catch (const InvalidArgumentError& e) {
        EXPECT_STREQ(e.what(), "Integer division by zero");
      }
    }
  });
}

TEST(CpuPrimitivesBinary, FloatDivisionByZeroAndMaxPropagatesNaN) {
  Tensor a = Tensor::of<float>({1.f, -1.f, 0.f, NAN, 2.f}, Shape{5});
  Tensor b = Tensor::of<float>({0.f, 0.f, 0.f, 1.f, NAN}, Shape{5});
  BroadcastPlan plan = make_broadcast_plan(a.shape(), b.shape());
  Tensor out(float32, Shape{5});
  P().binary(dev(), BinaryOp::kDiv, a, b, plan, out);
  auto d = out.to_vector<float>();
  EXPECT_EQ(d[0], INFINITY);
  EXPECT_EQ(d[1], -INFINITY);
  EXPECT_TRUE(std::isnan(d[2]));
  P().binary(dev(), BinaryOp::kMax, a, b, plan, out);
  auto m = out.to_vector<float>();
  EXPECT_TRUE(std::isnan(m[3]));
  EXPECT_TRUE(std::isnan(m[4]));
}

TEST(CpuPrimitivesBinary, UnsupportedDtypeThrows) {
  Tensor a(int8, Shape{2}), b(int8, Shape{2}), out(int8, Shape{2});
  EXPECT_THROW(P().binary(dev(), BinaryOp::kAdd, a, b, make_broadcast_plan(a.shape(), b.shape()),
                          out),
               InvalidArgumentError);
}

// ------------------------------------------------------------------ fill and copy --

TEST(CpuPrimitivesFill, EveryKindOfDtype) {
  Tensor f(float32, Shape{2, 3});
  P().fill(dev(), Tensor::scalar(3.5f), f);
  EXPECT_EQ(f.to_vector<float>(), std::vector<float>(6, 3.5f));
  Tensor i(int64, Shape{4});
  P().fill(dev(), Tensor::scalar<int64_t>(int64_t{1} << 40), i);
  EXPECT_EQ(i.to_vector<int64_t>(), std::vector<int64_t>(4, int64_t{1} << 40));
  Tensor b(boolean, Shape{3});
  P().fill(dev(), Tensor::scalar(true), b);
  EXPECT_EQ(b.to_vector<bool>(), std::vector<bool>(3, true));
  Tensor h(float16, Shape{5});
  P().fill(dev(), Tensor::scalar(Half(1.5f)), h);
  for (Half v : h.to_vector<Half>()) EXPECT_EQ(static_cast<float>(v), 1.5f);
  Tensor s(string, Shape{3});
  P().fill(dev(), Tensor::scalar(std::string("abc")), s);
  EXPECT_EQ(s.to_vector<std::string>(), std::vector<std::string>(3, "abc"));
  Tensor scalar(float64, Shape{});
  P().fill(dev(), Tensor::scalar(2.25), scalar);
  EXPECT_EQ(scalar.item<double>(), 2.25);
  Tensor empty(int8, Shape{0});
  P().fill(dev(), Tensor::scalar<int8_t>(3), empty);
  EXPECT_THROW(P().fill(dev(), Tensor::scalar(1.0), f), InvalidArgumentError);  // float64 value
}

TEST(CpuPrimitivesCopy, PodAndStrings) {
  std::mt19937 gen(41);
  Tensor x = random_tensor<float>(Shape{3, 7}, gen, -1, 1);
  Tensor y(float32, Shape{21});
  P().copy(dev(), x, y);
  EXPECT_EQ(y.to_vector<float>(), x.to_vector<float>());
  Tensor s = Tensor::of_strings({"a", "bc", ""}, Shape{3});
  Tensor t(string, Shape{3});
  P().copy(dev(), s, t);
  EXPECT_EQ(t.to_vector<std::string>(), s.to_vector<std::string>());
  Tensor e(int8, Shape{0}), e2(int8, Shape{0});
  P().copy(dev(), e, e2);
  Tensor wrong(float32, Shape{20});
  EXPECT_THROW(P().copy(dev(), x, wrong), InvalidArgumentError);
}

}  // namespace
}  // namespace kiln::kernels

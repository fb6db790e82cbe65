// Tests for the CPU primitive table (kernels/cpu): every primitive, through cpu_primitives(),
// against naive references computed in this file in double precision (or exact int64), on
// inputs drawn from seeded std::mt19937 generators. Covers every op and dtype, every
// BroadcastPlan kind, scalars, zero-size tensors, error cases (bad dtypes, integer division by
// zero, out-of-range labels) and the float16/bfloat16 rounding of cast.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "core/device.h"
#include "core/tensor.h"
#include "kernels/broadcast.h"
#include "kernels/cpu/cpu_primitives.h"
#include "kernels/primitives.h"

namespace kiln::kernels {
namespace {

Device& dev() {
  static Device d(DeviceSpec::cpu(0));
  return d;
}
const Primitives& P() { return cpu_primitives(); }

template <typename... Ts, typename F>
void for_each_type(F&& f) {
  (f.template operator()<Ts>(), ...);
}

template <typename T>
constexpr bool is_16bit_float = std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;

template <typename T>
double as_double(T v) {
  if constexpr (is_16bit_float<T>) return static_cast<float>(v);
  else return static_cast<double>(v);
}

// Uniform values in [lo, hi] (integers for integer T).
template <typename T>
Tensor random_tensor(const Shape& shape, std::mt19937& gen, double lo, double hi) {
  Tensor t(DTypeOf<T>::value, shape);
  T* p = t.data<T>();
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    if constexpr (std::is_floating_point_v<T>) {
      p[i] = static_cast<T>(std::uniform_real_distribution<double>(lo, hi)(gen));
    } else {
      p[i] = static_cast<T>(std::uniform_int_distribution<int64_t>(
          static_cast<int64_t>(lo), static_cast<int64_t>(hi))(gen));
    }
  }
  return t;
}

template <typename T>
std::vector<double> values(const Tensor& t) {
  std::vector<double> out;
  for (T v : t.to_vector<T>()) out.push_back(as_double(v));
  return out;
}

// Row-major multi-index of flat index i.
std::vector<int64_t> unravel(int64_t i, const std::vector<int64_t>& dims) {
  std::vector<int64_t> idx(dims.size());
  for (int d = static_cast<int>(dims.size()) - 1; d >= 0; --d) {
    idx[d] = i % dims[d];
    i /= dims[d];
  }
  return idx;
}

template <typename T>
double eps() {
  return std::numeric_limits<T>::epsilon();
}

bool same_value(double got, double want) {
  if (std::isnan(want)) return std::isnan(got);
  return got == want && std::signbit(got) == std::signbit(want);
}

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

// -------------------------------------------------------------------------- cast --

// The value of a source element: exact int64 for integers and bool, double for floats.
struct Source {
  bool is_int;
  int64_t i;
  double d;
};

template <typename T>
Source decode(T v) {
  if constexpr (std::is_integral_v<T>) return {true, static_cast<int64_t>(v), 0};
  else return {false, 0, as_double(v)};
}

// Round float `f` to a binary float with `mant_bits` explicit mantissa bits and minimum normal
// exponent `min_exp`, ties to even; returns +-inf above `max_finite`. Naive on purpose.
double round_binary(float f, int mant_bits, int min_exp, double max_finite) {
  if (std::isnan(f) || std::isinf(f) || f == 0) return f;
  double a = std::fabs(static_cast<double>(f));
  int e;
  std::frexp(a, &e);  // a in [2^(e-1), 2^e)
  double quantum = std::ldexp(1.0, std::max(e - 1, min_exp) - mant_bits);
  double r = std::nearbyint(a / quantum) * quantum;  // default rounding: nearest, ties even
  if (r > max_finite) r = INFINITY;
  return std::signbit(f) ? -r : r;
}

// Expected value of casting `s` to To, as a double (bool -> 0/1).
template <typename To>
double expected_cast(const Source& s) {
  if constexpr (std::is_same_v<To, bool>) {
    return s.is_int ? s.i != 0 : s.d != 0;  // NaN != 0
  } else if constexpr (std::is_integral_v<To>) {
    if (s.is_int) return static_cast<double>(static_cast<To>(s.i));  // wraps modulo 2^bits
    if (std::isnan(s.d)) return 0;
    double t = std::trunc(s.d);
    if (t < static_cast<double>(std::numeric_limits<To>::lowest()))
      return static_cast<double>(std::numeric_limits<To>::lowest());
    if (t >= std::ldexp(1.0, std::numeric_limits<To>::digits))
      return static_cast<double>(std::numeric_limits<To>::max());
    return static_cast<double>(static_cast<To>(t));
  } else {
    float f = s.is_int ? static_cast<float>(s.i) : static_cast<float>(s.d);
    if constexpr (std::is_same_v<To, double>) return s.is_int ? static_cast<double>(s.i) : s.d;
    if constexpr (std::is_same_v<To, float>) return f;
    if constexpr (std::is_same_v<To, Half>) return round_binary(f, 10, -14, 65504.0);
    if constexpr (std::is_same_v<To, BFloat16>)
      return round_binary(f, 7, -126, std::ldexp(255.0, 120));
  }
  return 0;
}

const float kSpecialFloats[] = {
    0.f, -0.f, 0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f, 127.9f, -128.9f, 128.f, 255.5f, 256.f,
    -129.f, 32767.5f, -32769.f, 65504.f, 65519.f, 65520.f, 2147483520.f, 3e9f, -3e9f, 1e19f,
    -1e19f, 1e30f, 1e-3f, 1e-40f, NAN, INFINITY, -INFINITY,
    1.f + 0x1p-11f, 1.f + 3 * 0x1p-11f, 1.f + 0x1p-8f, 1.f + 3 * 0x1p-8f, 1.f + 0x1p-8f + 0x1p-20f,
    0x1p-24f, 0x1p-25f, 3 * 0x1p-25f, 0x1p-14f, 0x1.ff8p-15f, 3.3895e38f, 3.4e38f};

template <typename T>
std::vector<T> cast_inputs(std::mt19937& gen) {
  std::vector<T> v;
  if constexpr (std::is_same_v<T, bool>) {
    v = {true, false, true};
  } else if constexpr (std::is_integral_v<T>) {
    using L = std::numeric_limits<T>;
    v = {L::lowest(), L::max(), T(0), T(1), T(L::lowest() + 1), T(L::max() - 1)};
    if constexpr (std::is_signed_v<T>) v.push_back(T(-1));
    std::uniform_int_distribution<int64_t> wide(L::lowest(), L::max()), small(-300, 300);
    for (int i = 0; i < 40; ++i) v.push_back(static_cast<T>(wide(gen)));
    for (int i = 0; i < 20; ++i) v.push_back(static_cast<T>(small(gen)));
  } else {
    for (float f : kSpecialFloats) v.push_back(static_cast<T>(f));
    std::uniform_real_distribution<float> near(-400.f, 400.f), expo(-30.f, 30.f);
    for (int i = 0; i < 40; ++i) v.push_back(static_cast<T>(near(gen)));
    for (int i = 0; i < 20; ++i)
      v.push_back(static_cast<T>((i % 2 ? -1.f : 1.f) * std::exp2(expo(gen))));
    if constexpr (std::is_same_v<T, double>) v.push_back(1e300), v.push_back(0.1);
  }
  return v;
}

TEST(CpuPrimitivesCast, EveryPairOfDtypes) {
  std::mt19937 gen(31);
  for_each_type<float, double, int32_t, uint8_t, int16_t, int8_t, int64_t, bool, BFloat16,
                Half>([&]<typename From>() {
    std::vector<From> in = cast_inputs<From>(gen);
    Tensor x = Tensor::from_vector(in);
    for_each_type<float, double, int32_t, uint8_t, int16_t, int8_t, int64_t, bool, BFloat16,
                  Half>([&]<typename To>() {
      SCOPED_TRACE(std::string(dtype_name(DTypeOf<From>::value)) + " -> " +
                   dtype_name(DTypeOf<To>::value));
      Tensor out(DTypeOf<To>::value, x.shape());
      P().cast(dev(), x, out);
      std::vector<To> got = out.to_vector<To>();
      for (size_t i = 0; i < in.size(); ++i) {
        double want = expected_cast<To>(decode(in[i]));
        double g = as_double(got[i]);
        if (std::is_integral_v<To>) {
          ASSERT_EQ(g, want) << "input " << as_double(in[i]);
        } else {
          ASSERT_TRUE(same_value(g, want)) << "input " << as_double(in[i]) << " got " << g
                                           << " want " << want;
        }
      }
    });
  });
}

TEST(CpuPrimitivesCast, HalfAndBFloat16KnownBits) {
  Tensor f = Tensor::of<float>({1.f, 65504.f, 65520.f, 1.f + 0x1p-11f, 1.f + 3 * 0x1p-11f,
                                0x1p-24f, 0x1p-25f, 3 * 0x1p-25f, -2.f},
                               Shape{9});
  Tensor h(float16, f.shape());
  P().cast(dev(), f, h);
  std::vector<uint16_t> bits;
  for (Half v : h.to_vector<Half>()) bits.push_back(v.bits);
  EXPECT_EQ(bits, (std::vector<uint16_t>{0x3C00, 0x7BFF, 0x7C00, 0x3C00, 0x3C02, 0x0001,
                                         0x0000, 0x0002, 0xC000}));
  Tensor g = Tensor::of<float>({1.f, 1.f + 0x1p-8f, 1.f + 3 * 0x1p-8f, 1.f + 0x1p-8f + 0x1p-20f,
                                -0.f},
                               Shape{5});
  Tensor bf(bfloat16, g.shape());
  P().cast(dev(), g, bf);
  bits.clear();
  for (BFloat16 v : bf.to_vector<BFloat16>()) bits.push_back(v.bits);
  EXPECT_EQ(bits, (std::vector<uint16_t>{0x3F80, 0x3F80, 0x3F82, 0x3F81, 0x8000}));
}

// Every float16 and bfloat16 bit pattern decodes to its exact value and round-trips.
TEST(CpuPrimitivesCast, AllSixteenBitPatterns) {
  Tensor h(float16, Shape{65536}), b(bfloat16, Shape{65536});
  for (int i = 0; i < 65536; ++i) {
    h.data<Half>()[i] = Half::from_bits(static_cast<uint16_t>(i));
    b.data<BFloat16>()[i] = BFloat16::from_bits(static_cast<uint16_t>(i));
  }
  Tensor hd(float64, h.shape()), bd(float32, b.shape());
  P().cast(dev(), h, hd);
  P().cast(dev(), b, bd);
  auto hv = hd.to_vector<double>();
  auto bv = bd.to_vector<float>();
  for (int i = 0; i < 65536; ++i) {
    double sign = (i & 0x8000) ? -1 : 1;
    int he = (i >> 10) & 31, hm = i & 1023;
    double hwant = he == 31 ? (hm ? NAN : sign * INFINITY)
                   : he == 0 ? sign * std::ldexp(hm, -24) : sign * std::ldexp(1024 + hm, he - 25);
    ASSERT_TRUE(same_value(hv[i], hwant)) << "half bits " << i;
    int be = (i >> 7) & 255, bm = i & 127;
    double bwant = be == 255 ? (bm ? NAN : sign * INFINITY)
                   : be == 0 ? sign * std::ldexp(bm, -133) : sign * std::ldexp(128 + bm, be - 134);
    ASSERT_TRUE(same_value(bv[i], bwant)) << "bfloat16 bits " << i;
  }
  Tensor h2(float16, h.shape());
  P().cast(dev(), hd, h2);  // float64 -> float16
  for (int i = 0; i < 65536; ++i) {
    if (std::isnan(hv[i])) continue;
    ASSERT_EQ(h2.data<Half>()[i].bits, i);
  }
}

TEST(CpuPrimitivesCast, ZeroSizeAndStringsRejected) {
  Tensor x(float32, Shape{0, 4}), out(int64, Shape{0, 4});
  P().cast(dev(), x, out);
  Tensor s = Tensor::of_strings({"a"}, Shape{1});
  Tensor o(float32, Shape{1});
  try {
    P().cast(dev(), s, o);
    FAIL() << "string cast should throw";
  } catch (const InvalidArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("string"), std::string::npos) << e.what();
  }
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

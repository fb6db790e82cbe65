// CPU primitives: casts between every pair of dtypes, 16-bit float rounding.
#include "kernels/cpu_test_util.h"

namespace kiln::kernels {
namespace {

using namespace test_util;

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

}  // namespace
}  // namespace kiln::kernels

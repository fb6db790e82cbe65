// Tests for kernels/random/portable_math.h: measured ULP accuracy of the libm-free log/sincos (radians and quarter turns) and the Box-Muller log identity.
// Must be compiled like the kernels: -ffp-contract=off, no -ffast-math.
#include "kernels/random_test_util.h"

namespace kiln::random {
namespace {

using namespace test_util;

// Documented bounds (vs the exact value; measured maxima are printed).
constexpr double kFloatLogMaxUlp = 1.0;
constexpr double kFloatSinCosMaxUlp = 1.0;
constexpr double kDoubleLogMaxUlp = 1.0;
constexpr double kDoubleSinCosMaxUlp = 1.0;

TEST(RandomPortableMath, LogFloatUlp) {
  double max_err = 0.0;
  std::int64_t max_dist = 0;
  float worst = 0.0f;
  auto check = [&](float x) {
    const float got = portable_log(x);
    const double err = UlpErrFloat(got, std::log(static_cast<double>(x)));
    if (err > max_err) {
      max_err = err;
      worst = x;
    }
    max_dist = std::max(max_dist, UlpDist(got, std::log(x)));
  };
  // Every u1 that Box-Muller can feed in: k * 2^-23, k = 1 .. 2^23.
  for (std::uint32_t k = 1; k <= (1u << 23); ++k)
    check(static_cast<float>(k) * 0x1p-23f);
  // Every float in [0.5, 2] (the reduced-argument range), then a strided
  // sweep over all positive finite floats including subnormals.
  for (std::uint32_t b = 0x3f000000u; b <= 0x40000000u; ++b)
    check(detail::float_of(b));
  for (std::uint32_t b = 1; b < 0x7f800000u; b += 251)
    check(detail::float_of(b));
  std::printf(
      "portable_log(float): max error %.3f ulp (at %a) vs exact; "
      "max %lld ulp vs std::log(float)\n",
      max_err, worst, static_cast<long long>(max_dist));
  EXPECT_LE(max_err, kFloatLogMaxUlp);
  EXPECT_LE(max_dist, 2);
}

TEST(RandomPortableMath, LogFloatSpecialValues) {
  EXPECT_EQ(portable_log(0.0f), -INFINITY);
  EXPECT_EQ(portable_log(-0.0f), -INFINITY);
  EXPECT_EQ(portable_log(INFINITY), INFINITY);
  EXPECT_TRUE(std::isnan(portable_log(-1.0f)));
  EXPECT_TRUE(std::isnan(portable_log(NAN)));
  EXPECT_EQ(detail::bits_of(portable_log(1.0f)), 0u);  // +0
  EXPECT_EQ(portable_log(0x1p-149f), static_cast<float>(-149 * std::log(2.0)));
  EXPECT_EQ(portable_log(0.0), -INFINITY);
  EXPECT_EQ(portable_log(INFINITY * 1.0), INFINITY);
  EXPECT_TRUE(std::isnan(portable_log(-2.0)));
  EXPECT_EQ(detail::bits_of(portable_log(1.0)), 0u);
  EXPECT_EQ(portable_log(0x1p-1074),
            static_cast<double>(-1074 * std::log(2.0L)));
}

TEST(RandomPortableMath, SinCosFloatUlp) {
  double max_s = 0.0, max_c = 0.0;
  std::int64_t dist = 0;
  auto check = [&](float x) {
    float s, c;
    portable_sincos(x, &s, &c);
    const double xd = x;
    max_s = std::max(max_s, UlpErrFloat(s, std::sin(xd)));
    max_c = std::max(max_c, UlpErrFloat(c, std::cos(xd)));
    dist = std::max({dist, UlpDist(s, std::sin(x)), UlpDist(c, std::cos(x))});
  };
  // Every angle Box-Muller can produce: 2*pi * k*2^-23.
  for (std::uint32_t k = 0; k < (1u << 23); ++k)
    check(detail::mul_rn(0x1.921fb6p+2f, static_cast<float>(k) * 0x1p-23f));
  // Every 3rd float in [0.25, 2*pi) (an exhaustive run gave the same
  // maxima); strided below 0.25 and on [-2*pi, 0).
  const std::uint32_t two_pi_bits = detail::bits_of(0x1.921fb6p+2f);
  for (std::uint32_t b = 0x3e800000u; b < two_pi_bits; b += 3)
    check(detail::float_of(b));
  for (std::uint32_t b = 0; b < 0x3e800000u; b += 509)
    check(detail::float_of(b));
  for (std::uint32_t b = 0; b < two_pi_bits; b += 211)
    check(-detail::float_of(b));
  std::printf(
      "portable_sincos(float) on [-2pi, 2pi): max error sin %.3f, "
      "cos %.3f ulp vs exact; max %lld ulp vs std::sin/cos(float)\n",
      max_s, max_c, static_cast<long long>(dist));
  EXPECT_LE(max_s, kFloatSinCosMaxUlp);
  EXPECT_LE(max_c, kFloatSinCosMaxUlp);
  EXPECT_LE(dist, 2);
}

TEST(RandomPortableMath, SinCosOutsideDomainIsNan) {
  float s, c;
  portable_sincos(kSinCosMaxArgFloat * 2.0f, &s, &c);
  EXPECT_TRUE(std::isnan(s) && std::isnan(c));
  portable_sincos(NAN, &s, &c);
  EXPECT_TRUE(std::isnan(s) && std::isnan(c));
  double sd, cd;
  portable_sincos(-INFINITY * 1.0, &sd, &cd);
  EXPECT_TRUE(std::isnan(sd) && std::isnan(cd));
  portable_sincos(kSinCosMaxArgFloat, &s, &c);  // the bound itself is valid
  EXPECT_NEAR(s, std::sin(4096.0), 1e-6);
}

// Double inputs: random Box-Muller u1 values, dense neighbourhoods of 1 (where
// log -> 0) and of the reduction switch at sqrt(2)/2, random positive doubles.
TEST(RandomPortableMath, LogDoubleUlp) {
  double max_err = 0.0;
  double worst = 0.0;
  auto check = [&](double x) {
    const double err =
        UlpErrDouble(portable_log(x), std::log(static_cast<long double>(x)));
    if (err > max_err) {
      max_err = err;
      worst = x;
    }
  };
  std::mt19937_64 rng(3);
  for (int i = 0; i < 2000000; ++i) {
    const std::uint64_t r = rng();
    check(1.0 - uint32x2_to_double01(static_cast<std::uint32_t>(r),
                                     static_cast<std::uint32_t>(r >> 32)));
  }
  for (double center : {1.0, 0.5, 0x1.6a09e667f3bcdp-1, 0x1.6a09e667f3bcdp+0}) {
    double up = center, down = center;
    for (int i = 0; i < 200000; ++i) {
      check(up);
      check(down);
      up = std::nextafter(up, 4.0);
      down = std::nextafter(down, 0.0);
    }
  }
  for (int i = 0; i < 2000000; ++i) {
    const double x = detail::double_of(rng() & 0x7fefffffffffffffull);
    if (x > 0.0) check(x);
  }
  std::printf("portable_log(double): max error %.3f ulp (at %a)\n", max_err,
              worst);
  EXPECT_LE(max_err, kDoubleLogMaxUlp);
}

TEST(RandomPortableMath, SinCosDoubleUlp) {
  double max_s = 0.0, max_c = 0.0;
  auto check = [&](double x) {
    double s, c;
    portable_sincos(x, &s, &c);
    const long double xl = x;
    max_s = std::max(max_s, UlpErrDouble(s, std::sin(xl)));
    max_c = std::max(max_c, UlpErrDouble(c, std::cos(xl)));
  };
  std::mt19937_64 rng(4);
  const double two_pi = 0x1.921fb54442d18p+2;
  for (int i = 0; i < 3000000; ++i) {
    const std::uint64_t r = rng();
    check(detail::mul_rn(
        two_pi, uint32x2_to_double01(static_cast<std::uint32_t>(r),
                                     static_cast<std::uint32_t>(r >> 32))));
  }
  // Dense around k*pi/4 (zeros of sin/cos and quadrant switches).
  for (int k = 0; k <= 8; ++k) {
    const double center = static_cast<double>(k * 3.14159265358979323846L / 4);
    double up = center, down = center;
    for (int i = 0; i < 100000; ++i) {
      check(up);
      check(down);
      check(-up);
      up = std::nextafter(up, 10.0);
      down = std::nextafter(down, -10.0);
    }
  }
  std::printf(
      "portable_sincos(double) on [-2pi, 2pi]: max error sin %.3f, "
      "cos %.3f ulp\n",
      max_s, max_c);
  EXPECT_LE(max_s, kDoubleSinCosMaxUlp);
  EXPECT_LE(max_c, kDoubleSinCosMaxUlp);
}

// sincos_quarter_turn(y) = (sin, cos)(pi/2 * y) for |y| <= 1/2, the sin/cos
// behind Box-Muller. Float: every y Box-Muller produces (k * 2^-23, k in
// [-2^22, 2^22)), then a strided sweep over all |y| in [2^-100, 1/2] (below
// that y*pi/2 is near the subnormal range and not used).
constexpr double kQuarterFloatMaxUlp = 1.0;
constexpr double kQuarterDoubleMaxUlp = 1.0;

TEST(RandomPortableMath, SinCosQuarterTurnFloatUlp) {
  double max_s = 0.0, max_c = 0.0;
  auto check = [&](float y) {
    float s, c;
    sincos_quarter_turn(y, &s, &c);
    const double a = 1.5707963267948966 * y;  // rel. error 2^-52: negligible
    max_s = std::max(max_s, UlpErrFloat(s, std::sin(a)));
    max_c = std::max(max_c, UlpErrFloat(c, std::cos(a)));
  };
  for (std::int32_t k = -(1 << 22); k < (1 << 22); ++k)
    check(static_cast<float>(k) * 0x1p-23f);
  for (std::uint32_t b = detail::bits_of(0x1p-100f); b <= 0x3f000000u;
       b += 97) {
    check(detail::float_of(b));
    check(-detail::float_of(b));
  }
  std::printf(
      "sincos_quarter_turn(float): max error sin %.3f, cos %.3f ulp vs "
      "exact\n",
      max_s, max_c);
  EXPECT_LE(max_s, kQuarterFloatMaxUlp);
  EXPECT_LE(max_c, kQuarterFloatMaxUlp);
  float s, c;
  sincos_quarter_turn(0.0f, &s, &c);
  EXPECT_EQ(detail::bits_of(s), 0u);
  EXPECT_EQ(c, 1.0f);
}

TEST(RandomPortableMath, SinCosQuarterTurnDoubleUlp) {
  double max_s = 0.0, max_c = 0.0;
  auto check = [&](double y) {
    double s, c;
    sincos_quarter_turn(y, &s, &c);
    const long double a = 1.5707963267948966192313216916397514L * y;
    max_s = std::max(max_s, UlpErrDouble(s, std::sin(a)));
    max_c = std::max(max_c, UlpErrDouble(c, std::cos(a)));
  };
  std::mt19937_64 rng(6);
  for (int i = 0; i < 3000000; ++i) {  // Box-Muller's y: k * 2^-53
    const std::int64_t k = static_cast<std::int64_t>(rng() >> 11) - (1ll << 52);
    check(static_cast<double>(k) * 0x1p-53);
  }
  for (double center : {0.0, 0.25, 0.5}) {  // dense near 0, 1/4 and 1/2
    double up = center, down = center;
    for (int i = 0; i < 200000; ++i) {
      if (up <= 0.5) check(up);
      check(down);
      check(-down);
      up = std::nextafter(up, 1.0);
      down = std::nextafter(down, 0.0);
    }
  }
  std::printf(
      "sincos_quarter_turn(double): max error sin %.3f, cos %.3f ulp vs "
      "exact\n",
      max_s, max_c);
  EXPECT_LE(max_s, kQuarterDoubleMaxUlp);
  EXPECT_LE(max_c, kQuarterDoubleMaxUlp);
}

// Box-Muller takes -2*log(u1) from the log kernel scaled by -2 (constants and
// f scaled by powers of two): the bits must equal -2 * portable_log(u1) for
// every u1 it can see (u1 = 1 gives +0, i.e. 0 - 2*log(1)).
TEST(RandomPortableMath, BoxMullerLogIsMinusTwoLog) {
  for (std::uint32_t k = 1; k <= (1u << 23); ++k) {
    const float u = static_cast<float>(k) * 0x1p-23f;
    const float want = 0.0f - 2.0f * portable_log(u);
    ASSERT_EQ(detail::bits_of(detail::scaled_log_kernel<-2>(
                  detail::bits_of(u), 0)),
              detail::bits_of(want))
        << u;
  }
  std::mt19937_64 rng(7);
  for (int i = 0; i < 1000000; ++i) {
    const std::uint64_t r = rng();
    const double u = 1.0 - uint32x2_to_double01(
                               static_cast<std::uint32_t>(r),
                               static_cast<std::uint32_t>(r >> 32));
    const double want = 0.0 - 2.0 * portable_log(u);
    ASSERT_EQ(detail::bits_of(detail::scaled_log_kernel<-2>(
                  detail::bits_of(u), 0)),
              detail::bits_of(want))
        << u;
  }
}


}  // namespace
}  // namespace kiln::random

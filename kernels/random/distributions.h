// kiln/kernels/random/distributions.h
//
// Contract: turns Philox4x32 output into uniform, normal and truncated-normal
// floats/doubles such that the host build (g++) and the device build (nvcc)
// produce the SAME BITS, and element i of an output tensor depends only on
// (key, base counter, i) -- never on thread/block geometry or on which other
// elements are computed.
//
// How bit-identity is achieved:
//  * No libm. log/sin/cos are implemented here (portable_log,
//    portable_sincos) with integer bit manipulation plus IEEE-754
//    round-to-nearest +, -, *, / and sqrt, which are correctly rounded (hence
//    identical) on x86-64 SSE and on NVIDIA GPUs.
//  * No fused multiply-add. Every floating-point operation goes through
//    detail::{add,sub,mul,div,sqrt}_rn. On the device these are the
//    __fadd_rn/__fmul_rn/__dadd_rn/... intrinsics, which nvcc never contracts
//    into FMA. On the host they are plain operators, so HOST CODE MUST BE
//    COMPILED WITH -ffp-contract=off (the CMake build sets this) and without
//    -ffast-math; x87 excess precision is rejected below.
//  * Subnormals: Box-Muller never produces subnormal intermediates, so FTZ
//    device builds (-use_fast_math) still match for the distributions. The
//    portable_* functions themselves only promise identical results for
//    subnormal inputs/outputs when the device does not flush them (default).
// Verified on an H200 (sm_90, nvcc 13.0): 0 bit mismatches host vs device
// for all six distributions (4M elements each, element- and group-wise) and
// for portable_log/sincos on 63M float and 10M double inputs; with
// -use_fast_math only float sincos of subnormal inputs differed.
//
// Element -> counter mapping ("group" g uses Philox counter base + g, added
// with carry into the 128-bit counter by counter_add):
//   float  uniform : element i -> group i/4, word i%4.
//   float  normal  : element i -> group i/4; words (0,1) give Box-Muller pair
//                    for elements 4g+0 (cos), 4g+1 (sin); words (2,3) give
//                    4g+2 (cos), 4g+3 (sin).
//   double uniform : element i -> group i/2; words (0,1) for 2g, (2,3) for
//                    2g+1 (word pair (lo, hi), see uint32x2_to_double01).
//   double normal  : element i -> group i/2; one Box-Muller on the doubles
//                    from words (0,1) and (2,3): 2g gets cos, 2g+1 gets sin.
//   truncated normal (float/double): attempt t = 0, 1, ..., 99 draws the
//                    normal of element i (mapping above) from base counter
//                    base + t * 2^120 (i.e. counter word v[3] += t << 24),
//                    and returns the first draw with |x| <= 2. See
//                    truncated_normal_float.
// A caller generating n elements should advance its base counter by
// ceil(n / kXxxPerGroup) groups between calls.
#pragma once

#include <cfloat>
#include <cmath>  // host std::sqrt only: IEEE-754 requires it correctly rounded
#include <cstdint>
#include <cstring>

#if !defined(__CUDA_ARCH__)
#if defined(__FAST_MATH__)
#error "kernels/random/distributions.h must not be compiled with -ffast-math"
#endif
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD != 0
#error "host float arithmetic must not use excess precision (x87)"
#endif
#endif

#include "kernels/host_device.h"
#include "kernels/random/philox.h"

namespace kiln::random {

// ---------------------------------------------------------------------------
// Exact IEEE operations (round to nearest even, never contracted into FMA).
// ---------------------------------------------------------------------------
namespace detail {
#if defined(__CUDA_ARCH__)
KILN_HD inline float add_rn(float a, float b) { return __fadd_rn(a, b); }
KILN_HD inline float sub_rn(float a, float b) { return __fsub_rn(a, b); }
KILN_HD inline float mul_rn(float a, float b) { return __fmul_rn(a, b); }
KILN_HD inline float div_rn(float a, float b) { return __fdiv_rn(a, b); }
KILN_HD inline float sqrt_rn(float a) { return __fsqrt_rn(a); }
KILN_HD inline double add_rn(double a, double b) { return __dadd_rn(a, b); }
KILN_HD inline double sub_rn(double a, double b) { return __dsub_rn(a, b); }
KILN_HD inline double mul_rn(double a, double b) { return __dmul_rn(a, b); }
KILN_HD inline double div_rn(double a, double b) { return __ddiv_rn(a, b); }
KILN_HD inline double sqrt_rn(double a) { return __dsqrt_rn(a); }
KILN_HD inline std::uint32_t bits_of(float x) { return __float_as_uint(x); }
KILN_HD inline float float_of(std::uint32_t b) { return __uint_as_float(b); }
KILN_HD inline std::uint64_t bits_of(double x) {
  return static_cast<std::uint64_t>(__double_as_longlong(x));
}
KILN_HD inline double double_of(std::uint64_t b) {
  return __longlong_as_double(static_cast<long long>(b));
}
#else
// Host: plain operators; requires -ffp-contract=off (see header comment).
KILN_HD inline float add_rn(float a, float b) { return a + b; }
KILN_HD inline float sub_rn(float a, float b) { return a - b; }
KILN_HD inline float mul_rn(float a, float b) { return a * b; }
KILN_HD inline float div_rn(float a, float b) { return a / b; }
KILN_HD inline float sqrt_rn(float a) { return std::sqrt(a); }
KILN_HD inline double add_rn(double a, double b) { return a + b; }
KILN_HD inline double sub_rn(double a, double b) { return a - b; }
KILN_HD inline double mul_rn(double a, double b) { return a * b; }
KILN_HD inline double div_rn(double a, double b) { return a / b; }
KILN_HD inline double sqrt_rn(double a) { return std::sqrt(a); }
KILN_HD inline std::uint32_t bits_of(float x) {
  std::uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}
KILN_HD inline float float_of(std::uint32_t b) {
  float x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}
KILN_HD inline std::uint64_t bits_of(double x) {
  std::uint64_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}
KILN_HD inline double double_of(std::uint64_t b) {
  double x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}
#endif

// Round-half-away-from-zero of t to int; |t| must be < 2^31. Only int
// conversion (truncation) is used, which is exact and identical everywhere.
KILN_HD inline int round_to_int(float t) {
  return static_cast<int>(t >= 0.0f ? add_rn(t, 0.5f) : sub_rn(t, 0.5f));
}
KILN_HD inline int round_to_int(double t) {
  return static_cast<int>(t >= 0.0 ? add_rn(t, 0.5) : sub_rn(t, 0.5));
}

// Error-free transformations: return a + b rounded, and store in *err the
// exact rounding error (a + b = result + *err). two_sum works for any a, b;
// fast_two_sum needs |a| >= |b| (or a == 0).
template <typename T>
KILN_HD inline T two_sum(T a, T b, T* err) {
  const T s = add_rn(a, b);
  const T bb = sub_rn(s, a);
  *err = add_rn(sub_rn(a, sub_rn(s, bb)), sub_rn(b, bb));
  return s;
}
template <typename T>
KILN_HD inline T fast_two_sum(T a, T b, T* err) {
  const T s = add_rn(a, b);
  *err = sub_rn(b, sub_rn(s, a));
  return s;
}
}  // namespace detail

// ---------------------------------------------------------------------------
// Portable log. Method: x = 2^e * m with m in (sqrt(2)/2, sqrt(2)], f = m - 1
// (exact), s = f / (2 + f), so log(m) = 2 atanh(s) = 2s + s*R(s^2) with
// R(z) = sum_k 2 z^k / (2k+1) (|s| <= 0.1716, z <= 0.0295; the Taylor series
// is truncated far below half an ulp). Using 2s = f - s*f the result is
// assembled as f - (hfsq - s*(hfsq + R)), hfsq = f*f/2, so the exact f
// dominates and rounding in s only touches small correction terms; e*ln2 is
// added with ln2 split in hi (exact products) + lo parts.
// Special cases: log(+0) = -inf, log(x < 0) = NaN, log(+inf) = +inf,
// log(NaN) = NaN (canonical quiet NaN). Subnormals are normalized with
// integer shifts. Measured max error 0.84 ulp (float) / 0.86 ulp (double).
// ---------------------------------------------------------------------------
KILN_HD inline float portable_log(float x) {
  using namespace detail;
  const std::uint32_t bits = bits_of(x);
  if (bits == 0u || bits == 0x80000000u) return float_of(0xff800000u);  // -inf
  if (bits == 0x7f800000u) return x;                                    // +inf
  if (bits > 0x7f800000u) return float_of(0x7fc00000u);  // NaN or negative
  int e = static_cast<int>(bits >> 23) - 127;
  std::uint32_t mant = bits & 0x7fffffu;
  if ((bits >> 23) == 0u) {  // subnormal: shift until the implicit bit appears
    e = -126;
    while ((mant & 0x800000u) == 0u) {
      mant <<= 1;
      --e;
    }
    mant &= 0x7fffffu;
  }
  float m;
  if (mant > 0x3504f3u) {  // 1.mant > sqrt(2): use 1.mant / 2
    m = float_of(mant | 0x3f000000u);
    ++e;
  } else {
    m = float_of(mant | 0x3f800000u);
  }
  const float f = sub_rn(m, 1.0f);
  const float s = div_rn(f, add_rn(2.0f, f));
  const float z = mul_rn(s, s);
  // 2/3, 2/5, 2/7, 2/9, 2/11.
  float r = 0x1.745d18p-3f;
  r = add_rn(0x1.c71c72p-3f, mul_rn(z, r));
  r = add_rn(0x1.24924ap-2f, mul_rn(z, r));
  r = add_rn(0x1.99999ap-2f, mul_rn(z, r));
  r = add_rn(0x1.555556p-1f, mul_rn(z, r));
  r = mul_rn(z, r);
  const float hfsq = mul_rn(mul_rn(0.5f, f), f);
  const float fe = static_cast<float>(e);
  const float kLn2Hi = 0x1.62e4p-1f;     // 16 bits: e*kLn2Hi is exact
  const float kLn2Lo = 0x1.7f7d1cp-20f;  // ln2 - kLn2Hi
  const float tail =
      sub_rn(hfsq, add_rn(mul_rn(s, add_rn(hfsq, r)), mul_rn(fe, kLn2Lo)));
  return sub_rn(mul_rn(fe, kLn2Hi), sub_rn(tail, f));
}

KILN_HD inline double portable_log(double x) {
  using namespace detail;
  const std::uint64_t bits = bits_of(x);
  const std::uint64_t kInf = 0x7ff0000000000000ull;
  if (bits == 0u || bits == 0x8000000000000000ull)
    return double_of(0xfff0000000000000ull);  // -inf
  if (bits == kInf) return x;
  if (bits > kInf) return double_of(0x7ff8000000000000ull);  // NaN/negative
  const std::uint64_t kMantMask = 0xfffffffffffffull;
  int e = static_cast<int>(bits >> 52) - 1023;
  std::uint64_t mant = bits & kMantMask;
  if ((bits >> 52) == 0u) {  // subnormal
    e = -1022;
    while ((mant & (kMantMask + 1)) == 0u) {
      mant <<= 1;
      --e;
    }
    mant &= kMantMask;
  }
  double m;
  if (mant > 0x6a09e667f3bcdull) {  // 1.mant > sqrt(2)
    m = double_of(mant | 0x3fe0000000000000ull);
    ++e;
  } else {
    m = double_of(mant | 0x3ff0000000000000ull);
  }
  const double f = sub_rn(m, 1.0);
  const double s = div_rn(f, add_rn(2.0, f));
  const double z = mul_rn(s, s);
  // 2/(2k+1) for k = 11 down to 1.
  const double kCoef[] = {
      0x1.642c8590b2164p-4, 0x1.8618618618618p-4, 0x1.af286bca1af28p-4,
      0x1.e1e1e1e1e1e1ep-4, 0x1.1111111111111p-3, 0x1.3b13b13b13b14p-3,
      0x1.745d1745d1746p-3, 0x1.c71c71c71c71cp-3, 0x1.2492492492492p-2,
      0x1.999999999999ap-2, 0x1.5555555555555p-1};
  double r = kCoef[0];
  for (int k = 1; k < 11; ++k) r = add_rn(kCoef[k], mul_rn(z, r));
  r = mul_rn(z, r);
  const double hfsq = mul_rn(mul_rn(0.5, f), f);
  const double fe = static_cast<double>(e);
  const double kLn2Hi = 0x1.62e42feep-1;        // 32 bits: e*kLn2Hi exact
  const double kLn2Lo = 0x1.a39ef35793c76p-33;  // ln2 - kLn2Hi
  const double tail =
      sub_rn(hfsq, add_rn(mul_rn(s, add_rn(hfsq, r)), mul_rn(fe, kLn2Lo)));
  return sub_rn(mul_rn(fe, kLn2Hi), sub_rn(tail, f));
}

// ---------------------------------------------------------------------------
// Portable sincos. Method: k = round(x * 2/pi), r = x - k*pi/2 with pi/2
// split Cody-Waite style into parts whose products with k are exact (so the
// cancellation near multiples of pi/2 loses nothing), |r| <~ pi/4; Taylor
// polynomials for sin(r) and cos(r) truncated below 1e-9 (float) / 1e-18
// (double) relative; quadrant k mod 4 selects signs/swaps. r is carried as
// r + r_lo (error-free sums) and cos uses 1 - z/2 with its rounding error
// added back, which keeps the error below 1 ulp (measured max 0.80 ulp vs the
// exact value on [-2*pi, 2*pi], float and double).
// Domain: |x| <= kSinCosMaxArgFloat / kSinCosMaxArgDouble (k*split exact);
// outside it (and for inf/NaN) both outputs are NaN. Accuracy is asserted on
// [-2*pi, 2*pi] (Box-Muller uses [0, 2*pi)); beyond, it degrades gracefully.
// ---------------------------------------------------------------------------
inline constexpr float kSinCosMaxArgFloat = 4096.0f;      // |k| < 2^12
inline constexpr double kSinCosMaxArgDouble = 1048576.0;  // |k| < 2^20

namespace detail {
template <typename T>
KILN_HD inline void assign_quadrant(int k, T s, T c, T* sin_out, T* cos_out) {
  switch (k & 3) {  // k & 3 is k mod 4 also for negative k (two's complement)
    case 0:
      *sin_out = s;
      *cos_out = c;
      break;
    case 1:
      *sin_out = c;
      *cos_out = -s;
      break;
    case 2:
      *sin_out = -s;
      *cos_out = -c;
      break;
    default:
      *sin_out = -c;
      *cos_out = s;
      break;
  }
}
}  // namespace detail

KILN_HD inline void portable_sincos(float x, float* sin_out, float* cos_out) {
  using namespace detail;
  if ((bits_of(x) & 0x7fffffffu) > bits_of(kSinCosMaxArgFloat)) {  // NaN too
    *sin_out = *cos_out = float_of(0x7fc00000u);
    return;
  }
  const int k = round_to_int(mul_rn(x, 0x1.45f306p-1f));  // x * 2/pi
  const float fk = static_cast<float>(k);
  // pi/2 = P1 + P2 + P3 + P4; P1..P3 have 12 significant bits, so k*Pj is
  // exact for |k| < 2^12. r = x - k*pi/2 is kept as the unevaluated sum
  // r + r_lo: x - k*P1 is exact (Sterbenz) and the rounding errors of the
  // next two subtractions are recovered exactly by two_sum.
  float r = sub_rn(x, mul_rn(fk, 0x1.92p+0f));
  float e2, e3;
  r = two_sum(r, -mul_rn(fk, 0x1.fb4p-12f), &e2);
  r = two_sum(r, -mul_rn(fk, 0x1.444p-24f), &e3);
  float r_lo = sub_rn(add_rn(e2, e3), mul_rn(fk, 0x1.68c234p-39f));
  r = fast_two_sum(r, r_lo, &r_lo);
  const float z = mul_rn(r, r);
  // sin(r) = r + r*z*(-1/3! + z/5! - z^2/7! + z^3/9! - z^4/11!).
  float ps = -0x1.ae6456p-26f;
  ps = add_rn(0x1.71de3ap-19f, mul_rn(z, ps));
  ps = add_rn(-0x1.a01a02p-13f, mul_rn(z, ps));
  ps = add_rn(0x1.111112p-7f, mul_rn(z, ps));
  ps = add_rn(-0x1.555556p-3f, mul_rn(z, ps));
  // cos(r) = 1 - z/2 + z^2*(1/4! - z/6! + z^2/8! - z^3/10! + z^4/12!).
  float pc = 0x1.1eed8ep-29f;
  pc = add_rn(-0x1.27e4fcp-22f, mul_rn(z, pc));
  pc = add_rn(0x1.a01a02p-16f, mul_rn(z, pc));
  pc = add_rn(-0x1.6c16c2p-10f, mul_rn(z, pc));
  pc = add_rn(0x1.555556p-5f, mul_rn(z, pc));
  const float hz = mul_rn(0.5f, z);
  const float w = sub_rn(1.0f, hz);
  const float w_err = sub_rn(sub_rn(1.0f, w), hz);  // exact: 1 - hz - w
  // First-order r_lo terms: sin(r + r_lo) ~ sin r + r_lo*(1 - z/2),
  // cos(r + r_lo) ~ cos r - r_lo*r.
  const float s = add_rn(r, add_rn(mul_rn(mul_rn(r, z), ps), mul_rn(r_lo, w)));
  const float c = add_rn(
      w, add_rn(w_err, sub_rn(mul_rn(mul_rn(z, z), pc), mul_rn(r, r_lo))));
  assign_quadrant(k, s, c, sin_out, cos_out);
}

KILN_HD inline void portable_sincos(double x, double* sin_out,
                                    double* cos_out) {
  using namespace detail;
  if ((bits_of(x) & 0x7fffffffffffffffull) > bits_of(kSinCosMaxArgDouble)) {
    *sin_out = *cos_out = double_of(0x7ff8000000000000ull);
    return;
  }
  const int k = round_to_int(mul_rn(x, 0x1.45f306dc9c883p-1));
  const double fk = static_cast<double>(k);
  // pi/2 = P1 + P2 + P3; P1, P2 have 33 significant bits (k*Pj exact for
  // |k| < 2^20). r + r_lo as in the float version.
  double r = sub_rn(x, mul_rn(fk, 0x1.921fb544p+0));
  double e2;
  r = two_sum(r, -mul_rn(fk, 0x1.0b4611a6p-34), &e2);
  double r_lo = sub_rn(e2, mul_rn(fk, 0x1.3198a2e037073p-69));
  r = fast_two_sum(r, r_lo, &r_lo);
  const double z = mul_rn(r, r);
  // (-1)^n / (2n+1)! for n = 8 down to 1.
  const double kSin[] = {0x1.952c77030ad4ap-49, -0x1.ae7f3e733b81fp-41,
                         0x1.6124613a86d09p-33, -0x1.ae64567f544e4p-26,
                         0x1.71de3a556c734p-19, -0x1.a01a01a01a01ap-13,
                         0x1.1111111111111p-7,  -0x1.5555555555555p-3};
  // (-1)^n / (2n)! for n = 9 down to 2.
  const double kCos[] = {-0x1.6827863b97d97p-53, 0x1.ae7f3e733b81fp-45,
                         -0x1.93974a8c07c9dp-37, 0x1.1eed8eff8d898p-29,
                         -0x1.27e4fb7789f5cp-22, 0x1.a01a01a01a01ap-16,
                         -0x1.6c16c16c16c17p-10, 0x1.5555555555555p-5};
  double ps = kSin[0];
  double pc = kCos[0];
  for (int n = 1; n < 8; ++n) {
    ps = add_rn(kSin[n], mul_rn(z, ps));
    pc = add_rn(kCos[n], mul_rn(z, pc));
  }
  const double hz = mul_rn(0.5, z);
  const double w = sub_rn(1.0, hz);
  const double w_err = sub_rn(sub_rn(1.0, w), hz);
  const double s = add_rn(r, add_rn(mul_rn(mul_rn(r, z), ps), mul_rn(r_lo, w)));
  const double c = add_rn(
      w, add_rn(w_err, sub_rn(mul_rn(mul_rn(z, z), pc), mul_rn(r, r_lo))));
  assign_quadrant(k, s, c, sin_out, cos_out);
}

// ---------------------------------------------------------------------------
// Bits -> uniform. Exact: 1.mantissa is in [1, 2) and subtracting 1 is exact.
// ---------------------------------------------------------------------------
// [0, 1) in steps of 2^-23, from the low 23 bits of x.
KILN_HD inline float uint32_to_float01(std::uint32_t x) {
  return detail::sub_rn(detail::float_of((x & 0x7fffffu) | 0x3f800000u), 1.0f);
}
// [0, 1) in steps of 2^-52: mantissa = (hi & 0xfffff) << 32 | lo, i.e. the
// pair read as a little-endian uint64 (lo first), top 12 bits dropped.
KILN_HD inline double uint32x2_to_double01(std::uint32_t lo, std::uint32_t hi) {
  const std::uint64_t mant =
      (static_cast<std::uint64_t>(hi & 0xfffffu) << 32) | lo;
  return detail::sub_rn(detail::double_of(mant | 0x3ff0000000000000ull), 1.0);
}

// ---------------------------------------------------------------------------
// Box-Muller. u1 = 1 - uniform is in (0, 1] (never 0: no log(0)), u2 in
// [0, 1); rad = sqrt(-2 log u1), theta = 2*pi*u2; returns
// (rad*cos(theta), rad*sin(theta)). |result| <= sqrt(2*23*ln2) ~ 5.65
// (float) / sqrt(2*52*ln2) ~ 8.49 (double).
// ---------------------------------------------------------------------------
template <typename T>
struct Pair {
  T first, second;
};

KILN_HD inline Pair<float> box_muller_float(std::uint32_t x0,
                                            std::uint32_t x1) {
  using namespace detail;
  const float u1 = sub_rn(1.0f, uint32_to_float01(x0));
  const float u2 = uint32_to_float01(x1);
  // 0 - log (not -2*log) so that log(1) = +0 gives rad = +0, not sqrt(-0).
  const float rad = sqrt_rn(mul_rn(2.0f, sub_rn(0.0f, portable_log(u1))));
  float s, c;
  portable_sincos(mul_rn(0x1.921fb6p+2f, u2), &s, &c);  // 2*pi*u2 < 2*pi
  return {mul_rn(rad, c), mul_rn(rad, s)};
}

// x0..x3: (x0, x1) -> u1, (x2, x3) -> u2, each via uint32x2_to_double01.
KILN_HD inline Pair<double> box_muller_double(std::uint32_t x0,
                                              std::uint32_t x1,
                                              std::uint32_t x2,
                                              std::uint32_t x3) {
  using namespace detail;
  const double u1 = sub_rn(1.0, uint32x2_to_double01(x0, x1));
  const double u2 = uint32x2_to_double01(x2, x3);
  const double rad = sqrt_rn(mul_rn(2.0, sub_rn(0.0, portable_log(u1))));
  double s, c;
  portable_sincos(mul_rn(0x1.921fb54442d18p+2, u2), &s, &c);
  return {mul_rn(rad, c), mul_rn(rad, s)};
}

// ---------------------------------------------------------------------------
// Group-wise generation: group g uses the Philox block at counter base + g.
// ---------------------------------------------------------------------------
inline constexpr int kFloatsPerGroup = 4;   // uniform / normal / truncated
inline constexpr int kDoublesPerGroup = 2;  // uniform / normal / truncated
// Truncated normal: attempts per element before the fallback. Attempt t
// reads the counter space base + t * 2^120 (truncated_attempt_base).
inline constexpr int kTruncatedNormalMaxAttempts = 100;
inline constexpr float kTruncatedNormalBound = 2.0f;

KILN_HD inline Uint32x4 group_block(const Philox4x32& gen,
                                    const PhiloxCounter& base,
                                    std::uint64_t group) {
  return gen(counter_add(base, group));
}

KILN_HD inline void uniform_float_group(const Philox4x32& gen,
                                        const PhiloxCounter& base,
                                        std::uint64_t group, float out[4]) {
  const Uint32x4 b = group_block(gen, base, group);
  for (int j = 0; j < 4; ++j) out[j] = uint32_to_float01(b.v[j]);
}

KILN_HD inline void normal_float_group(const Philox4x32& gen,
                                       const PhiloxCounter& base,
                                       std::uint64_t group, float out[4]) {
  const Uint32x4 b = group_block(gen, base, group);
  const Pair<float> p0 = box_muller_float(b.v[0], b.v[1]);
  const Pair<float> p1 = box_muller_float(b.v[2], b.v[3]);
  out[0] = p0.first;
  out[1] = p0.second;
  out[2] = p1.first;
  out[3] = p1.second;
}

KILN_HD inline void uniform_double_group(const Philox4x32& gen,
                                         const PhiloxCounter& base,
                                         std::uint64_t group, double out[2]) {
  const Uint32x4 b = group_block(gen, base, group);
  out[0] = uint32x2_to_double01(b.v[0], b.v[1]);
  out[1] = uint32x2_to_double01(b.v[2], b.v[3]);
}

KILN_HD inline void normal_double_group(const Philox4x32& gen,
                                        const PhiloxCounter& base,
                                        std::uint64_t group, double out[2]) {
  const Uint32x4 b = group_block(gen, base, group);
  const Pair<double> p = box_muller_double(b.v[0], b.v[1], b.v[2], b.v[3]);
  out[0] = p.first;
  out[1] = p.second;
}

// Base counter of truncated-normal attempt t: base + t * 2^120 (the top byte
// of counter word v[3] += t). Callers put their stream id (seed2) in words
// v[2..3]; this stride makes the retries of stream s overlap another
// stream's attempt-0 values only if the stream ids differ by a multiple of
// 2^56, which small or hashed seeds never do.
KILN_HD inline PhiloxCounter truncated_attempt_base(const PhiloxCounter& base,
                                                    int attempt) {
  return counter_add_high(base, static_cast<std::uint64_t>(attempt) << 56);
}

// Truncated normal groups: lane j takes, from attempts t = 0, 1, ..., the
// first normal (normal_*_group at base + t*2^120) with |x| <= 2. P(reject) =
// 0.0455, so all 100 attempts fail with probability ~1e-134; the documented
// fallback for such a lane is 0. Same results as the element-wise functions.
KILN_HD inline void truncated_normal_float_group(const Philox4x32& gen,
                                                 const PhiloxCounter& base,
                                                 std::uint64_t group,
                                                 float out[4]) {
  unsigned pending = 0xfu;  // bit j: lane j still needs a value
  for (int t = 0; t < kTruncatedNormalMaxAttempts && pending != 0u; ++t) {
    float cand[4];
    normal_float_group(gen, truncated_attempt_base(base, t), group, cand);
    for (int j = 0; j < 4; ++j) {
      if ((pending >> j & 1u) && cand[j] >= -kTruncatedNormalBound &&
          cand[j] <= kTruncatedNormalBound) {
        out[j] = cand[j];
        pending &= ~(1u << j);
      }
    }
  }
  for (int j = 0; j < 4; ++j)
    if (pending >> j & 1u) out[j] = 0.0f;  // fallback (practically never)
}

KILN_HD inline void truncated_normal_double_group(const Philox4x32& gen,
                                                  const PhiloxCounter& base,
                                                  std::uint64_t group,
                                                  double out[2]) {
  unsigned pending = 0x3u;
  for (int t = 0; t < kTruncatedNormalMaxAttempts && pending != 0u; ++t) {
    double cand[2];
    normal_double_group(gen, truncated_attempt_base(base, t), group, cand);
    for (int j = 0; j < 2; ++j) {
      if ((pending >> j & 1u) && cand[j] >= -2.0 && cand[j] <= 2.0) {
        out[j] = cand[j];
        pending &= ~(1u << j);
      }
    }
  }
  for (int j = 0; j < 2; ++j)
    if (pending >> j & 1u) out[j] = 0.0;
}

// ---------------------------------------------------------------------------
// Element-wise: the value of element i directly (same bits as the group
// functions). Kernels may use either; no launch geometry changes results.
// ---------------------------------------------------------------------------
KILN_HD inline float uniform_float_element(const Philox4x32& gen,
                                           const PhiloxCounter& base,
                                           std::uint64_t i) {
  const Uint32x4 b = group_block(gen, base, i / kFloatsPerGroup);
  return uint32_to_float01(b.v[i % kFloatsPerGroup]);
}

KILN_HD inline float normal_float_element(const Philox4x32& gen,
                                          const PhiloxCounter& base,
                                          std::uint64_t i) {
  const Uint32x4 b = group_block(gen, base, i / kFloatsPerGroup);
  const unsigned lane = static_cast<unsigned>(i % kFloatsPerGroup);
  const unsigned pair = lane & ~1u;  // words (0,1) or (2,3)
  const Pair<float> p = box_muller_float(b.v[pair], b.v[pair + 1]);
  return (lane & 1u) ? p.second : p.first;
}

KILN_HD inline double uniform_double_element(const Philox4x32& gen,
                                             const PhiloxCounter& base,
                                             std::uint64_t i) {
  const Uint32x4 b = group_block(gen, base, i / kDoublesPerGroup);
  const unsigned w = 2u * static_cast<unsigned>(i % kDoublesPerGroup);
  return uint32x2_to_double01(b.v[w], b.v[w + 1]);
}

KILN_HD inline double normal_double_element(const Philox4x32& gen,
                                            const PhiloxCounter& base,
                                            std::uint64_t i) {
  const Uint32x4 b = group_block(gen, base, i / kDoublesPerGroup);
  const Pair<double> p = box_muller_double(b.v[0], b.v[1], b.v[2], b.v[3]);
  return (i % kDoublesPerGroup) ? p.second : p.first;
}

// Element i of a truncated normal (|x| <= 2, TF truncated_normal semantics):
// attempt t = 0..99 evaluates normal_float_element(gen, base + t*2^120, i) and
// returns the first value in [-2, 2]; 0 if all 100 attempts are rejected.
KILN_HD inline float truncated_normal_float(const Philox4x32& gen,
                                            const PhiloxCounter& base,
                                            std::uint64_t element_index) {
  for (int t = 0; t < kTruncatedNormalMaxAttempts; ++t) {
    const float x = normal_float_element(gen, truncated_attempt_base(base, t),
                                         element_index);
    if (x >= -kTruncatedNormalBound && x <= kTruncatedNormalBound) return x;
  }
  return 0.0f;
}

KILN_HD inline double truncated_normal_double(const Philox4x32& gen,
                                              const PhiloxCounter& base,
                                              std::uint64_t element_index) {
  for (int t = 0; t < kTruncatedNormalMaxAttempts; ++t) {
    const double x = normal_double_element(gen, truncated_attempt_base(base, t),
                                           element_index);
    if (x >= -2.0 && x <= 2.0) return x;
  }
  return 0.0;
}

}  // namespace kiln::random

// kiln/kernels/random/portable_math.h
//
// Contract: log, sin and cos (portable_log, portable_sincos, sincos_quarter_turn) that give the
// SAME BITS in host (g++) and device (nvcc) builds, for the random distributions.
//
// How bit-identity is achieved:
//  * No libm. log/sin/cos are implemented here (portable_log,
//    portable_sincos, sincos_quarter_turn) with integer bit manipulation plus
//    IEEE-754 round-to-nearest +, -, *, sqrt and fused multiply-add, which
//    are correctly rounded (hence identical) on x86-64 and on NVIDIA GPUs.
//    There is no division anywhere.
//  * Every floating-point operation goes through detail::{add,sub,mul,fma,
//    sqrt}_rn. On the device these are the __fadd_rn/__fmul_rn/__fmaf_rn/
//    __dadd_rn/... intrinsics, which nvcc never contracts or reassociates;
//    fma_rn is an explicit single-rounding fma on both sides (std::fma on the
//    host: the FMA instruction where available, glibc's exact emulation
//    otherwise). Host +, -, * are plain operators, so HOST CODE MUST BE
//    COMPILED WITH -ffp-contract=off (the CMake build sets this) and without
//    -ffast-math; x87 excess precision is rejected below.
//  * Subnormals: Box-Muller never produces subnormal intermediates, so FTZ
//    device builds (-use_fast_math) still match for the distributions. The
//    portable_* functions themselves only promise identical results for
//    subnormal inputs/outputs when the device does not flush them (default).
// Verified on an H200 (sm_90, nvcc 13.0, the version of this file with fma):
// see tests/kernels/random_math_test.cc (RandomGoldenBits) for the pinned
// streams; a standalone GPU check found 0 bit mismatches host vs device for
// all six distributions (1M elements each, two launch shapes), for every
// Box-Muller radius and angle input (2^23 each), for portable_log(float) on
// all non-negative floats, portable_sincos(float) on all |x| <= 2*pi, and
// for the double functions on 32M random inputs.
//
#pragma once

#include <cfloat>
#include <cmath>  // host std::sqrt, std::fma: correctly rounded per IEEE-754
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


namespace kiln::random {

// ---------------------------------------------------------------------------
// Exact IEEE operations (round to nearest even). fma_rn is the fused
// multiply-add a*b + c with a single rounding; the others never contract.
// ---------------------------------------------------------------------------
namespace detail {
#if defined(__CUDA_ARCH__)
KILN_HD inline float add_rn(float a, float b) { return __fadd_rn(a, b); }
KILN_HD inline float sub_rn(float a, float b) { return __fsub_rn(a, b); }
KILN_HD inline float mul_rn(float a, float b) { return __fmul_rn(a, b); }
KILN_HD inline float fma_rn(float a, float b, float c) {
  return __fmaf_rn(a, b, c);
}
KILN_HD inline float sqrt_rn(float a) { return __fsqrt_rn(a); }
KILN_HD inline double add_rn(double a, double b) { return __dadd_rn(a, b); }
KILN_HD inline double sub_rn(double a, double b) { return __dsub_rn(a, b); }
KILN_HD inline double mul_rn(double a, double b) { return __dmul_rn(a, b); }
KILN_HD inline double fma_rn(double a, double b, double c) {
  return __fma_rn(a, b, c);
}
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
// std::fma is correctly rounded (C99/IEEE-754 fusedMultiplyAdd; glibc uses
// the FMA instruction where the CPU has one and an exact software fallback
// otherwise), so it equals the device's __fmaf_rn/__fma_rn bit for bit.
KILN_HD inline float add_rn(float a, float b) { return a + b; }
KILN_HD inline float sub_rn(float a, float b) { return a - b; }
KILN_HD inline float mul_rn(float a, float b) { return a * b; }
KILN_HD inline float fma_rn(float a, float b, float c) {
  return std::fma(a, b, c);
}
KILN_HD inline float sqrt_rn(float a) { return std::sqrt(a); }
KILN_HD inline double add_rn(double a, double b) { return a + b; }
KILN_HD inline double sub_rn(double a, double b) { return a - b; }
KILN_HD inline double mul_rn(double a, double b) { return a * b; }
KILN_HD inline double fma_rn(double a, double b, double c) {
  return std::fma(a, b, c);
}
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

// sqrt_rn for a = +0 or 2^-100 <= a < inf (Box-Muller's radius). On sm_90
// this is exactly the fast path that nvcc emits for __fsqrt_rn (MUFU.RSQ, then
// one Newton step with fma: s = a*y, r = a - s*s, s + r*y/2), which is
// correctly rounded for every a in [2^-101, FLT_MAX], without the range check
// and branch to the slow path around it. fmax keeps MUFU.RSQ finite for
// a = +0 (then s = 0, r = +0 and the result is +0 = sqrt(+0)). Other
// architectures, and the host, use sqrt_rn.
KILN_HD inline float sqrt_nonneg_rn(float a) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ == 900
  float y;
  asm("rsqrt.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(fmaxf(a, 0x1p-100f)));
  const float s = __fmul_rn(a, y);
  const float h = __fmul_rn(0.5f, y);
  return __fmaf_rn(__fmaf_rn(-s, s, a), h, s);
#else
  return sqrt_rn(a);
#endif
}

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

// Horner evaluation c[0] + x*(c[1] + x*(... + x*c[N-1])) with one fma per
// coefficient.
template <typename T, int N>
KILN_HD inline T horner(T x, const T (&c)[N]) {
  T p = c[N - 1];
  for (int k = N - 2; k >= 0; --k) p = fma_rn(p, x, c[k]);
  return p;
}

// ---------------------------------------------------------------------------
// Log kernel. x = 2^e * m with m in [2/3, 4/3) (found with one integer
// subtraction of the bits of 2/3 and a mask, no branches), f = m - 1 (exact),
// log(x) = e*ln2 + f + f^2 * Q(f), Q a minimax polynomial for
// (log1p(f) - f) / f^2 on [-1/3, 1/3] (Remez, weighted by the relative error
// of the result: 2^-27.7 for float (degree 8), 2^-55.9 for double (degree
// 19)). No division: every step is an fma or a multiplication.
//
// kScale (1 or -2) returns kScale * log(x) with the SAME bits as
// kScale * (the kScale = 1 result): all constants and the variable f are
// scaled by powers of two, which commutes with rounding because no
// intermediate is subnormal. Box-Muller uses kScale = -2 to get -2*log(u)
// without the extra multiplication.
//
// Input: the bits of a positive normal finite x, and e_adjust (added to the
// exponent, for pre-scaled subnormal inputs).
// ---------------------------------------------------------------------------
inline constexpr float kLogCoefFloat[] = {
    -0x1p-1f,         0x1.555502p-2f,  -0x1.fffe84p-3f,
    0x1.99d1f2p-3f,   -0x1.55a754p-3f, 0x1.1ebe68p-3f,
    -0x1.f25dd8p-4f,  0x1.1ed142p-3f,  -0x1.0931e4p-3f};
inline constexpr double kLogCoefDouble[] = {
    -0x1.ffffffffffffp-2,  0x1.5555555555546p-2,  -0x1.00000000025d2p-2,
    0x1.999999999e21bp-3,  -0x1.5555555209c1dp-3, 0x1.2492492169b1fp-3,
    -0x1.0000010edd4fep-3, 0x1.c71c73ce5cdc4p-4,  -0x1.999939b4bbe75p-4,
    0x1.745cbb5c3c3a1p-4,  -0x1.555f8c05afddep-4, 0x1.3b1d7b3f47943p-4,
    -0x1.23e40d5ca1c0dp-4, 0x1.106a15dcf5ce2p-4,  -0x1.07482d2e21adap-4,
    0x1.efd6b1732677dp-5,  -0x1.693b9ab2552c8p-5, 0x1.55361477b8467p-5,
    -0x1.6ddee182da5dep-4, 0x1.5d5192c5c16ebp-4};

template <typename T, int N>
struct Coefs {  // an aggregate, so that it can also live in __constant__ memory
  T c[N];
};
// c[k] = coef[k] / kScale^(k+1): Horner in (kScale*f) then yields Q/kScale.
template <int kScale, typename T, int N>
constexpr Coefs<T, N> scaled_coefs(const T (&coef)[N]) {
  Coefs<T, N> out{};
  T div = static_cast<T>(kScale);
  for (int k = 0; k < N; ++k) {
    out.c[k] = coef[k] / div;  // exact: kScale is +-(a power of two)
    div *= static_cast<T>(kScale);
  }
  return out;
}

// Double-precision coefficient tables live in __constant__ memory on the
// device: DFMA reads them as constant-bank operands, whereas 64-bit literals
// would each cost two UMOV instructions per use (float literals are free
// FFMA immediates, so the float tables stay constexpr). The device copy is
// initialized from the same constexpr object, so the values are identical.
#if defined(__CUDACC__)
#define KILN_RANDOM_DEVICE_TABLE(name) \
  static __constant__ auto name##_device = name;
#else
#define KILN_RANDOM_DEVICE_TABLE(name)
#endif
#if defined(__CUDA_ARCH__)
#define KILN_RANDOM_TABLE(name) name##_device
#else
#define KILN_RANDOM_TABLE(name) name
#endif

inline constexpr Coefs<double, 20> kLogDouble1 =
    scaled_coefs<1>(kLogCoefDouble);
inline constexpr Coefs<double, 20> kLogDoubleM2 =
    scaled_coefs<-2>(kLogCoefDouble);
KILN_RANDOM_DEVICE_TABLE(kLogDouble1)
KILN_RANDOM_DEVICE_TABLE(kLogDoubleM2)

template <int kScale>
KILN_HD inline float scaled_log_kernel(std::uint32_t bits, int e_adjust) {
  static_assert(kScale == 1 || kScale == -2, "power-of-two scale only");
  constexpr Coefs<float, 9> q = scaled_coefs<kScale>(kLogCoefFloat);
  const float k = static_cast<float>(kScale);
  // eb = e * 2^23 (signed): the exponent that brings m into [2/3, 4/3).
  const std::int32_t eb = static_cast<std::int32_t>(bits - 0x3f2aaaabu) &
                          static_cast<std::int32_t>(0xff800000u);
  const std::uint32_t m_bits = bits - static_cast<std::uint32_t>(eb);
  // f = kScale * (m - 1), exact: m - 1, or 2 - 2m (2m = m_bits + 2^23).
  const float f = kScale == 1 ? sub_rn(float_of(m_bits), 1.0f)
                              : sub_rn(2.0f, float_of(m_bits + 0x00800000u));
  const float r = fma_rn(mul_rn(f, f), horner(f, q.c), f);
  // (e * 2^23) * (ln2 * 2^-23): the product is exact in the fma; the error of
  // ln2 in float adds < 0.07 ulp.
  const float fe = static_cast<float>(eb + (e_adjust << 23));
  return fma_rn(fe, k * 0x1.62e43p-24f, r);
}

template <int kScale>
KILN_HD inline double scaled_log_kernel(std::uint64_t bits, int e_adjust) {
  static_assert(kScale == 1 || kScale == -2, "power-of-two scale only");
  const Coefs<double, 20>& q = kScale == 1 ? KILN_RANDOM_TABLE(kLogDouble1)
                                            : KILN_RANDOM_TABLE(kLogDoubleM2);
  const double k = static_cast<double>(kScale);
  const std::uint64_t eb =
      (bits - 0x3fe5555555555555ull) & 0xfff0000000000000ull;  // e * 2^52
  const std::uint64_t m_bits = bits - eb;
  const double f = kScale == 1
                       ? sub_rn(double_of(m_bits), 1.0)
                       : sub_rn(2.0, double_of(m_bits + 0x0010000000000000ull));
  // e * 2^20 as an int (the high word of eb; the low word is 0), exact in
  // double. ln2 = kLn2Hi + kLn2Lo (kLn2Hi = ln2 rounded to double, both
  // scaled by 2^-20). Unlike float, double's ln2 is off by 0.4 ulp of
  // log(x) near |log(x)| ~ 0.4, so e*kLn2Lo is added to the small term t
  // before f: r = f + t rounds once, and fe*kLn2Hi + r is exact whenever r
  // and the result share a binade (|e| = 1), so no double rounding there.
  const double fe = static_cast<double>(
      static_cast<std::int32_t>(static_cast<std::uint32_t>(eb >> 32)) +
      (e_adjust << 20));
  const double kLn2Hi = 0x1.62e42fefa39efp-21;   // ln2 * 2^-20 rounded
  const double kLn2Lo = 0x1.abc9e3b39803fp-76;   // ln2 * 2^-20 - kLn2Hi
  const double t =
      fma_rn(mul_rn(f, f), horner(f, q.c), mul_rn(fe, k * kLn2Lo));
  return fma_rn(fe, k * kLn2Hi, add_rn(f, t));
}
}  // namespace detail

// ---------------------------------------------------------------------------
// Portable log (the log kernel above plus special cases).
// Special cases: log(+0) = -inf, log(x < 0) = NaN, log(+inf) = +inf,
// log(NaN) = NaN (canonical quiet NaN). Subnormals are scaled by 2^25 / 2^54
// (exact) first. Measured max error vs the exact log: 0.903 ulp (float;
// exhaustive over [0.5, 2] and all Box-Muller inputs, strided over all
// floats) / 0.835 ulp (double, sampled); see the tests.
// ---------------------------------------------------------------------------
KILN_HD inline float portable_log(float x) {
  using namespace detail;
  const std::uint32_t bits = bits_of(x);
  if (bits == 0u || bits == 0x80000000u) return float_of(0xff800000u);  // -inf
  if (bits == 0x7f800000u) return x;                                    // +inf
  if (bits > 0x7f800000u) return float_of(0x7fc00000u);  // NaN or negative
  if (bits < 0x00800000u)  // subnormal: x * 2^25 is normal and exact
    return scaled_log_kernel<1>(bits_of(mul_rn(x, 0x1p25f)), -25);
  return scaled_log_kernel<1>(bits, 0);
}

KILN_HD inline double portable_log(double x) {
  using namespace detail;
  const std::uint64_t bits = bits_of(x);
  const std::uint64_t kInf = 0x7ff0000000000000ull;
  if (bits == 0u || bits == 0x8000000000000000ull)
    return double_of(0xfff0000000000000ull);  // -inf
  if (bits == kInf) return x;
  if (bits > kInf) return double_of(0x7ff8000000000000ull);  // NaN/negative
  if (bits < 0x0010000000000000ull)  // subnormal
    return scaled_log_kernel<1>(bits_of(mul_rn(x, 0x1p54)), -54);
  return scaled_log_kernel<1>(bits, 0);
}

// ---------------------------------------------------------------------------
// Portable sincos of a quarter turn: sin(pi/2 * y) and cos(pi/2 * y) for
// |y| <= 1/2 (angles up to pi/4), no range reduction. Minimax polynomials in
// z = y^2 (Remez, relative error): sin = y * S(z), S of degree 3 (float,
// 2^-28.2) / 6 (double, 2^-58.1), with its leading coefficient split hi + lo
// so that the final fma rounds once; cos = 1 + z * C(z), C of degree 3
// (float, 2^-33.9 weighted) / 6 (double, 2^-64.5). Measured max error vs
// the exact values: float sin 0.778, cos 0.996 ulp (exhaustive over the
// Box-Muller inputs y = k * 2^-23), double sin 0.731, cos 0.540 ulp
// (sampled); see the tests.
// ---------------------------------------------------------------------------
KILN_HD inline void sincos_quarter_turn(float y, float* sin_out,
                                        float* cos_out) {
  using namespace detail;
  // sin: S(z) = kHi + (kSin[0] + z*(...)), kHi + kSin[0] ~ pi/2: y*kHi is
  // exact inside the last fma. cos: C(z) = kCos[0] + z*(...).
  constexpr float kHi = 0x1.921fb6p+0f;
  constexpr float kSin[] = {-0x1.a32bd2p-25f, -0x1.4abbbap-1f, 0x1.465e92p-4f,
                            -0x1.2d9302p-8f};
  constexpr float kCos[] = {-0x1.3bd3ccp+0f, 0x1.03c1dep-2f, -0x1.55c5ep-6f,
                            0x1.d9d57ep-11f};
  const float z = mul_rn(y, y);
  *sin_out = fma_rn(y, kHi, mul_rn(y, horner(z, kSin)));
  *cos_out = fma_rn(z, horner(z, kCos), 1.0f);
}

namespace detail {
struct QuarterTurnCoefsDouble {
  double sin_hi;
  double sin[7];
  double cos_hi;  // cos: C(z) = cos_hi + cos[0] + z * (cos[1] + ...)
  double cos[7];
};
inline constexpr QuarterTurnCoefsDouble kQuarterTurnDouble = {
    0x1.921fb54442d18p+0,
    {0x1.02644e4c77245p-54, -0x1.4abbce625be41p-1, 0x1.466bc677587p-4,
     -0x1.32d2cce2d536p-8, 0x1.50782fca38b8ep-13, -0x1.e30063a029ab5p-19,
     0x1.e3eed5ce555fap-25},
    -0x1.3bd3cc9be45dep+0,
    {-0x1.31649ebb380fcp-54, 0x1.03c1f081b5aaep-2, -0x1.55d3c7e3c928p-6,
     0x1.e1f5068367b1dp-11, -0x1.a6d1ec7e0b6bbp-16, 0x1.f9cc40ac9a345p-22,
     -0x1.b263c3465842fp-28}};
KILN_RANDOM_DEVICE_TABLE(kQuarterTurnDouble)
}  // namespace detail

KILN_HD inline void sincos_quarter_turn(double y, double* sin_out,
                                        double* cos_out) {
  using namespace detail;
  const QuarterTurnCoefsDouble& q = KILN_RANDOM_TABLE(kQuarterTurnDouble);
  const double kHi = q.sin_hi;
  const double kCosHi = q.cos_hi;
  const double z = mul_rn(y, y);
  *sin_out = fma_rn(y, kHi, mul_rn(y, horner(z, q.sin)));
  // cos = 1 + (z + z_lo) * (C0hi + C0lo + z * D(z)), summed so that only the
  // last addition rounds at the size of the result: 1 + z*C0hi = c_hi + e
  // (e = the fma's rounding error, itself rounded; 1 - c_hi is exact),
  // z_lo = y*y - z exactly. (The plain fma(z, C(z), 1), as in float, reaches
  // 1.03 ulp in double.)
  const double z_lo = fma_rn(y, y, -z);
  const double c_hi = fma_rn(z, kCosHi, 1.0);
  const double e = fma_rn(z, kCosHi, sub_rn(1.0, c_hi));
  const double tail = fma_rn(z_lo, kCosHi, fma_rn(z, horner(z, q.cos), e));
  *cos_out = add_rn(c_hi, tail);
}

// ---------------------------------------------------------------------------
// Portable sincos (radians). Method: k = round(x * 2/pi), r = x - k*pi/2 with
// pi/2 split Cody-Waite style into parts whose products with k are exact (so
// the cancellation near multiples of pi/2 loses nothing), |r| <~ pi/4; Taylor
// polynomials (evaluated with fma) for sin(r) and cos(r) truncated below 1e-9
// (float) / 1e-18 (double) relative; quadrant k mod 4 selects signs/swaps. r
// is carried as r + r_lo (error-free sums) and cos uses 1 - z/2 with its
// rounding error added back, which keeps the error below 1 ulp (see the
// tests for the measured maxima on [-2*pi, 2*pi], float and double).
// Domain: |x| <= kSinCosMaxArgFloat / kSinCosMaxArgDouble (k*split exact);
// outside it (and for inf/NaN) both outputs are NaN. Accuracy is asserted on
// [-2*pi, 2*pi]; beyond, it degrades gracefully. (Box-Muller does not use
// this function: its angle comes in quarter turns, see box_muller_float.)
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
  constexpr float kSin[] = {-0x1.555556p-3f, 0x1.111112p-7f, -0x1.a01a02p-13f,
                            0x1.71de3ap-19f, -0x1.ae6456p-26f};
  // cos(r) = 1 - z/2 + z^2*(1/4! - z/6! + z^2/8! - z^3/10! + z^4/12!).
  constexpr float kCos[] = {0x1.555556p-5f, -0x1.6c16c2p-10f, 0x1.a01a02p-16f,
                            -0x1.27e4fcp-22f, 0x1.1eed8ep-29f};
  const float ps = horner(z, kSin);
  const float pc = horner(z, kCos);
  const float hz = mul_rn(0.5f, z);
  const float w = sub_rn(1.0f, hz);
  const float w_err = sub_rn(sub_rn(1.0f, w), hz);  // exact: 1 - hz - w
  // First-order r_lo terms: sin(r + r_lo) ~ sin r + r_lo*(1 - z/2),
  // cos(r + r_lo) ~ cos r - r_lo*r.
  const float s = add_rn(r, fma_rn(mul_rn(r, z), ps, mul_rn(r_lo, w)));
  const float c =
      add_rn(w, add_rn(w_err, fma_rn(mul_rn(z, z), pc, -mul_rn(r, r_lo))));
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
  // (-1)^n / (2n+1)! for n = 1 up to 8.
  constexpr double kSin[] = {-0x1.5555555555555p-3, 0x1.1111111111111p-7,
                             -0x1.a01a01a01a01ap-13, 0x1.71de3a556c734p-19,
                             -0x1.ae64567f544e4p-26, 0x1.6124613a86d09p-33,
                             -0x1.ae7f3e733b81fp-41, 0x1.952c77030ad4ap-49};
  // (-1)^n / (2n)! for n = 2 up to 9.
  constexpr double kCos[] = {0x1.5555555555555p-5,  -0x1.6c16c16c16c17p-10,
                             0x1.a01a01a01a01ap-16, -0x1.27e4fb7789f5cp-22,
                             0x1.1eed8eff8d898p-29, -0x1.93974a8c07c9dp-37,
                             0x1.ae7f3e733b81fp-45, -0x1.6827863b97d97p-53};
  const double ps = horner(z, kSin);
  const double pc = horner(z, kCos);
  const double hz = mul_rn(0.5, z);
  const double w = sub_rn(1.0, hz);
  const double w_err = sub_rn(sub_rn(1.0, w), hz);
  const double s = add_rn(r, fma_rn(mul_rn(r, z), ps, mul_rn(r_lo, w)));
  const double c =
      add_rn(w, add_rn(w_err, fma_rn(mul_rn(z, z), pc, -mul_rn(r, r_lo))));
  assign_quadrant(k, s, c, sin_out, cos_out);
}

}  // namespace kiln::random

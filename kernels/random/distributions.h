// kiln/kernels/random/distributions.h
//
// Contract: turns Philox4x32 output into uniform, normal and truncated-normal
// floats/doubles such that the host build (g++) and the device build (nvcc)
// produce the SAME BITS (the math is kernels/random/portable_math.h), and
// element i of an output tensor depends only on (key, base counter, i) --
// never on thread/block geometry or on which other elements are computed.
//
// Element -> counter mapping ("group" g uses Philox counter base + g, added
// with carry into the 128-bit counter by counter_add):
//   float  uniform : element i -> group i/4, word i%4.
//   float  normal  : element i -> group i/4; words (0,1) give Box-Muller pair
//                    for elements 4g+0 (cos), 4g+1 (sin); words (2,3) give
//                    4g+2 (cos), 4g+3 (sin) (bit use: box_muller_float).
//   double uniform : element i -> group i/2; words (0,1) for 2g, (2,3) for
//                    2g+1 (word pair (lo, hi), see uint32x2_to_double01).
//   double normal  : element i -> group i/2; one Box-Muller on the doubles
//                    from words (0,1) and (2,3): 2g gets cos, 2g+1 gets sin
//                    (bit use: box_muller_double).
//   truncated normal (float/double): attempt t = 0, 1, ..., 99 draws the
//                    normal of element i (mapping above) from base counter
//                    base + t * 2^120 (i.e. counter word v[3] += t << 24),
//                    and returns the first draw with |x| <= 2. See
//                    truncated_normal_float.
// A caller generating n elements should advance its base counter by
// ceil(n / kXxxPerGroup) groups between calls.
#pragma once

#pragma once

#include <cstdint>

#include "kernels/host_device.h"
#include "kernels/random/philox.h"
#include "kernels/random/portable_math.h"

namespace kiln::random {

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
// Box-Muller: returns (rad*cos(theta), rad*sin(theta)) with
//   rad = sqrt(-2 log u1), u1 = 1 - uniform in (0, 1] (never 0: no log(0)),
//         i.e. rad = sqrt(-2 * portable_log(u1)) bit for bit (+0 for
//         u1 = 1);
//   theta = (pi/2) * (q + y), y in [-1/2, 1/2) (steps of 2^-23 / 2^-52) and
//         q in {0, 1, 2, 3} from two further random bits A, B:
//         q = 0, 1, 2, 3 for (A, B) = (0,0), (1,0), (1,1), (0,1).
// With (c, s) = (cos, sin)(pi/2 * y) from sincos_quarter_turn, (cos, sin) of
// theta is (c, s), (-s, c), (-c, -s), (s, -c) for q = 0..3: swap c and s if q
// is odd (A != B), then A negates the first output and B the second. So
// theta is uniform on [-pi/4, 7pi/4) with 2^25 (float) / 2^54 (double)
// equally spaced values, and no range reduction is needed.
// |result| <= sqrt(2*23*ln2) ~ 5.65 (float) / sqrt(2*52*ln2) ~ 8.49 (double).
// ---------------------------------------------------------------------------
template <typename T>
struct Pair {
  T first, second;
};

// u1 from bits 9..31 of x0, y from bits 9..31 of x1, A = bit 0 of x0,
// B = bit 0 of x1. (On the GPU: 1.mantissa = (x >> 9) + 0x3f800000 is one
// LEA.HI, flipping a sign with bits + (x << 31) one LEA or IMAD.)
KILN_HD inline Pair<float> box_muller_float(std::uint32_t x0,
                                            std::uint32_t x1) {
  using namespace detail;
  // u1 = 1 - (x0 >> 9) * 2^-23 = 2 - 1.mantissa (exact).
  const float u1 = sub_rn(2.0f, float_of((x0 >> 9) + 0x3f800000u));
  const float rad = sqrt_nonneg_rn(scaled_log_kernel<-2>(bits_of(u1), 0));
  const float y = sub_rn(float_of((x1 >> 9) + 0x3f800000u), 1.5f);
  float s, c;
  sincos_quarter_turn(y, &s, &c);
  // Adding 2^31 to the bits flips the sign bit (no carry out of 32 bits).
  const std::uint32_t rad_c = bits_of(rad) + (x0 << 31);
  const std::uint32_t rad_s = bits_of(rad) + (x1 << 31);
  // q is odd (swap sin and cos) iff A != B, i.e. the signs differ.
  const bool odd = static_cast<std::int32_t>(rad_c ^ rad_s) < 0;
  return {mul_rn(float_of(rad_c), odd ? s : c),
          mul_rn(float_of(rad_s), odd ? c : s)};
}

// x0..x3: u1 from (x0, x1) and y + 1/2 from (x2, x3), each via the 52-bit
// mapping of uint32x2_to_double01; A = bit 31 of x1, B = bit 31 of x3.
KILN_HD inline Pair<double> box_muller_double(std::uint32_t x0,
                                              std::uint32_t x1,
                                              std::uint32_t x2,
                                              std::uint32_t x3) {
  using namespace detail;
  const auto mant = [](std::uint32_t lo, std::uint32_t hi) {
    return (static_cast<std::uint64_t>(hi & 0xfffffu) << 32) | lo;
  };
  const double u1 =
      sub_rn(2.0, double_of(mant(x0, x1) | 0x3ff0000000000000ull));
  const double rad = sqrt_rn(scaled_log_kernel<-2>(bits_of(u1), 0));
  const double y =
      sub_rn(double_of(mant(x2, x3) | 0x3ff0000000000000ull), 1.5);
  double s, c;
  sincos_quarter_turn(y, &s, &c);
  const bool odd = ((x1 ^ x3) & 0x80000000u) != 0u;
  const std::uint64_t rb = bits_of(rad);
  const double rad_c =
      double_of(rb ^ (static_cast<std::uint64_t>(x1 & 0x80000000u) << 32));
  const double rad_s =
      double_of(rb ^ (static_cast<std::uint64_t>(x3 & 0x80000000u) << 32));
  return {mul_rn(rad_c, odd ? s : c), mul_rn(rad_s, odd ? c : s)};
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

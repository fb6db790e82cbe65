// kiln/kernels/random/philox.h
//
// Contract: Philox4x32-10, the counter-based generator of Salmon et al.,
// "Parallel Random Numbers: As Easy as 1, 2, 3" (SC'11). A pure function
// (key, 128-bit counter) -> 4 x uint32, identical on host (g++) and device
// (nvcc): it uses only 32/64-bit integer arithmetic. Output matches the
// Random123 known-answer vectors for philox4x32_10 (see
// tests/kernels/random_math_test.cc).
//
// Counter words are little-endian: v[0] is the least significant 32 bits of
// the 128-bit counter, v[3] the most significant.
#pragma once

#include <cstdint>

#include "kernels/host_device.h"

namespace kiln::random {

// Four 32-bit words: used both as a 128-bit counter and as a Philox output.
struct Uint32x4 {
  std::uint32_t v[4];
};
using PhiloxCounter = Uint32x4;

namespace philox_detail {
// Round multipliers and Weyl key increments from the Philox paper.
inline constexpr std::uint32_t kMul0 = 0xD2511F53u;
inline constexpr std::uint32_t kMul1 = 0xCD9E8D57u;
inline constexpr std::uint32_t kWeyl0 = 0x9E3779B9u;
inline constexpr std::uint32_t kWeyl1 = 0xBB67AE85u;

// One Philox S-box/P-box round: two 32x32->64 multiplies, XOR with the
// other words and the round key, and a fixed word permutation.
KILN_HD inline Uint32x4 round(const Uint32x4& c, std::uint32_t k0,
                              std::uint32_t k1) {
  Uint32x4 out;
#if defined(__CUDA_ARCH__)
  // 32x32 -> 64 with both halves: ptxas turns the mul.hi/mul.lo pair into
  // one IMAD.WIDE.U32 (the 64-bit C++ form leaves 64-bit operand plumbing).
  out.v[0] = __umulhi(kMul1, c.v[2]) ^ c.v[1] ^ k0;
  out.v[1] = kMul1 * c.v[2];
  out.v[2] = __umulhi(kMul0, c.v[0]) ^ c.v[3] ^ k1;
  out.v[3] = kMul0 * c.v[0];
#else
  const std::uint64_t p0 = static_cast<std::uint64_t>(kMul0) * c.v[0];
  const std::uint64_t p1 = static_cast<std::uint64_t>(kMul1) * c.v[2];
  out.v[0] = static_cast<std::uint32_t>(p1 >> 32) ^ c.v[1] ^ k0;
  out.v[1] = static_cast<std::uint32_t>(p1);
  out.v[2] = static_cast<std::uint32_t>(p0 >> 32) ^ c.v[3] ^ k1;
  out.v[3] = static_cast<std::uint32_t>(p0);
#endif
  return out;
}
}  // namespace philox_detail

struct Philox4x32 {
  static constexpr int kRounds = 10;
  std::uint32_t key[2];

  // The 10-round block function: returns the 4 random words for `ctr`.
  KILN_HD Uint32x4 operator()(const Uint32x4& ctr) const {
    Uint32x4 c = ctr;
    std::uint32_t k0 = key[0];
    std::uint32_t k1 = key[1];
    for (int r = 0; r < kRounds; ++r) {
      if (r > 0) {  // the key is bumped between rounds, not before the first
        k0 += philox_detail::kWeyl0;
        k1 += philox_detail::kWeyl1;
      }
      c = philox_detail::round(c, k0, k1);
    }
    return c;
  }
};

// Key from a 64-bit seed: low word first.
KILN_HD inline Philox4x32 make_philox(std::uint64_t seed) {
  return Philox4x32{{static_cast<std::uint32_t>(seed),
                     static_cast<std::uint32_t>(seed >> 32)}};
}

// Counter whose low 64 bits are `lo` and high 64 bits are `hi`.
KILN_HD inline Uint32x4 make_counter(std::uint64_t lo, std::uint64_t hi = 0) {
  return Uint32x4{
      {static_cast<std::uint32_t>(lo), static_cast<std::uint32_t>(lo >> 32),
       static_cast<std::uint32_t>(hi), static_cast<std::uint32_t>(hi >> 32)}};
}

// c + offset (mod 2^128): offset is added to the low 64 bits and the carry
// propagates into the high 64 bits. With a 128-bit integer type this is one
// add-with-carry chain (4 instructions on the GPU instead of a 64-bit compare
// and select).
KILN_HD inline Uint32x4 counter_add(const Uint32x4& c, std::uint64_t offset) {
#if defined(__SIZEOF_INT128__)
  __extension__ typedef unsigned __int128 U128;
  U128 x = (static_cast<U128>(c.v[3]) << 96) |
           (static_cast<U128>(c.v[2]) << 64) |
           (static_cast<U128>(c.v[1]) << 32) | c.v[0];
  x += offset;
  return Uint32x4{{static_cast<std::uint32_t>(x),
                   static_cast<std::uint32_t>(x >> 32),
                   static_cast<std::uint32_t>(x >> 64),
                   static_cast<std::uint32_t>(x >> 96)}};
#else
  const std::uint64_t lo = (static_cast<std::uint64_t>(c.v[1]) << 32) | c.v[0];
  std::uint64_t hi = (static_cast<std::uint64_t>(c.v[3]) << 32) | c.v[2];
  const std::uint64_t new_lo = lo + offset;
  if (new_lo < lo) ++hi;  // carry out of the low half
  return make_counter(new_lo, hi);
#endif
}

// c + (offset << 64) (mod 2^128): adds to the high 64 bits only.
KILN_HD inline Uint32x4 counter_add_high(const Uint32x4& c,
                                         std::uint64_t offset) {
  const std::uint64_t lo = (static_cast<std::uint64_t>(c.v[1]) << 32) | c.v[0];
  const std::uint64_t hi =
      ((static_cast<std::uint64_t>(c.v[3]) << 32) | c.v[2]) + offset;
  return make_counter(lo, hi);
}

}  // namespace kiln::random

// CRC-32C: a slicing-by-8 table implementation and an SSE4.2 one, chosen once at run time.
//
// Both keep the running register in its "inverted" form (crc ^ ~0) while bytes are folded in,
// which is what makes extend(value(A), B) == value(A‖B).
#if KILN_HAVE_ISAL
#include <isa-l/crc.h>
#endif
#include "io/crc32c.h"

#include <algorithm>

#include <array>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#define KILN_CRC32C_X86 1
#include <nmmintrin.h>
#endif

namespace kiln::crc32c {
namespace {

constexpr uint32_t kPoly = 0x82f63b78u;  // reflected Castagnoli polynomial

// kTable[0][b] is the CRC register after folding byte b into a zero register; kTable[k][b] is the
// same byte followed by k zero bytes, so eight table lookups fold eight bytes at once.
constexpr std::array<std::array<uint32_t, 256>, 8> make_tables() {
  std::array<std::array<uint32_t, 256>, 8> t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t r = b;
    for (int i = 0; i < 8; ++i) r = (r >> 1) ^ ((r & 1) ? kPoly : 0);
    t[0][b] = r;
  }
  for (int k = 1; k < 8; ++k)
    for (uint32_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
  return t;
}
constexpr auto kTable = make_tables();

inline uint32_t load_le32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

// ---- Combining CRCs -------------------------------------------------------------------------
//
// In the reflected representation bit 31 of a register is the coefficient of x^0 and bit 0 that
// of x^31. Folding one zero bit into a raw register r (no pre/post inversion) shifts it right
// and reduces: r -> r * x mod P. So folding n zero bytes is r -> r * x^(8n) mod P, and since
// folding is linear, raw(r, A‖B) = raw(r, A) * x^(8|B|) ^ raw(0, B). This is what lets three
// streams over consecutive blocks run independently and be joined afterwards, and what
// combine() uses for finished CRCs (the ~0 pre/post conditioning cancels, as in zlib).

// a * b mod P, both in the reflected representation.
constexpr uint32_t multmodp(uint32_t a, uint32_t b) {
  uint32_t m = 1u << 31, p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) == 0) break;
    }
    m >>= 1;
    b = (b & 1) ? (b >> 1) ^ kPoly : b >> 1;
  }
  return p;
}

// kX2n[k] = x^(2^k) mod P.
constexpr std::array<uint32_t, 64> make_x2n() {
  std::array<uint32_t, 64> t{};
  uint32_t p = 1u << 30;  // x^1
  t[0] = p;
  for (int k = 1; k < 64; ++k) t[k] = p = multmodp(p, p);
  return t;
}
constexpr auto kX2n = make_x2n();

// x^(8n) mod P.
constexpr uint32_t x8nmodp(uint64_t n) {
  uint32_t p = 1u << 31;  // x^0
  int k = 3;
  while (n) {
    if (n & 1) p = multmodp(kX2n[k & 63], p);
    n >>= 1;
    ++k;
  }
  return p;
}

// The zero-extension operator for a fixed length as four byte tables: shift(r) = r * x^(8n)
// mod P, computed with four lookups instead of a 32-step multiplication.
struct ZeroOp {
  uint32_t t[4][256];
};
constexpr ZeroOp make_zero_op(uint64_t n) {
  ZeroOp z{};
  const uint32_t k = x8nmodp(n);
  for (int j = 0; j < 4; ++j)
    for (uint32_t b = 0; b < 256; ++b) z.t[j][b] = multmodp(k, b << (8 * j));
  return z;
}
inline uint32_t shift(const ZeroOp& z, uint32_t r) {
  return z.t[0][r & 0xff] ^ z.t[1][(r >> 8) & 0xff] ^ z.t[2][(r >> 16) & 0xff] ^ z.t[3][r >> 24];
}

// Per-stream block lengths of the three-way interleaved loop: long blocks for bulk data, short
// ones for what remains (and for buffers of a few KiB).
constexpr size_t kLongBlock = 8192;
constexpr size_t kShortBlock = 256;
constexpr ZeroOp kLongOp = make_zero_op(kLongBlock);
constexpr ZeroOp kShortOp = make_zero_op(kShortBlock);

#if KILN_CRC32C_X86
// One stream: 8 bytes per instruction. Works on the raw register.
__attribute__((target("sse4.2"))) uint64_t serial_sse42(uint64_t r, const uint8_t* p, size_t n) {
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    r = _mm_crc32_u8(static_cast<uint32_t>(r), *p++);
    --n;
  }
  while (n >= 8) {
    uint64_t a;
    std::memcpy(&a, p, 8);
    r = _mm_crc32_u64(r, a);
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    r = _mm_crc32_u8(static_cast<uint32_t>(r), *p++);
    --n;
  }
  return r;
}

// Three streams over consecutive blocks of `block` bytes each: the crc32 instruction has a
// latency of 3 cycles and a throughput of 1 per cycle, so three independent chains keep it busy.
// REQUIRES: n >= 3 * block, block a multiple of 8.
template <size_t kBlock>
__attribute__((target("sse4.2"))) inline uint64_t three_way(uint64_t r, const uint8_t*& p,
                                                             size_t& n, const ZeroOp& op) {
  while (n >= 3 * kBlock) {
    uint64_t c0 = r, c1 = 0, c2 = 0;
    const uint8_t* a = p;
    const uint8_t* b = p + kBlock;
    const uint8_t* c = p + 2 * kBlock;
    for (size_t i = 0; i < kBlock; i += 8) {
      uint64_t x, y, z;
      std::memcpy(&x, a + i, 8);
      std::memcpy(&y, b + i, 8);
      std::memcpy(&z, c + i, 8);
      c0 = _mm_crc32_u64(c0, x);
      c1 = _mm_crc32_u64(c1, y);
      c2 = _mm_crc32_u64(c2, z);
    }
    r = shift(op, static_cast<uint32_t>(c0)) ^ static_cast<uint32_t>(c1);
    r = shift(op, static_cast<uint32_t>(r)) ^ static_cast<uint32_t>(c2);
    p += 3 * kBlock;
    n -= 3 * kBlock;
  }
  return r;
}

__attribute__((target("sse4.2"))) uint32_t extend_sse42(uint32_t crc, const uint8_t* p,
                                                         size_t n) {
  uint64_t r = crc ^ 0xffffffffu;
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    r = _mm_crc32_u8(static_cast<uint32_t>(r), *p++);
    --n;
  }
  r = three_way<kLongBlock>(r, p, n, kLongOp);
  r = three_way<kShortBlock>(r, p, n, kShortOp);
  r = serial_sse42(r, p, n);
  return static_cast<uint32_t>(r) ^ 0xffffffffu;
}
#endif

bool detect_hardware() {
#if KILN_CRC32C_X86
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
#else
  return false;
#endif
}

const bool kHaveHardware = detect_hardware();

}  // namespace

uint32_t extend_portable(uint32_t crc, const void* data, size_t n) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  uint32_t r = crc ^ 0xffffffffu;
  while (n >= 8) {
    uint32_t lo = load_le32(p) ^ r;
    uint32_t hi = load_le32(p + 4);
    r = kTable[7][lo & 0xff] ^ kTable[6][(lo >> 8) & 0xff] ^ kTable[5][(lo >> 16) & 0xff] ^
        kTable[4][lo >> 24] ^ kTable[3][hi & 0xff] ^ kTable[2][(hi >> 8) & 0xff] ^
        kTable[1][(hi >> 16) & 0xff] ^ kTable[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    r = (r >> 8) ^ kTable[0][(r ^ *p++) & 0xff];
    --n;
  }
  return r ^ 0xffffffffu;
}

bool hardware_available() { return kHaveHardware; }

uint32_t extend_hardware(uint32_t crc, const void* data, size_t n) {
#if KILN_CRC32C_X86
  return extend_sse42(crc, static_cast<const uint8_t*>(data), n);
#else
  return extend_portable(crc, data, n);
#endif
}

uint32_t extend_hardware_serial(uint32_t crc, const void* data, size_t n) {
#if KILN_CRC32C_X86
  if (kHaveHardware)
    return static_cast<uint32_t>(
               serial_sse42(crc ^ 0xffffffffu, static_cast<const uint8_t*>(data), n)) ^
           0xffffffffu;
#endif
  return extend_portable(crc, data, n);
}

uint32_t combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b) {
  return multmodp(x8nmodp(len_b), crc_a) ^ crc_b;
}

uint32_t extend(uint32_t crc, const void* data, size_t n) {
#if KILN_HAVE_ISAL
  // ISA-L's convention: crc32_iscsi(p, n, ~crc) == ~extend(crc, p, n); lengths are int.
  const unsigned char* p = static_cast<const unsigned char*>(data);
  while (n > 0) {
    const size_t len = std::min<size_t>(n, size_t{1} << 30);
    crc = ~crc32_iscsi(const_cast<unsigned char*>(p), static_cast<int>(len), ~crc);
    p += len;
    n -= len;
  }
  return crc;
#else
  return kHaveHardware ? extend_hardware(crc, data, n) : extend_portable(crc, data, n);
#endif
}

}  // namespace kiln::crc32c

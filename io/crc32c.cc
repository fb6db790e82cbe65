// CRC-32C: a slicing-by-8 table implementation and an SSE4.2 one, chosen once at run time.
//
// Both keep the running register in its "inverted" form (crc ^ ~0) while bytes are folded in,
// which is what makes extend(value(A), B) == value(A‖B).
#include "io/crc32c.h"

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

#if KILN_CRC32C_X86
__attribute__((target("sse4.2"))) uint32_t extend_sse42(uint32_t crc, const uint8_t* p,
                                                         size_t n) {
  uint64_t r = crc ^ 0xffffffffu;
  // Byte steps up to 8-byte alignment, then 8 bytes per instruction, then the tail.
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    r = _mm_crc32_u8(static_cast<uint32_t>(r), *p++);
    --n;
  }
  while (n >= 32) {
    uint64_t a, b, c, d;
    std::memcpy(&a, p, 8);
    std::memcpy(&b, p + 8, 8);
    std::memcpy(&c, p + 16, 8);
    std::memcpy(&d, p + 24, 8);
    r = _mm_crc32_u64(r, a);
    r = _mm_crc32_u64(r, b);
    r = _mm_crc32_u64(r, c);
    r = _mm_crc32_u64(r, d);
    p += 32;
    n -= 32;
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

uint32_t extend(uint32_t crc, const void* data, size_t n) {
  return kHaveHardware ? extend_hardware(crc, data, n) : extend_portable(crc, data, n);
}

}  // namespace kiln::crc32c

// CRC-32C (Castagnoli; reflected polynomial 0x82F63B78, initial value and final xor ~0), the
// checksum of LevelDB tables and TensorFlow bundles. crc32c::value("123456789") == 0xe3069283.
//
// extend() uses Intel ISA-L's crc32_iscsi when kiln is built with it (libisal-dev: AVX-512
// carry-less-multiply folding, ~60 GB/s on a recent Xeon core, dispatched at run time); else the
// SSE4.2 crc32 instruction when the CPU has it (checked once at run time; the rest of the build
// needs no -msse4.2) and a portable slicing-by-8 table otherwise. Our SSE4.2 path runs three
// independent instruction chains over consecutive blocks and joins them with the zero-extension
// operator (multiplication by x^(8n) mod P), ~3x one chain on long buffers (~30 GB/s).
//
// Masking: a CRC stored next to the data it covers is "masked" (rotated right by 15 bits, plus
// 0xa282ead8), because computing the CRC of a string that itself contains embedded CRCs is
// otherwise degenerate. Block trailers, BundleEntryProto.crc32c and string-length checksums are
// all masked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace kiln::crc32c {

// Returns the CRC of A‖data, given crc = value(A). extend(0, ...) starts a new CRC.
uint32_t extend(uint32_t crc, const void* data, size_t n);

inline uint32_t value(const void* data, size_t n) { return extend(0, data, n); }
inline uint32_t value(std::string_view s) { return extend(0, s.data(), s.size()); }
inline uint32_t extend(uint32_t crc, std::string_view s) { return extend(crc, s.data(), s.size()); }

inline constexpr uint32_t kMaskDelta = 0xa282ead8u;

inline constexpr uint32_t mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kMaskDelta; }

inline constexpr uint32_t unmask(uint32_t masked) {
  uint32_t rot = masked - kMaskDelta;
  return (rot >> 17) | (rot << 15);
}

// The two implementations, exposed for tests and benchmarks.
uint32_t extend_portable(uint32_t crc, const void* data, size_t n);
// True when extend_hardware() may be called (x86-64 with SSE4.2).
bool hardware_available();
uint32_t extend_hardware(uint32_t crc, const void* data, size_t n);
// The hardware instruction on one chain only (portable when there is no SSE4.2): the reference
// the interleaved path is tested against.
uint32_t extend_hardware_serial(uint32_t crc, const void* data, size_t n);

// value(A‖B) from value(A), value(B) and B's length (zlib's crc32_combine for CRC-32C), so
// pieces of a buffer can be checksummed separately (on several threads) and joined.
uint32_t combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

}  // namespace kiln::crc32c

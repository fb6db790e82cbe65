// Little-endian fixed-width integers and LEB128 varints, as used by LevelDB tables and by the
// string layout of bundle data files. Decoders never read past `limit` and return nullptr on
// malformed or truncated input.
#pragma once

#include <cstdint>
#include <string>

namespace kiln::io {

inline void put_fixed32(std::string* dst, uint32_t v) {
  char buf[4] = {char(v), char(v >> 8), char(v >> 16), char(v >> 24)};
  dst->append(buf, 4);
}

inline void put_fixed64(std::string* dst, uint64_t v) {
  put_fixed32(dst, static_cast<uint32_t>(v));
  put_fixed32(dst, static_cast<uint32_t>(v >> 32));
}

inline uint32_t decode_fixed32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return uint32_t(u[0]) | uint32_t(u[1]) << 8 | uint32_t(u[2]) << 16 | uint32_t(u[3]) << 24;
}

inline uint64_t decode_fixed64(const char* p) {
  return uint64_t(decode_fixed32(p)) | uint64_t(decode_fixed32(p + 4)) << 32;
}

inline void put_varint64(std::string* dst, uint64_t v) {
  char buf[10];
  int n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  dst->append(buf, n);
}

inline int varint_length(uint64_t v) {
  int n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Decodes a varint of at most 10 bytes (64 bits) from [p, limit).
inline const char* get_varint64(const char* p, const char* limit, uint64_t* value) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && p < limit; shift += 7) {
    uint64_t byte = static_cast<unsigned char>(*p++);
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *value = result;
      return p;
    }
  }
  return nullptr;
}

inline const char* get_varint32(const char* p, const char* limit, uint32_t* value) {
  uint64_t v;
  p = get_varint64(p, limit, &v);
  if (p == nullptr || v > UINT32_MAX) return nullptr;
  *value = static_cast<uint32_t>(v);
  return p;
}

}  // namespace kiln::io

#include "io/ordered_code.h"

namespace kiln::io {

void ordered_put_num(std::string* dst, uint64_t v) {
  char buf[8];
  int n = 0;
  for (; v != 0; v >>= 8) buf[7 - n++] = static_cast<char>(v & 0xff);
  dst->push_back(static_cast<char>(n));
  dst->append(buf + 8 - n, n);
}

void ordered_put_string(std::string* dst, std::string_view s) {
  for (char c : s) {
    dst->push_back(c);
    if (c == '\0') dst->push_back('\xff');
    else if (c == '\xff') dst->push_back('\0');
  }
  dst->append("\0\x01", 2);
}

namespace {

// Bytes needed for v: the smallest n with v in [-2^(7n-1), 2^(7n-1)); 10 covers all of int64.
int signed_length(int64_t v) {
  const uint64_t x = v < 0 ? ~static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  int n = 1;
  while (n < 10 && (x >> (7 * n - 1)) != 0) ++n;
  return n;
}

}  // namespace

void ordered_put_signed(std::string* dst, int64_t v) {
  const int n = signed_length(v);
  // The 8n-bit two's complement of v, big-endian (sign-extended past 64 bits).
  unsigned char buf[10];
  const unsigned char fill = v < 0 ? 0xff : 0x00;
  for (int i = 0; i < n; ++i) {
    const int shift = 8 * (n - 1 - i);
    buf[i] = shift >= 64 ? fill : static_cast<unsigned char>(static_cast<uint64_t>(v) >> shift);
  }
  // Invert the top n bits: the length prefix.
  for (int bit = 0; bit < n; ++bit) buf[bit / 8] ^= static_cast<unsigned char>(0x80 >> (bit % 8));
  dst->append(reinterpret_cast<const char*>(buf), n);
}

bool ordered_get_num(std::string_view* in, uint64_t* v) {
  if (in->empty()) return false;
  const size_t n = static_cast<unsigned char>((*in)[0]);
  if (n > 8 || in->size() < n + 1) return false;
  uint64_t r = 0;
  for (size_t i = 1; i <= n; ++i) r = (r << 8) | static_cast<unsigned char>((*in)[i]);
  in->remove_prefix(n + 1);
  *v = r;
  return true;
}

bool ordered_get_string(std::string_view* in, std::string* s) {
  s->clear();
  size_t i = 0;
  while (i + 1 < in->size()) {
    const char c = (*in)[i], next = (*in)[i + 1];
    if (c == '\0' && next == '\x01') {
      in->remove_prefix(i + 2);
      return true;
    }
    if (c == '\0' && next != '\xff') return false;
    if (c == '\xff' && next != '\0') return false;  // a lone FF must be escaped
    s->push_back(c);
    i += (c == '\0' || c == '\xff') ? 2 : 1;
  }
  return false;
}

bool ordered_get_signed(std::string_view* in, int64_t* v) {
  if (in->empty()) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(in->data());
  const bool negative = (p[0] & 0x80) == 0;
  // The length is the run of bits equal to the first one (bit n is its complement).
  int n = 0;
  auto bit = [&](int b) { return (p[b / 8] >> (7 - b % 8)) & 1; };
  while (n < 10 && static_cast<size_t>(n / 8) < in->size() && bit(n) == (negative ? 0 : 1)) ++n;
  if (n == 0 || n > 10 || in->size() < static_cast<size_t>(n)) return false;
  if (n < 10 && bit(n) == (negative ? 0 : 1)) return false;
  unsigned char buf[10];
  for (int i = 0; i < n; ++i) buf[i] = p[i];
  for (int b = 0; b < n; ++b) buf[b / 8] ^= static_cast<unsigned char>(0x80 >> (b % 8));
  uint64_t r = negative ? ~uint64_t{0} : 0;  // sign-extend
  for (int i = 0; i < n; ++i) r = (r << 8) | buf[i];
  in->remove_prefix(n);
  *v = static_cast<int64_t>(r);
  return true;
}

std::string encode_slice_key(const std::string& name, const TensorSlice& slice) {
  std::string key;
  ordered_put_num(&key, 0);
  ordered_put_string(&key, name);
  ordered_put_num(&key, slice.size());
  for (const SliceExtent& e : slice) {
    const bool full = e.length < 0;
    ordered_put_signed(&key, full ? 0 : e.start);
    ordered_put_signed(&key, full ? -1 : e.length);
  }
  return key;
}

bool decode_slice_key(std::string_view key, std::string* name, TensorSlice* slice) {
  uint64_t zero = 0, rank = 0;
  if (!ordered_get_num(&key, &zero) || zero != 0) return false;
  if (!ordered_get_string(&key, name)) return false;
  if (!ordered_get_num(&key, &rank) || rank > 64) return false;
  slice->assign(rank, SliceExtent{});
  for (SliceExtent& e : *slice) {
    if (!ordered_get_signed(&key, &e.start) || !ordered_get_signed(&key, &e.length)) return false;
    if (e.length < 0) e = SliceExtent{};  // -1: the whole dimension
  }
  return key.empty();
}

}  // namespace kiln::io

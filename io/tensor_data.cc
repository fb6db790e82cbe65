#include "io/tensor_data.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/errors.h"
#include "io/coding.h"
#include "io/crc32c.h"

namespace kiln::io {
namespace {

// Large tensors are checksummed and written in pieces so each piece is still in cache when it
// is written.
constexpr size_t kChunk = 4 << 20;

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08x", v);
  return buf;
}

// The crc covers a string's length as fixed-width little-endian bytes.
uint32_t extend_with_length(uint32_t crc, uint64_t length) {
  std::string bytes;
  if (length <= std::numeric_limits<uint32_t>::max()) {
    put_fixed32(&bytes, static_cast<uint32_t>(length));
  } else {
    put_fixed64(&bytes, length);
  }
  return crc32c::extend(crc, bytes);
}

WrittenTensor write_strings(const Tensor& host, WritableFile* out) {
  const std::string* strings = host.data<std::string>();
  const int64_t n = host.num_elements();
  std::string lengths;
  lengths.reserve(n);
  uint32_t crc = 0;
  for (int64_t i = 0; i < n; ++i) {
    put_varint64(&lengths, strings[i].size());
    crc = extend_with_length(crc, strings[i].size());
  }
  std::string length_crc;
  put_fixed32(&length_crc, crc32c::mask(crc));
  crc = crc32c::extend(crc, length_crc);
  out->append(lengths);
  out->append(length_crc);
  uint64_t size = lengths.size() + length_crc.size();
  for (int64_t i = 0; i < n; ++i) {
    out->append(strings[i]);
    crc = crc32c::extend(crc, strings[i]);
    size += strings[i].size();
  }
  return {size, crc32c::mask(crc)};
}

}  // namespace

int64_t fixed_size_bytes(DType dtype, int64_t num_elements) {
  const int64_t elem = static_cast<int64_t>(dtype_size(dtype));
  if (num_elements < 0 || elem <= 0) return -1;
  if (num_elements > std::numeric_limits<int64_t>::max() / elem) return -1;
  return num_elements * elem;
}

WrittenTensor write_tensor_data(const Tensor& host, WritableFile* out, CrcWorker* crc) {
  if (host.dtype() == DType::kString) return write_strings(host, out);
  const char* p = static_cast<const char*>(host.raw_data());
  const size_t total = host.bytes();
  const uint32_t value = crc_beside(crc, IoDirection::kWrite, p, total, kChunk, [&](size_t offset, size_t n) {
    out->append(std::string_view(p + offset, n));
  });
  return {total, crc32c::mask(value)};
}

void decode_string_data(std::string_view bytes, uint32_t masked_crc32c, Tensor* out,
                        const std::string& context) {
  const int64_t n = out->num_elements();
  std::string* strings = out->data<std::string>();
  if (n == 0 && bytes.empty()) return;  // TF's reader accepts an empty record for no strings
  auto fail = [&](const std::string& what) { throw DataLossError(context + what); };

  // Lengths first: each must fit in what is left, so nothing is allocated beyond `bytes`.
  const char* p = bytes.data();
  const char* limit = bytes.data() + bytes.size();
  std::vector<uint64_t> lengths(static_cast<size_t>(n));
  uint64_t total = 0;
  uint32_t crc = 0;
  for (int64_t i = 0; i < n; ++i) {
    p = get_varint64(p, limit, &lengths[i]);
    if (p == nullptr) fail("string lengths are truncated or malformed");
    if (lengths[i] > bytes.size() || total + lengths[i] > bytes.size())
      fail("string length " + std::to_string(lengths[i]) + " exceeds the stored size " +
           std::to_string(bytes.size()));
    total += lengths[i];
    crc = extend_with_length(crc, lengths[i]);
  }
  if (limit - p < 4) fail("string length checksum is missing");
  const uint32_t stored_length_crc = decode_fixed32(p);
  if (stored_length_crc != crc32c::mask(crc))
    fail("The length checksum does not match: expected " + hex(crc32c::mask(crc)) +
         " but actual is " + hex(stored_length_crc));
  crc = crc32c::extend(crc, p, 4);
  p += 4;
  if (static_cast<uint64_t>(limit - p) != total)
    fail("string bytes take " + std::to_string(limit - p) + " bytes but the lengths sum to " +
         std::to_string(total));
  for (int64_t i = 0; i < n; ++i) {
    strings[i].assign(p, lengths[i]);
    crc = crc32c::extend(crc, p, lengths[i]);
    p += lengths[i];
  }
  if (crc32c::mask(crc) != masked_crc32c)
    fail("Checksum does not match: stored " + hex(crc32c::unmask(masked_crc32c)) +
         " vs. calculated on the restored bytes " + hex(crc));
}

}  // namespace kiln::io

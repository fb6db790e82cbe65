// How one tensor's values are laid out in a bundle data file, and their checksum.
//
// Fixed-size dtypes: the raw row-major bytes in host order; crc32c over those bytes.
// Strings (DT_STRING):
//   [varint64 len_0] ... [varint64 len_{N-1}] [fixed32 masked length-crc] [bytes_0] ... [bytes_{N-1}]
// The running crc covers each length as a little-endian uint32 (uint64 when above UINT32_MAX; not
// the varint bytes), then the 4 masked length-crc bytes, then the string bytes. Both the
// length-crc and the entry's crc32c field store masked values. An empty string tensor is just
// the 4 checksum bytes (the reader also accepts 0 bytes).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/tensor.h"
#include "io/crc_worker.h"
#include "io/file.h"

namespace kiln::io {

struct WrittenTensor {
  uint64_t size = 0;             // bytes written (what BundleEntryProto.size records)
  uint32_t masked_crc32c = 0;
};

// Appends the values of `host` (a host tensor) to `out`, straight from its memory (no copy of
// our own). With a `crc` worker the checksum of each piece runs on it while the next piece is
// written (io/crc_worker.h); the call returns when both are done.
WrittenTensor write_tensor_data(const Tensor& host, WritableFile* out, CrcWorker* crc = nullptr);

// Byte count a fixed-size tensor of `num_elements` must occupy, or -1 on overflow.
int64_t fixed_size_bytes(DType dtype, int64_t num_elements);

// Fills the string tensor `out` (shape already set) from `bytes`, verifying both checksums.
// Throws DataLossError starting with `context` (which names the tensor and file) when the bytes
// are malformed or a checksum does not match.
void decode_string_data(std::string_view bytes, uint32_t masked_crc32c, Tensor* out,
                        const std::string& context);

}  // namespace kiln::io

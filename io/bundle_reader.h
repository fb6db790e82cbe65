// BundleReader: reads a V2 tensor bundle (a TensorFlow checkpoint) at a prefix P.
//
//   io::BundleReader reader("/ckpt/model.ckpt");
//   Tensor w = reader.lookup("dense/kernel");        // a host tensor; copy_to() for a device
//   reader.for_each([](const std::string& key, const io::BundleEntry& e) { ... });
//
// Construction opens P.index, checks the table's structure, reads the header entry (key "") and
// checks it: endianness (UnimplementedError for a bundle of the other byte order) and versions
// (InvalidArgumentError with TF's messages). Data files are opened on first use.
//
// Every read is checked before anything is allocated for it: shape (no negative dimension, no
// element-count overflow), dtype, shard id, size against the dtype and shape, and
// offset + size against the data file's actual size; then every checksum (block checksums in the
// index, the tensor's crc32c, and for strings the length checksum). Failures are DataLossError
// naming the tensor and the file; a missing key is NotFoundError "Key K not found in
// checkpoint"; a missing data file NotFoundError naming it; a dtype kiln lacks (complex64, ...)
// UnimplementedError.
//
// Partitioned tensors (a full entry listing slices, each slice stored under its slice key,
// io/ordered_code.h) are read whole by lookup() and in any part by lookup_slice(); see
// assemble_slice() in io/tensor_slice.h for the errors (slices not covering the request:
// NotFoundError "Does not have sufficient slices for partitioned tensor ...").
//
// The index's entries are loaded once on construction (one pass over the table), so a lookup is
// a hash lookup plus the tensor's own reads.
//
// Thread-safe: lookups may run concurrently.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/bundle_format.h"
#include "io/file.h"

namespace kiln {
class PinnedBufferPool;
}

namespace kiln::io {

class BundleReader {
 public:
  // `fs` null: posix_file_system(). Throws NotFoundError when P.index does not exist.
  explicit BundleReader(std::string prefix, FileSystem* fs = nullptr);
  ~BundleReader();
  BundleReader(const BundleReader&) = delete;
  BundleReader& operator=(const BundleReader&) = delete;

  const std::string& prefix() const;
  const BundleHeader& header() const;

  bool contains(const std::string& key) const;
  // The stored entry (NotFoundError when absent). Not validated beyond parsing.
  BundleEntry entry(const std::string& key) const;
  // The tensor stored under `key`, read into host memory and fully checked.
  Tensor lookup(const std::string& key) const;
  // Reads the tensor stored under `key` straight into `dst`, which the caller allocated with the
  // entry's dtype and shape on any device (else InvalidArgumentError naming the key and both
  // dtypes and shapes). A host dst is filled by reads of its own memory, checksummed piece by
  // piece; a GPU dst through pinned staging buffers (`staging`, or two 8 MiB buffers the reader
  // owns, made on first use), each piece checksummed on the host and copied with
  // gpu::copy_host_to_device; the call returns once the bytes are on the device and the crc has
  // been checked over all pieces. On any error dst's contents are unspecified.
  void lookup_into(const std::string& key, Tensor& dst, PinnedBufferPool* staging = nullptr) const;
  // Reads the tensors `keys` into new host tensors (from `allocator` for `device`; null:
  // host_allocator()) on
  // up to `threads` threads, the caller's among them; a large tensor is split over several
  // (io/parallel_read.h). done(i, tensor) is called once per key with the checked tensor as soon
  // as it is read, on any of those threads and possibly concurrently (the caller synchronizes).
  // At most `threads` tensors are being read at once, so the memory beyond what done() keeps is
  // at most `threads` tensors. Every key is looked up and its dtype and shape checked before any
  // byte is read (fixed-size tensors also their place in the data file); strings and
  // partitioned tensors are read first, on the caller's thread, as lookup() reads them (host
  // memory from host_allocator()). A read or checksum error stops the call (the error of the
  // first failing key is thrown once every thread has stopped), and the keys delivered to
  // done() before it stay delivered.
  void lookup_each(const std::vector<std::string>& keys, int threads,
                   const std::function<void(size_t, Tensor&&)>& done,
                   Allocator* allocator = nullptr, DeviceSpec device = {}) const;
  // Reads and checks the tensor an entry (from entry() or for_each) describes.
  Tensor read(const std::string& key, const BundleEntry& entry) const;
  // The part `slice` (io/tensor_slice.h) of the tensor `name`, stored whole or partitioned.
  // InvalidArgumentError when the slice does not fit the tensor's shape.
  Tensor lookup_slice(const std::string& name, const TensorSlice& slice) const;

  // Visits every entry except the header, in bytewise key order.
  void for_each(const std::function<void(const std::string& key, const BundleEntry&)>& fn) const;
  std::vector<std::string> keys() const;

 private:
  friend struct BundleReaderAccess;
  Tensor read_slice(const std::string& name, const BundleEntry& full,
                    const TensorSlice& slice) const;

 public:
  struct Rep;  // public so that helpers in bundle_reader.cc can name it

 private:
  std::unique_ptr<Rep> rep_;
};

}  // namespace kiln::io

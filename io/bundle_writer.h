// BundleWriter: writes a V2 tensor bundle (a TensorFlow checkpoint) at a prefix P.
//
//   io::BundleWriter writer("/ckpt/model.ckpt");
//   writer.add("v1", t1);          // any order; the index is written in key order
//   writer.add("dense/kernel", t2);
//   writer.finish();               // -> model.ckpt.index + model.ckpt.data-00000-of-00001
//
// Partitioned tensors: add_slice(name, full_shape, slice, values) stores one slice as TF's
// writer does: a full entry under `name` (dtype, full shape, and the list of its slices) plus an
// ordinary entry holding the values under the slice key (io/ordered_code.h). A slice that covers
// the whole shape is stored as a plain entry.
//
// Several data files: with options.num_shards = N the bundle has N data files
// P.data-0000i-of-0000N (all of them exist, even empty); each add() picks the shard, or leaves
// the choice to the writer (the shard holding the fewest bytes so far).
//
// Streaming (issue 5): a host tensor is written straight from its memory, its crc32c computed on
// a helper thread beside the write (io/crc_worker.h); a GPU tensor is copied to the file in
// chunks through pinned staging buffers (options.staging, else two 8 MiB buffers of the writer's
// own, made on first use) while the previous chunk is checksummed and written
// (io/device_staging.h): the whole tensor is never copied to host memory. add() returns once the
// tensor's bytes are in the file (buffered unless direct_io) and checksummed, so the caller may
// change the tensor afterwards. Small appends are gathered into 1 MiB writes by the file.
//
// Tensor bytes go to each data file in add() order, as TF's writer does. Until finish() every
// file has a temporary name (P.data-0000i-of-0000N.tempstate<random>, P.index.tempstate<random>);
// finish() syncs them, renames the data files first and the index last, then syncs the
// directory, so a reader that sees P.index also sees its data.
//
// Errors: the first failure is sticky (LevelDB's builder discipline): it is thrown by the call
// that hit it, the temporary files are deleted, and every later add()/finish() throws it again.
// A failure leaves no file of the bundle behind (if the final index rename fails after the data
// rename, the renamed data file is removed too). A duplicate key is InvalidArgumentError
// "Adding duplicate key: K" (also for a second slice with the same extents, a slice overlapping
// another, or slices and a whole tensor under one name); a slice outside the full shape, or values
// whose shape is not the slice's, InvalidArgumentError; add() or finish() after finish() is
// FailedPreconditionError
// "BundleWriter is closed". Destroying an unfinished writer abandons the bundle quietly.
//
// Not thread-safe: one thread adds at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/tensor.h"
#include "io/bundle_format.h"
#include "io/file.h"

namespace kiln {
class PinnedBufferPool;
}

namespace kiln::io {

struct BundleWriterOptions {
  FileSystem* fs = nullptr;        // null: posix_file_system()
  // Each tensor starts at a multiple of this (zero padding, not counted in the entry's size).
  int64_t data_alignment = 1;
  // fsync the files and the directory on finish() (off only for benchmarks of the raw path).
  bool sync = true;
  // Number of data files (>= 1).
  int num_shards = 1;
  // Write the data files with O_DIRECT where the file system allows it (io/file.h).
  bool direct_io = false;
  // Pinned buffers that GPU tensors are staged through (not owned; may be shared by writers
  // that run one after another). Null: the writer makes two 8 MiB buffers when first needed.
  PinnedBufferPool* staging = nullptr;
};

// add()'s shard argument: let the writer choose.
inline constexpr int kAnyShard = -1;

class BundleWriter {
 public:
  // Creates P's directory if needed and opens the temporary data file.
  explicit BundleWriter(std::string prefix, BundleWriterOptions options = {});
  ~BundleWriter();
  BundleWriter(const BundleWriter&) = delete;
  BundleWriter& operator=(const BundleWriter&) = delete;

  // Appends `tensor`'s values (copied to the host first if it lives on a device) under `key`.
  // REQUIRES: key is not "" (reserved for the header); shard is kAnyShard or in [0, num_shards).
  void add(const std::string& key, const Tensor& tensor, int shard = kAnyShard);
  // Stores `values`, the slice `slice` (io/tensor_slice.h) of the tensor `name` of shape
  // `full_shape`. Every slice of one name must have the same dtype and full shape.
  void add_slice(const std::string& name, const Shape& full_shape, const TensorSlice& slice,
                 const Tensor& values, int shard = kAnyShard);
  // Writes the index and makes the bundle visible under its final names.
  void finish();

  const std::string& prefix() const;

 private:
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

}  // namespace kiln::io

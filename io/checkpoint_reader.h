// CheckpointReader: reads any TensorFlow checkpoint by its prefix, as TF's NewCheckpointReader
// does. The format is detected from the files present:
//   V2  P.index exists                      -> a tensor bundle (io/bundle_reader.h)
//   V1  the file P itself, or P-?????-of-NNNNN files, or P is itself a pattern with '?' or '*'
//       (e.g. "model.ckpt-?????-of-00003")  -> SSTables of SavedTensorSlices (io/v1_reader.h)
//
//   io::CheckpointReader reader("/train/model.ckpt-1000");
//   for (const std::string& name : reader.tensor_names()) { ... }
//   Tensor w = reader.get_tensor("dense/kernel");     // partitioned tensors come back whole
//   std::cout << reader.debug_string();                // "dense/kernel (DT_FLOAT) [784,10]\n..."
//
// Names are the full tensor names: slice keys of partitioned tensors are hidden, a partitioned
// tensor appears once with its full shape (as TF's reader shows it).
//
// Errors (kiln typed exceptions, TF's messages):
//   no checkpoint at P  -> NotFoundError "Unsuccessful TensorSliceReader constructor: Failed to
//                          find any matching files for P". When P names a file of a checkpoint
//                          rather than its prefix (model.ckpt.index, model.ckpt.data-00000-of-
//                          00001, model.ckpt.meta, or a `checkpoint` state file) the message adds
//                          which prefix to pass instead.
//   missing tensor      -> NotFoundError "Key v3 not found in checkpoint"
//   corrupt files       -> DataLossError naming the file (checksums are checked on every read)
//
// Thread-safe: all methods are const and may run concurrently.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"
#include "core/tensor.h"
#include "io/bundle_format.h"
#include "io/file.h"

namespace kiln {
class PinnedBufferPool;
}

namespace kiln::io {

class CheckpointReader {
 public:
  // `fs` null: posix_file_system().
  explicit CheckpointReader(const std::string& prefix_or_pattern, FileSystem* fs = nullptr);
  ~CheckpointReader();
  CheckpointReader(const CheckpointReader&) = delete;
  CheckpointReader& operator=(const CheckpointReader&) = delete;

  // True for a V2 bundle, false for a V1 checkpoint.
  bool is_v2() const;
  // What the constructor was given.
  const std::string& prefix() const;

  bool has_tensor(const std::string& name) const;
  // The whole tensor in host memory (assembled from its slices when partitioned).
  // NotFoundError "Key NAME not found in checkpoint" when absent.
  Tensor get_tensor(const std::string& name) const;
  // Reads the tensor into `dst`, allocated by the caller with the stored dtype and shape on any
  // device: V2 tensors stored whole go straight into its memory (a GPU dst through pinned
  // `staging` buffers, io/bundle_reader.h lookup_into), so a restore onto a GPU never holds the
  // tensor in host memory; V1 and partitioned tensors are assembled on the host and copied.
  // Checksums are checked before it returns (DataLossError); on error dst is unspecified.
  void read_into(const std::string& name, Tensor& dst, PinnedBufferPool* staging = nullptr) const;
  // Reads the tensors `names` into new host tensors (from `allocator`, a host allocator, for
  // `device`; null: host_allocator()) and hands each to done(i, tensor) once read and checked.
  // V2: on up to `threads` threads, large tensors split over several, done() called on any of
  // them and possibly concurrently (BundleReader::lookup_each); V1: one tensor at a time on the
  // caller's thread. Every name is looked up before any read (NotFoundError); on a read or
  // checksum error the tensors already handed to done() stay handed.
  void read_each(const std::vector<std::string>& names, int threads,
                 const std::function<void(size_t, Tensor&&)>& done, Allocator* allocator = nullptr,
                 DeviceSpec device = {}) const;
  // A sub-slice of a tensor (stored whole or partitioned). InvalidArgumentError when `slice` does
  // not fit the tensor's shape; NotFoundError "Does not have sufficient slices for partitioned
  // tensor NAME ..." when the stored slices do not cover it. See io/tensor_slice.h for specs.
  Tensor get_slice(const std::string& name, const TensorSlice& slice) const;

  // Full shape / dtype of a tensor (NotFoundError when absent). The dtype may be one kiln cannot
  // hold (e.g. DT_COMPLEX64 as DType(8)); get_tensor() then throws UnimplementedError.
  Shape shape(const std::string& name) const;
  DType dtype(const std::string& name) const;
  // The slices a partitioned tensor is stored as; empty when it is stored whole.
  std::vector<TensorSlice> slices(const std::string& name) const;

  // Every tensor name, in bytewise order (the order of the maps below).
  const std::vector<std::string>& tensor_names() const;
  std::map<std::string, Shape> variable_to_shape_map() const;
  std::map<std::string, DType> variable_to_dtype_map() const;

  // One line per tensor in name order, TF's format: "v0 (DT_FLOAT) [2,3]\n"; a scalar is "[]".
  std::string debug_string() const;

  // V2: P.index. V1: empty (each V1 file is its own index; see data_files()).
  std::string index_file() const;
  // The files holding tensor bytes: V2 every P.data-XXXXX-of-NNNNN the header announces (present
  // or not: a verifier reports missing ones); V1 the matched SSTable files, sorted.
  std::vector<std::string> data_files() const;

 private:
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

}  // namespace kiln::io

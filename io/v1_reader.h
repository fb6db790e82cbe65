// V1Reader: reads a TensorFlow V1 checkpoint (TF's TensorSliceReader), the format of TF1 Savers
// with write_version=V1 and of old exported models.
//
// A V1 checkpoint is one or more files (P, or P-00000-of-0000N ...), each a LevelDB-format table:
//   ""                 -> SavedTensorSlices{meta}: every tensor (name, full shape, dtype) and the
//                         slices of it this file holds, plus the checkpoint's versions
//   slice key (io/ordered_code.h) -> SavedTensorSlices{data}: the slice's values in a
//                         TensorProto's typed fields (float_val, int_val, string_val, ...)
// A tensor saved whole is one slice covering it; a partitioned one may spread over files.
//
// Construction reads every file's header and checks versions and that files agree on each
// tensor's dtype and shape (DataLossError otherwise). Values are read and checked (block
// checksums, value counts) on lookup. Thread-safe after construction.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/bundle_format.h"
#include "io/file.h"

namespace kiln::io {

class V1Reader {
 public:
  struct TensorInfo {
    DType dtype = DType::kInvalid;  // may be a TF type kiln lacks (complex64 ...)
    std::vector<int64_t> shape;     // the full shape
    std::vector<TensorSlice> slices;
    std::vector<size_t> slice_file;  // index into files() of each slice
  };

  // `files`: the checkpoint's files (non-empty). `fs` null: posix_file_system().
  V1Reader(std::vector<std::string> files, FileSystem* fs = nullptr);
  ~V1Reader();
  V1Reader(const V1Reader&) = delete;
  V1Reader& operator=(const V1Reader&) = delete;

  const std::vector<std::string>& files() const;
  // By name, in bytewise order.
  const std::map<std::string, TensorInfo>& tensors() const;

  // NotFoundError "Key NAME not found in checkpoint" when absent.
  Tensor lookup(const std::string& name) const;
  Tensor lookup_slice(const std::string& name, const TensorSlice& slice) const;

  // Reads every entry of every file (for verification): each block checksum, each record's
  // parse and value count. Throws the first problem.
  void check_all() const;

 private:
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

}  // namespace kiln::io

// BundleWriter: writes a V2 tensor bundle (a TensorFlow checkpoint) at a prefix P.
//
//   io::BundleWriter writer("/ckpt/model.ckpt");
//   writer.add("v1", t1);          // any order; the index is written in key order
//   writer.add("dense/kernel", t2);
//   writer.finish();               // -> model.ckpt.index + model.ckpt.data-00000-of-00001
//
// Tensor bytes go to the data file in add() order, as TF's writer does. Until finish() both
// files have temporary names (P.data-00000-of-00001.tempstate<random> and
// P.index.tempstate<random>); finish() syncs them, renames the data file first and the index
// last, then syncs the directory, so a reader that sees P.index also sees its data.
//
// Errors: the first failure is sticky (LevelDB's builder discipline): it is thrown by the call
// that hit it, the temporary files are deleted, and every later add()/finish() throws it again.
// A failure leaves no file of the bundle behind (if the final index rename fails after the data
// rename, the renamed data file is removed too). A duplicate key is InvalidArgumentError
// "Adding duplicate key: K"; add() or finish() after finish() is FailedPreconditionError
// "BundleWriter is closed". Destroying an unfinished writer abandons the bundle quietly.
//
// Not thread-safe: one thread adds at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/tensor.h"
#include "io/file.h"

namespace kiln::io {

struct BundleWriterOptions {
  FileSystem* fs = nullptr;        // null: posix_file_system()
  // Each tensor starts at a multiple of this (zero padding, not counted in the entry's size).
  int64_t data_alignment = 1;
  // fsync the files and the directory on finish() (off only for benchmarks of the raw path).
  bool sync = true;
};

class BundleWriter {
 public:
  // Creates P's directory if needed and opens the temporary data file.
  explicit BundleWriter(std::string prefix, BundleWriterOptions options = {});
  ~BundleWriter();
  BundleWriter(const BundleWriter&) = delete;
  BundleWriter& operator=(const BundleWriter&) = delete;

  // Appends `tensor`'s values (copied to the host first if it lives on a device) under `key`.
  // REQUIRES: key is not "" (reserved for the header).
  void add(const std::string& key, const Tensor& tensor);
  // Writes the index and makes the bundle visible under its final names.
  void finish();

  const std::string& prefix() const;

 private:
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

}  // namespace kiln::io

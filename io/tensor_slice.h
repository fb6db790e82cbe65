// Slices of tensors, as TensorFlow writes them in checkpoints of partitioned variables.
//
// A TensorSlice (io/bundle_format.h) has one extent per dimension: [start, start + length), or
// length -1 for the whole dimension. As text (TF's slice spec) the extents are joined by ':',
// each "-" (whole) or "start,length":  "0,5:-" is rows 0..4, all columns, of a rank-2 tensor. A
// scalar's only slice is the empty spec "". SaveV2's shape_and_slice strings put the full shape
// first: "10 3 0,5:-".
//
// Regions below are "resolved" slices: every length explicit (resolve_slice()).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.h"
#include "io/bundle_format.h"

namespace kiln::io {

TensorSlice full_slice(int rank);
// InvalidArgumentError on malformed text ("0,", "a,b", a negative start or length).
TensorSlice parse_slice_spec(std::string_view spec);
std::string slice_spec_string(const TensorSlice& slice);

struct ShapeAndSlice {
  std::vector<int64_t> shape;
  TensorSlice slice;
};
// "10 3 0,5:-" -> {[10,3], 0,5:-}. InvalidArgumentError when malformed or the slice does not fit.
ShapeAndSlice parse_shape_and_slice(std::string_view text);

// InvalidArgumentError naming `what` unless `slice` has the rank of `shape` and every extent lies
// inside it.
void check_slice(const TensorSlice& slice, const std::vector<int64_t>& shape,
                 const std::string& what);
// REQUIRES: check_slice() passed.
TensorSlice resolve_slice(const TensorSlice& slice, const std::vector<int64_t>& shape);
bool is_full_slice(const TensorSlice& slice, const std::vector<int64_t>& shape);
std::vector<int64_t> slice_shape(const TensorSlice& slice, const std::vector<int64_t>& shape);

// Of resolved slices of equal rank; nullopt when they share no element.
std::optional<TensorSlice> intersect(const TensorSlice& a, const TensorSlice& b);
int64_t slice_volume(const TensorSlice& resolved);

// Copies the elements of `region` (full-tensor coordinates) from `src`, which holds the values
// of `src_slice`, into `dst`, which holds the values of `dst_slice`. All three resolved;
// REQUIRES: region lies in both, same dtype, host tensors.
void copy_region(const Tensor& src, const TensorSlice& src_slice, const TensorSlice& region,
                 Tensor* dst, const TensorSlice& dst_slice);

// Reads `request` of a tensor (`name`, full shape `shape`) stored as the slices `stored`, where
// read_stored(i) returns the values of stored[i] (dtype and shape are checked here: DataLossError
// on a mismatch). Only the stored slices that meet the request are read. Errors: request
// outside the shape -> InvalidArgumentError; stored slices outside the shape or overlapping ->
// DataLossError; not covered -> NotFoundError "Does not have sufficient slices for partitioned
// tensor NAME to restore in slice_spec: SPEC".
Tensor assemble_slice(const std::string& name, DType dtype, const std::vector<int64_t>& shape,
                      const std::vector<TensorSlice>& stored, const TensorSlice& request,
                      const std::function<Tensor(size_t)>& read_stored);

}  // namespace kiln::io

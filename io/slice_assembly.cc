// assemble_slice (io/tensor_slice.h): reading any region of a tensor stored as slices.
#include "core/errors.h"
#include "io/tensor_slice.h"

namespace kiln::io {
namespace {

std::string dims_string(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

}  // namespace

Tensor assemble_slice(const std::string& name, DType dtype, const std::vector<int64_t>& shape,
                      const std::vector<TensorSlice>& stored, const TensorSlice& request,
                      const std::function<Tensor(size_t)>& read_stored) {
  check_slice(request, shape, "tensor " + name);
  const TensorSlice want = resolve_slice(request, shape);
  const std::vector<int64_t> out_shape = slice_shape(want, shape);

  // Which stored slices meet the request, and do they cover it without overlapping? The stored
  // slices come from the file, so a bad one is data loss, not a caller error.
  std::vector<TensorSlice> resolved;
  std::vector<std::pair<size_t, TensorSlice>> parts;  // (stored index, overlap with the request)
  int64_t covered = 0;
  for (size_t i = 0; i < stored.size(); ++i) {
    try {
      check_slice(stored[i], shape, "partitioned tensor " + name);
    } catch (const InvalidArgumentError& e) {
      throw DataLossError(std::string("Stored slice is invalid: ") + e.what());
    }
    resolved.push_back(resolve_slice(stored[i], shape));
    std::optional<TensorSlice> part = intersect(resolved.back(), want);
    if (!part) continue;
    for (const auto& [j, other] : parts)
      if (intersect(*part, other))
        throw DataLossError("Overlapping slices " + slice_spec_string(stored[j]) + " and " +
                            slice_spec_string(stored[i]) + " stored for tensor " + name);
    covered += slice_volume(*part);
    parts.emplace_back(i, *part);
  }
  if (covered != slice_volume(want))
    throw NotFoundError("Does not have sufficient slices for partitioned tensor " + name +
                        " to restore in slice_spec: " + slice_spec_string(request) +
                        " (full shape " + dims_string(shape) + ")");

  Tensor out(dtype, Shape(out_shape));
  for (const auto& [i, part] : parts) {
    const Tensor piece = read_stored(i);
    const std::vector<int64_t> expect = slice_shape(resolved[i], shape);
    if (piece.dtype() != dtype || piece.shape().dims() != expect)
      throw DataLossError("Slice " + slice_spec_string(stored[i]) + " of tensor " + name +
                          " holds " + dtype_tf_name(piece.dtype()) + " " +
                          dims_string(piece.shape().dims()) + ", expected " + dtype_tf_name(dtype) +
                          " " + dims_string(expect));
    copy_region(piece, resolved[i], part, &out, want);
  }
  return out;
}

}  // namespace kiln::io

// Values of a TensorProto (io/proto/tensor.proto) as a kiln Tensor: how V1 checkpoints store
// each slice. Only .cc files see the generated message, hence the forward declaration.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace kiln {
class TensorProto;
}

namespace kiln::io {

// A host tensor of `dtype` and `shape` holding the proto's values: the typed field for the dtype
// (float_val, int_val, string_val, half_val, ...; exactly one value per element, or a single
// value broadcast to all) or tensor_content (raw little-endian bytes). DataLossError starting
// with `context` when the count or a value does not fit; UnimplementedError for a dtype kiln
// lacks. With `zero_fill_empty` (TF's rule for graph constants) a proto with no values at all
// gives a zero-filled tensor instead of an error.
Tensor tensor_from_proto(const kiln::TensorProto& proto, DType dtype,
                         const std::vector<int64_t>& shape, const std::string& context,
                         bool zero_fill_empty = false);

// A self-describing tensor (a Const's `value` attr): dtype and shape from the proto itself.
Tensor tensor_from_proto(const kiln::TensorProto& proto, const std::string& context);

// Writes `t` (copied to the host if needed) as TF does for graph constants: dtype, shape, and
// the values in tensor_content (raw little-endian bytes), or in the typed field for strings and
// single values.
void tensor_to_proto(const Tensor& t, kiln::TensorProto* proto);

}  // namespace kiln::io

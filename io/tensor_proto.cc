#include "io/tensor_proto.h"

#include <cstring>

#include "core/errors.h"
#include "io/proto/tensor.pb.h"

namespace kiln::io {
namespace {

// Copies `values` (a repeated field) into `out` converting each element with `convert`; one
// value is broadcast (TF's rule for typed fields).
template <typename T, typename Field, typename Convert>
void fill(const Field& values, Tensor* out, const std::string& context, Convert convert) {
  const int64_t n = out->num_elements();
  const int64_t have = values.size();
  if (have != n && !(have == 1 && n > 0))
    throw DataLossError(context + "holds " + std::to_string(have) + " values, expected " +
                        std::to_string(n));
  T* dst = out->data<T>();
  for (int64_t i = 0; i < n; ++i) dst[i] = convert(values.Get(have == 1 ? 0 : i));
}

template <typename T, typename Field>
void fill_int(const Field& values, Tensor* out, const std::string& context) {
  fill<T>(values, out, context, [&](auto v) {
    if (static_cast<decltype(v)>(static_cast<T>(v)) != v)
      throw DataLossError(context + "value " + std::to_string(v) + " does not fit " +
                          dtype_tf_name(out->dtype()));
    return static_cast<T>(v);
  });
}

}  // namespace

Tensor tensor_from_proto(const kiln::TensorProto& proto, DType dtype,
                         const std::vector<int64_t>& shape, const std::string& context) {
  if (!dtype_is_valid(static_cast<int>(dtype)) || dtype == DType::kInvalid)
    throw UnimplementedError(context + "unsupported dtype " +
                             std::to_string(static_cast<int>(dtype)) + " (TF DataType)");
  if (proto.dtype() != 0 && proto.dtype() != static_cast<int>(dtype))
    throw DataLossError(context + "values have TF DataType " + std::to_string(proto.dtype()) +
                        ", expected " + dtype_tf_name(dtype));
  Tensor out(dtype, Shape(shape));
  if (!proto.tensor_content().empty() && dtype != DType::kString) {
    const std::string& bytes = proto.tensor_content();
    if (bytes.size() != out.bytes())
      throw DataLossError(context + "tensor_content has " + std::to_string(bytes.size()) +
                          " bytes, expected " + std::to_string(out.bytes()));
    std::memcpy(out.raw_data(), bytes.data(), bytes.size());
    return out;
  }
  switch (dtype) {
    case DType::kFloat: fill<float>(proto.float_val(), &out, context, [](float v) { return v; }); break;
    case DType::kDouble: fill<double>(proto.double_val(), &out, context, [](double v) { return v; }); break;
    case DType::kInt32: fill_int<int32_t>(proto.int_val(), &out, context); break;
    case DType::kInt16: fill_int<int16_t>(proto.int_val(), &out, context); break;
    case DType::kInt8: fill_int<int8_t>(proto.int_val(), &out, context); break;
    case DType::kUInt8: fill_int<uint8_t>(proto.int_val(), &out, context); break;
    case DType::kInt64: fill<int64_t>(proto.int64_val(), &out, context, [](int64_t v) { return v; }); break;
    case DType::kBool: fill<bool>(proto.bool_val(), &out, context, [](bool v) { return v; }); break;
    case DType::kString:
      fill<std::string>(proto.string_val(), &out, context, [](const std::string& v) { return v; });
      break;
    case DType::kHalf:
      fill<Half>(proto.half_val(), &out, context,
                 [](int32_t v) { return Half::from_bits(static_cast<uint16_t>(v)); });
      break;
    case DType::kBFloat16:
      fill<BFloat16>(proto.half_val(), &out, context,
                     [](int32_t v) { return BFloat16::from_bits(static_cast<uint16_t>(v)); });
      break;
    default:
      throw UnimplementedError(context + "unsupported dtype " + dtype_tf_name(dtype));
  }
  return out;
}

}  // namespace kiln::io

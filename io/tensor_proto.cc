#include "io/tensor_proto.h"

#include <algorithm>
#include <cstring>

#include "core/errors.h"
#include "io/proto/tensor.pb.h"

namespace kiln::io {
namespace {

// How to read the typed value fields: `context` prefixes errors; `zero_fill` accepts no values
// at all as "all zero" (graph constants).
struct FillRules {
  const std::string& context;
  bool zero_fill;
};

// Copies `values` (a repeated field) into `out` converting each element with `convert`; one
// value is broadcast (TF's rule for typed fields).
template <typename T, typename Field, typename Convert>
void fill(const Field& values, Tensor* out, const FillRules& rules, Convert convert) {
  const std::string& context = rules.context;
  const int64_t n = out->num_elements();
  const int64_t have = values.size();
  if (have == 0 && rules.zero_fill) {
    T* dst = out->data<T>();
    for (int64_t i = 0; i < n; ++i) dst[i] = T();
    return;
  }
  if (have != n && !(have == 1 && n > 0))
    throw DataLossError(context + "holds " + std::to_string(have) + " values, expected " +
                        std::to_string(n));
  T* dst = out->data<T>();
  for (int64_t i = 0; i < n; ++i) dst[i] = convert(values.Get(have == 1 ? 0 : i));
}

template <typename T, typename Field>
void fill_int(const Field& values, Tensor* out, const FillRules& rules) {
  const std::string& context = rules.context;
  fill<T>(values, out, rules, [&](auto v) {
    if (static_cast<decltype(v)>(static_cast<T>(v)) != v)
      throw DataLossError(context + "value " + std::to_string(v) + " does not fit " +
                          dtype_tf_name(out->dtype()));
    return static_cast<T>(v);
  });
}

// A tensor whose values the proto does not spell out one by one (a single value broadcast, or
// no values: a zero-filled graph constant) costs memory the file does not pay for: a few bytes
// can claim 2^40 elements. Such tensors are capped at 2 GiB; tensors whose every value is in the
// proto are bounded by the proto's own size and need no cap.
constexpr int64_t kMaxExpandedBytes = int64_t{1} << 31;

// The element count `shape` claims; DataLossError for a negative dimension or an overflow.
int64_t checked_num_elements(const std::vector<int64_t>& shape, const std::string& context) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0)
      throw DataLossError(context + "negative dimension " + std::to_string(d) + " in shape " +
                          Shape(shape).to_string());
    if (__builtin_mul_overflow(n, d, &n))
      throw DataLossError(context + "shape " + Shape(shape).to_string() +
                          " has more than 2^63 - 1 elements");
  }
  return n;
}

// How many values the proto's typed field for `dtype` holds; -1 for a dtype kiln cannot hold.
int64_t typed_value_count(const kiln::TensorProto& p, DType dtype) {
  switch (dtype) {
    case DType::kFloat: return p.float_val_size();
    case DType::kDouble: return p.double_val_size();
    case DType::kInt32: case DType::kInt16: case DType::kInt8: case DType::kUInt8:
      return p.int_val_size();
    case DType::kInt64: return p.int64_val_size();
    case DType::kBool: return p.bool_val_size();
    case DType::kString: return p.string_val_size();
    case DType::kHalf: case DType::kBFloat16: return p.half_val_size();
    default: return -1;
  }
}

}  // namespace

Tensor tensor_from_proto(const kiln::TensorProto& proto, DType dtype,
                         const std::vector<int64_t>& shape, const std::string& context,
                         bool zero_fill_empty) {
  const FillRules rules{context, zero_fill_empty};
  if (!dtype_is_valid(static_cast<int>(dtype)) || dtype == DType::kInvalid)
    throw UnimplementedError(context + "unsupported dtype " +
                             std::to_string(static_cast<int>(dtype)) + " (TF DataType)");
  if (proto.dtype() != 0 && proto.dtype() != static_cast<int>(dtype))
    throw DataLossError(context + "values have TF DataType " + std::to_string(proto.dtype()) +
                        ", expected " + dtype_tf_name(dtype));
  // Every size check happens before the tensor is allocated: the shape comes from the file.
  const int64_t n = checked_num_elements(shape, context);
  const int64_t elem = std::max<int64_t>(1, static_cast<int64_t>(dtype_size(dtype)));
  if (!proto.tensor_content().empty() && dtype != DType::kString) {
    const std::string& bytes = proto.tensor_content();
    int64_t want = 0;
    if (__builtin_mul_overflow(n, elem, &want) || static_cast<uint64_t>(want) != bytes.size())
      throw DataLossError(context + "tensor_content has " + std::to_string(bytes.size()) +
                          " bytes, expected " + std::to_string(n) + " elements of " +
                          std::to_string(elem) + " bytes");
    Tensor out(dtype, Shape(shape));
    std::memcpy(out.raw_data(), bytes.data(), bytes.size());
    return out;
  }
  const int64_t have = typed_value_count(proto, dtype);
  if (have < 0) throw UnimplementedError(context + "unsupported dtype " + dtype_tf_name(dtype));
  if (have != n) {
    const bool expands = (have == 1 && n > 0) || (have == 0 && zero_fill_empty);
    if (!expands)
      throw DataLossError(context + "holds " + std::to_string(have) + " values, expected " +
                          std::to_string(n));
    if (n > kMaxExpandedBytes / elem)
      throw ResourceExhaustedError(
          context + "a tensor of shape " + Shape(shape).to_string() + " (" + std::to_string(n) +
          " elements) given by " + std::to_string(have) +
          " values would take more than 2^31 bytes; kiln does not expand such a tensor");
  }
  Tensor out(dtype, Shape(shape));
  switch (dtype) {
    case DType::kFloat: fill<float>(proto.float_val(), &out, rules, [](float v) { return v; }); break;
    case DType::kDouble: fill<double>(proto.double_val(), &out, rules, [](double v) { return v; }); break;
    case DType::kInt32: fill_int<int32_t>(proto.int_val(), &out, rules); break;
    case DType::kInt16: fill_int<int16_t>(proto.int_val(), &out, rules); break;
    case DType::kInt8: fill_int<int8_t>(proto.int_val(), &out, rules); break;
    case DType::kUInt8: fill_int<uint8_t>(proto.int_val(), &out, rules); break;
    case DType::kInt64: fill<int64_t>(proto.int64_val(), &out, rules, [](int64_t v) { return v; }); break;
    case DType::kBool: fill<bool>(proto.bool_val(), &out, rules, [](bool v) { return v; }); break;
    case DType::kString:
      fill<std::string>(proto.string_val(), &out, rules, [](const std::string& v) { return v; });
      break;
    case DType::kHalf:
      fill<Half>(proto.half_val(), &out, rules,
                 [](int32_t v) { return Half::from_bits(static_cast<uint16_t>(v)); });
      break;
    case DType::kBFloat16:
      fill<BFloat16>(proto.half_val(), &out, rules,
                     [](int32_t v) { return BFloat16::from_bits(static_cast<uint16_t>(v)); });
      break;
    default:
      throw UnimplementedError(context + "unsupported dtype " + dtype_tf_name(dtype));
  }
  return out;
}

Tensor tensor_from_proto(const kiln::TensorProto& proto, const std::string& context) {
  std::vector<int64_t> shape;
  if (proto.tensor_shape().unknown_rank())
    throw InvalidArgumentError(context + "a constant tensor needs a known shape");
  for (const auto& d : proto.tensor_shape().dim()) {
    if (d.size() < 0)
      throw InvalidArgumentError(context + "a constant tensor needs known dimensions, got " +
                                 std::to_string(d.size()));
    shape.push_back(d.size());
  }
  return tensor_from_proto(proto, static_cast<DType>(proto.dtype()), shape, context, true);
}

void tensor_to_proto(const Tensor& tensor, kiln::TensorProto* proto) {
  Tensor t = tensor.to_host();
  proto->Clear();
  proto->set_dtype(static_cast<kiln::DataType>(static_cast<int>(t.dtype())));
  for (int64_t d : t.shape().dims()) proto->mutable_tensor_shape()->add_dim()->set_size(d);
  const int64_t n = t.num_elements();
  switch (t.dtype()) {
    case DType::kString:
      for (int64_t i = 0; i < n; ++i) proto->add_string_val(t.data<std::string>()[i]);
      return;
    case DType::kFloat:
      if (n == 1) { proto->add_float_val(*t.data<float>()); return; }
      break;
    case DType::kDouble:
      if (n == 1) { proto->add_double_val(*t.data<double>()); return; }
      break;
    case DType::kInt32:
      if (n == 1) { proto->add_int_val(*t.data<int32_t>()); return; }
      break;
    case DType::kInt64:
      if (n == 1) { proto->add_int64_val(*t.data<int64_t>()); return; }
      break;
    case DType::kBool:
      if (n == 1) { proto->add_bool_val(*t.data<bool>()); return; }
      break;
    default:
      break;
  }
  if (n > 0) proto->set_tensor_content(t.raw_data(), t.bytes());
}

}  // namespace kiln::io

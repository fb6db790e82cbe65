#include "ops/op_util.h"

namespace kiln::ops_internal {

Node* make_node(Graph& g, const std::string& op, const std::string& name,
                std::vector<Output> inputs, AttrMap attrs) {
  Graph::NodeSpec spec;
  spec.op = op;
  spec.name = name;
  spec.inputs = std::move(inputs);
  spec.attrs = std::move(attrs);
  return g.create(std::move(spec));
}

Graph& graph_of(const Output& x) {
  if (!x.node) throw InvalidArgumentError("An empty Output was passed to an op builder");
  return *x.node->graph();
}

Output make_const(Graph& g, const Tensor& value, const std::string& name) {
  AttrMap attrs;
  attrs.set("value", value.to_host());
  attrs.set("dtype", value.dtype());
  return make_node(g, "Const", name, {}, std::move(attrs))->output(0);
}

Output scalar_const(Graph& g, DType dtype, double value, const std::string& name) {
  Tensor t(dtype, Shape{});
  switch (dtype) {
    case DType::kFloat: *t.data<float>() = static_cast<float>(value); break;
    case DType::kDouble: *t.data<double>() = value; break;
    case DType::kInt32: *t.data<int32_t>() = static_cast<int32_t>(value); break;
    case DType::kInt64: *t.data<int64_t>() = static_cast<int64_t>(value); break;
    case DType::kInt16: *t.data<int16_t>() = static_cast<int16_t>(value); break;
    case DType::kInt8: *t.data<int8_t>() = static_cast<int8_t>(value); break;
    case DType::kUInt8: *t.data<uint8_t>() = static_cast<uint8_t>(value); break;
    case DType::kBool: *t.data<bool>() = value != 0; break;
    case DType::kHalf: *t.data<Half>() = Half(static_cast<float>(value)); break;
    case DType::kBFloat16: *t.data<BFloat16>() = BFloat16(static_cast<float>(value)); break;
    default: throw InvalidArgumentError(std::string("No scalar constant of dtype ") + dtype_name(dtype));
  }
  return make_const(g, t, name);
}

Output int_vector_const(Graph& g, const std::vector<int64_t>& values, const std::string& name) {
  std::vector<int32_t> v(values.begin(), values.end());
  return make_const(g, Tensor::from_vector(v), name);
}

std::string scope_name(Graph& g) {
  std::string s = g.current_name_scope();
  if (!s.empty()) s.pop_back();
  return s;
}

void unchanged_shape(InferenceContext& c) { c.set_output(0, c.input_dtype(0), c.input_shape(0)); }

void binary_broadcast_shape(InferenceContext& c) {
  c.expect_same_dtype(0, 1);
  Shape out;
  try {
    out = broadcast_shapes(c.input_shape(0), c.input_shape(1));
  } catch (const InvalidArgumentError& e) {
    throw c.invalid(e.what());
  }
  c.set_output(0, c.input_dtype(0), out);
}

Shape shape_from_const_input(InferenceContext& c, int input, const Shape* reshape_input) {
  const Tensor* t = c.input_constant(input);
  Shape in_shape = c.input_shape(input);
  if (!t) {
    if (in_shape.rank() == 1 && in_shape.dim(0) >= 0) return Shape::unknown_dims(in_shape.dim(0));
    return Shape::unknown();
  }
  std::vector<int64_t> dims;
  if (t->dtype() == DType::kInt32) for (int32_t d : t->to_vector<int32_t>()) dims.push_back(d);
  else if (t->dtype() == DType::kInt64) dims = t->to_vector<int64_t>();
  else throw c.invalid("shape input must be int32 or int64");
  if (t->rank() > 1) throw c.invalid("shape input must be a vector, got " + t->shape().to_string());
  if (!reshape_input) {
    for (size_t i = 0; i < dims.size(); ++i)
      if (dims[i] < 0) throw c.invalid("dimension " + std::to_string(i) + " is negative: " + std::to_string(dims[i]));
    return Shape(dims);
  }
  try {
    dims = resolve_reshape(*reshape_input, dims);
  } catch (const InvalidArgumentError& e) {
    throw c.invalid(e.what());
  }
  return Shape(dims);
}

AttrMap t_attr(DType dtype) {
  AttrMap a;
  a.set("T", dtype);
  return a;
}

}  // namespace kiln::ops_internal

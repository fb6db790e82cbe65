#include "ops/math_ops.h"

#include <algorithm>
#include <set>

#include "ops/op_util.h"

namespace kiln {

using namespace ops_internal;

namespace {

Output binary(const char* op, Output a, Output b, const std::string& name) {
  return make_node(graph_of(a), op, name, {a, b}, t_attr(a.dtype()))->output(0);
}
Output unary(const char* op, Output x, const std::string& name) {
  return make_node(graph_of(x), op, name, {x}, t_attr(x.dtype()))->output(0);
}

Output reduction(const char* op, Output x, const std::vector<int64_t>& axis, bool keep_dims,
                 const std::string& name) {
  Graph& g = graph_of(x);
  std::vector<int64_t> axes = axis;
  if (axes.empty()) {
    if (x.shape().unknown_rank())
      throw InvalidArgumentError(std::string(op) + " over all axes needs a known rank; '" +
                                 x.name() + "' has unknown rank");
    for (int i = 0; i < x.shape().rank(); ++i) axes.push_back(i);
  }
  Output indices = int_vector_const(g, axes, "Const");
  AttrMap a = t_attr(x.dtype());
  a.set("Tidx", DType::kInt32);
  a.set("keep_dims", keep_dims);
  return make_node(g, op, name, {x, indices}, std::move(a))->output(0);
}

Output scalar_like(Output like, double v) {
  return scalar_const(graph_of(like), like.dtype(), v, "y");
}

void unary_float_shape(InferenceContext& c) {
  if (!dtype_is_floating(c.input_dtype(0)) && c.op() != "Neg" && c.op() != "Square")
    throw c.invalid(std::string("needs a floating-point input, got ") + dtype_name(c.input_dtype(0)));
  unchanged_shape(c);
}

void matmul_shape(InferenceContext& c) {
  c.expect_same_dtype(0, 1);
  Shape a = c.input_shape(0), b = c.input_shape(1);
  if (a.rank() >= 0 && a.rank() != 2) throw c.invalid("input 'a' must be rank 2, got shape " + a.to_string());
  if (b.rank() >= 0 && b.rank() != 2) throw c.invalid("input 'b' must be rank 2, got shape " + b.to_string());
  bool ta = c.attr<bool>("transpose_a"), tb = c.attr<bool>("transpose_b");
  int64_t m = a.rank() == 2 ? a.dim(ta ? 1 : 0) : -1;
  int64_t ka = a.rank() == 2 ? a.dim(ta ? 0 : 1) : -1;
  int64_t kb = b.rank() == 2 ? b.dim(tb ? 1 : 0) : -1;
  int64_t n = b.rank() == 2 ? b.dim(tb ? 0 : 1) : -1;
  if (ka >= 0 && kb >= 0 && ka != kb)
    throw c.invalid("Dimensions must be equal, but are " + std::to_string(ka) + " and " +
                    std::to_string(kb) + " for MatMul with input shapes: " + a.to_string() +
                    ", " + b.to_string() + (ta ? " (transpose_a)" : "") + (tb ? " (transpose_b)" : ""));
  c.set_output(0, c.input_dtype(0), Shape{m, n});
}

void reduction_shape(InferenceContext& c) {
  Shape in = c.input_shape(0);
  bool keep = c.attr<bool>("keep_dims");
  const Tensor* axes_t = c.input_constant(1);
  if (!axes_t || in.unknown_rank()) {
    c.set_output(0, c.input_dtype(0), Shape::unknown());
    return;
  }
  std::vector<int64_t> axes;
  if (axes_t->dtype() == DType::kInt32) for (int32_t v : axes_t->to_vector<int32_t>()) axes.push_back(v);
  else if (axes_t->dtype() == DType::kInt64) axes = axes_t->to_vector<int64_t>();
  else throw c.invalid("reduction_indices must be int32 or int64");
  std::set<int64_t> reduced;
  for (int64_t ax : axes) {
    if (ax < -in.rank() || ax >= in.rank())
      throw c.invalid("Invalid reduction dimension " + std::to_string(ax) + " for input with " +
                      std::to_string(in.rank()) + " dimensions");
    reduced.insert(ax < 0 ? ax + in.rank() : ax);
  }
  std::vector<int64_t> out;
  for (int i = 0; i < in.rank(); ++i) {
    if (reduced.count(i)) { if (keep) out.push_back(1); }
    else out.push_back(in.dim(i));
  }
  c.set_output(0, c.input_dtype(0), Shape(out));
}

}  // namespace

Output add(Output a, Output b, const std::string& name) { return binary("Add", a, b, name); }
Output add_v2(Output a, Output b, const std::string& name) { return binary("AddV2", a, b, name); }
Output subtract(Output a, Output b, const std::string& name) { return binary("Sub", a, b, name); }
Output multiply(Output a, Output b, const std::string& name) { return binary("Mul", a, b, name); }
Output divide(Output a, Output b, const std::string& name) { return binary("RealDiv", a, b, name); }
Output maximum(Output a, Output b, const std::string& name) { return binary("Maximum", a, b, name); }
Output negative(Output x, const std::string& name) { return unary("Neg", x, name); }
Output square(Output x, const std::string& name) { return unary("Square", x, name); }
Output sqrt(Output x, const std::string& name) { return unary("Sqrt", x, name); }
Output exp(Output x, const std::string& name) { return unary("Exp", x, name); }
Output log(Output x, const std::string& name) { return unary("Log", x, name); }

Output matmul(Output a, Output b, bool transpose_a, bool transpose_b, const std::string& name) {
  AttrMap attrs = t_attr(a.dtype());
  attrs.set("transpose_a", transpose_a);
  attrs.set("transpose_b", transpose_b);
  return make_node(graph_of(a), "MatMul", name, {a, b}, std::move(attrs))->output(0);
}

Output reduce_sum(Output x, const std::vector<int64_t>& axis, bool keep_dims, const std::string& name) {
  return reduction("Sum", x, axis, keep_dims, name);
}
Output reduce_mean(Output x, const std::vector<int64_t>& axis, bool keep_dims, const std::string& name) {
  return reduction("Mean", x, axis, keep_dims, name);
}
Output reduce_max(Output x, const std::vector<int64_t>& axis, bool keep_dims, const std::string& name) {
  return reduction("Max", x, axis, keep_dims, name);
}

Output operator+(Output a, Output b) { return add(a, b, "add"); }
Output operator-(Output a, Output b) { return subtract(a, b, "sub"); }
Output operator*(Output a, Output b) { return multiply(a, b, "mul"); }
Output operator/(Output a, Output b) { return divide(a, b, "truediv"); }
Output operator-(Output x) { return negative(x, "Neg"); }
Output operator+(Output a, double b) { return a + scalar_like(a, b); }
Output operator-(Output a, double b) { return a - scalar_like(a, b); }
Output operator*(Output a, double b) { return a * scalar_like(a, b); }
Output operator/(Output a, double b) { return a / scalar_like(a, b); }
Output operator+(double a, Output b) { return scalar_like(b, a) + b; }
Output operator-(double a, Output b) { return scalar_like(b, a) - b; }
Output operator*(double a, Output b) { return scalar_like(b, a) * b; }
Output operator/(double a, Output b) { return scalar_like(b, a) / b; }

void RegisterMathOps() {
  OpRegistry& r = OpRegistry::global();
  for (const char* op : {"Add", "AddV2", "Sub", "Mul", "RealDiv", "Maximum"})
    r.add(OpDefBuilder(op).inputs(2, 2).infer(binary_broadcast_shape));
  for (const char* op : {"Neg", "Square", "Sqrt", "Exp", "Log"})
    r.add(OpDefBuilder(op).inputs(1, 1).infer(unary_float_shape));
  r.add(OpDefBuilder("MatMul").inputs(2, 2).defaults({{"transpose_a", false}, {"transpose_b", false}}).infer(matmul_shape));
  for (const char* op : {"Sum", "Mean", "Max"})
    r.add(OpDefBuilder(op).inputs(2, 2).defaults({{"keep_dims", false}, {"Tidx", DType::kInt32}}).infer(reduction_shape));
}

}  // namespace kiln

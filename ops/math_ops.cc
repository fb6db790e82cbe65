#include "ops/math_ops.h"

#include <algorithm>
#include <set>

#include "ops/gradient_util.h"
#include "ops/gradients.h"
#include "ops/nn_ops.h"
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

void add_n_shape(InferenceContext& c) {
  Shape merged = c.input_shape(0);
  for (int i = 1; i < c.num_inputs(); ++i) {
    c.expect_same_dtype(0, i);
    if (!merged.compatible_with(c.input_shape(i)))
      throw c.invalid("Shapes must be equal: " + merged.to_string() + " and " +
                      c.input_shape(i).to_string() + " (input " + std::to_string(i) + ")");
    merged = merged.merge_with(c.input_shape(i));
  }
  c.set_output(0, c.input_dtype(0), merged);
}

void same_shape_binary(InferenceContext& c) {
  c.expect_same_dtype(0, 1);
  if (!c.input_shape(0).compatible_with(c.input_shape(1)))
    throw c.invalid("Shapes must be equal: " + c.input_shape(0).to_string() + " and " +
                    c.input_shape(1).to_string());
  c.set_output(0, c.input_dtype(0), c.input_shape(0).merge_with(c.input_shape(1)));
}

using Grads = std::vector<Output>;

Grads matmul_grad(Node* op, const Grads& g) {
  Output a = op->inputs()[0], b = op->inputs()[1], grad = g[0];
  bool ta = op->attr<bool>("transpose_a"), tb = op->attr<bool>("transpose_b");
  // d(op(a) op(b)): each operand's gradient is the other operand times grad, transposed to match.
  if (!ta && !tb) return {matmul(grad, b, false, true), matmul(a, grad, true, false)};
  if (!ta && tb) return {matmul(grad, b, false, false), matmul(grad, a, true, false)};
  if (ta && !tb) return {matmul(b, grad, false, true), matmul(a, grad, false, false)};
  return {matmul(b, grad, true, true), matmul(grad, a, true, true)};
}

Grads unbroadcast_pair(Node* op, Output gx, Output gy) {
  auto [rx, ry] = unbroadcast(op->inputs()[0], op->inputs()[1], gx, gy);
  return {rx, ry};
}

void register_math_gradients() {
  GradientRegistry& r = GradientRegistry::global();
  for (const char* op : {"Add", "AddV2"})
    r.add(op, [](Node* op, const Grads& g) { return unbroadcast_pair(op, g[0], g[0]); });
  r.add("Sub", [](Node* op, const Grads& g) { return unbroadcast_pair(op, g[0], negative(g[0], "Neg")); });
  r.add("Mul", [](Node* op, const Grads& g) {
    Output x = op->inputs()[0], y = op->inputs()[1];
    return unbroadcast_pair(op, multiply(g[0], y, "Mul"), multiply(x, g[0], "Mul_1"));
  });
  r.add("RealDiv", [](Node* op, const Grads& g) {
    Output x = op->inputs()[0], y = op->inputs()[1];
    Output gx = divide(g[0], y, "RealDiv");
    Output gy = multiply(g[0], divide(divide(negative(x, "Neg"), y, "RealDiv_1"), y, "RealDiv_2"), "mul");
    return unbroadcast_pair(op, gx, gy);
  });
  // Maximum: the gradient goes to x where x >= y (TF's tie rule), else to y. ReluGrad of y - x
  // passes it exactly where y > x.
  r.add("Maximum", [](Node* op, const Grads& g) {
    Output x = op->inputs()[0], y = op->inputs()[1];
    Output gy = relu_grad(g[0], subtract(y, x, "sub"), "ReluGrad");
    Output gx = subtract(g[0], gy, "sub_1");
    return unbroadcast_pair(op, gx, gy);
  });
  r.add("Neg", [](Node*, const Grads& g) { return Grads{negative(g[0], "Neg")}; });
  r.add("Square", [](Node* op, const Grads& g) {
    Output x = op->inputs()[0];
    return Grads{multiply(g[0], multiply(scalar_like(x, 2.0), x, "Mul"), "Mul_1")};
  });
  r.add("Sqrt", [](Node* op, const Grads& g) { return Grads{sqrt_grad(op->output(0), g[0])}; });
  r.add("Exp", [](Node* op, const Grads& g) { return Grads{multiply(g[0], op->output(0), "mul")}; });
  r.add("Log", [](Node* op, const Grads& g) { return Grads{divide(g[0], op->inputs()[0], "truediv")}; });
  r.add("MatMul", matmul_grad);
  r.add("Sum", [](Node* op, const Grads& g) { return Grads{reduction_grad(op, g[0], false), Output()}; });
  r.add("Mean", [](Node* op, const Grads& g) { return Grads{reduction_grad(op, g[0], true), Output()}; });
  r.add("AddN", [](Node* op, const Grads& g) { return Grads(op->inputs().size(), g[0]); });
}

}  // namespace

Output add_n(const std::vector<Output>& inputs, const std::string& name) {
  if (inputs.empty()) throw InvalidArgumentError("add_n needs at least one input");
  AttrMap a = t_attr(inputs[0].dtype());
  a.set("N", static_cast<int64_t>(inputs.size()));
  return make_node(graph_of(inputs[0]), "AddN", name, inputs, std::move(a))->output(0);
}

Output sqrt_grad(Output y, Output dy, const std::string& name) {
  return make_node(graph_of(y), "SqrtGrad", name, {y, dy}, t_attr(y.dtype()))->output(0);
}

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
  r.add(OpDefBuilder("AddN").inputs(1, -1).infer(add_n_shape));
  r.add(OpDefBuilder("SqrtGrad").inputs(2, 2).infer(same_shape_binary));
  register_math_gradients();
}

}  // namespace kiln

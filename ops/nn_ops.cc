#include "ops/nn_ops.h"

#include "ops/array_ops.h"
#include "ops/gradients.h"
#include "ops/math_ops.h"
#include "ops/op_util.h"

namespace kiln {

using namespace ops_internal;

namespace {

Output unary(const char* op, Output x, const std::string& name) {
  return make_node(graph_of(x), op, name, {x}, t_attr(x.dtype()))->output(0);
}

void float_unary_shape(InferenceContext& c) {
  if (!dtype_is_floating(c.input_dtype(0)))
    throw c.invalid(std::string("needs a floating-point input, got ") + dtype_name(c.input_dtype(0)));
  unchanged_shape(c);
}

void bias_add_shape(InferenceContext& c) {
  c.expect_same_dtype(0, 1);
  Shape v = c.input_shape(0), b = c.input_shape(1);
  if (b.rank() >= 0 && b.rank() != 1) throw c.invalid("bias must be 1-D, got shape " + b.to_string());
  if (v.rank() >= 0 && v.rank() < 2) throw c.invalid("value must be at least 2-D, got shape " + v.to_string());
  if (c.attr<std::string>("data_format") != "NHWC")
    throw c.invalid("only data_format NHWC is supported");
  if (v.rank() >= 2 && b.rank() == 1 && v.dim(-1) >= 0 && b.dim(0) >= 0 && v.dim(-1) != b.dim(0))
    throw c.invalid("Dimensions must be equal, but are " + std::to_string(v.dim(-1)) + " and " +
                    std::to_string(b.dim(0)) + " for BiasAdd with input shapes: " +
                    v.to_string() + ", " + b.to_string());
  c.set_output(0, c.input_dtype(0), v);
}

void softmax_shape(InferenceContext& c) {
  float_unary_shape(c);
  if (c.input_shape(0).rank() == 0) throw c.invalid("logits must have rank >= 1");
}

void xent_shape(InferenceContext& c) {
  Shape logits = c.input_shape(0), labels = c.input_shape(1);
  if (!dtype_is_floating(c.input_dtype(0)))
    throw c.invalid(std::string("logits must be floating point, got ") + dtype_name(c.input_dtype(0)));
  if (c.input_dtype(1) != DType::kInt32 && c.input_dtype(1) != DType::kInt64)
    throw c.invalid(std::string("labels must be int32 or int64, got ") + dtype_name(c.input_dtype(1)));
  if (logits.rank() >= 0 && logits.rank() != 2)
    throw c.invalid("logits must be 2-D, got shape " + logits.to_string());
  if (labels.rank() >= 0 && labels.rank() != 1)
    throw c.invalid("labels must be 1-D, got shape " + labels.to_string());
  int64_t batch = logits.rank() == 2 ? logits.dim(0) : -1;
  if (labels.rank() == 1 && labels.dim(0) >= 0) {
    if (batch >= 0 && batch != labels.dim(0))
      throw c.invalid("logits and labels must have the same first dimension, got logits shape " +
                      logits.to_string() + " and labels shape " + labels.to_string());
    batch = labels.dim(0);
  }
  c.set_output(0, c.input_dtype(0), Shape{batch});
  c.set_output(1, c.input_dtype(0), Shape{batch, logits.rank() == 2 ? logits.dim(1) : -1});
}

void same_shape_float_binary(InferenceContext& c) {
  c.expect_same_dtype(0, 1);
  if (!dtype_is_floating(c.input_dtype(0)))
    throw c.invalid(std::string("needs floating-point inputs, got ") + dtype_name(c.input_dtype(0)));
  if (!c.input_shape(0).compatible_with(c.input_shape(1)))
    throw c.invalid("Shapes must be equal: " + c.input_shape(0).to_string() + " and " +
                    c.input_shape(1).to_string());
  c.set_output(0, c.input_dtype(0), c.input_shape(0).merge_with(c.input_shape(1)));
}

void bias_add_grad_shape(InferenceContext& c) {
  Shape g = c.input_shape(0);
  if (g.rank() >= 0 && g.rank() < 2) throw c.invalid("Input tensor must be at least 2D: " + g.to_string());
  c.set_output(0, c.input_dtype(0), Shape{g.rank() >= 2 ? g.dim(-1) : -1});
}

using Grads = std::vector<Output>;

void register_nn_gradients() {
  GradientRegistry& r = GradientRegistry::global();
  r.add("BiasAdd", [](Node*, const Grads& g) { return Grads{g[0], bias_add_grad(g[0])}; });
  r.add("Relu", [](Node* op, const Grads& g) { return Grads{relu_grad(g[0], op->output(0))}; });
  r.add("Sigmoid", [](Node* op, const Grads& g) { return Grads{sigmoid_grad(op->output(0), g[0])}; });
  r.add("Tanh", [](Node* op, const Grads& g) { return Grads{tanh_grad(op->output(0), g[0])}; });
  // d softmax: (grad - sum(grad * softmax, last axis)) * softmax.
  r.add("Softmax", [](Node* op, const Grads& g) {
    Output y = op->output(0);
    Output dot = reduce_sum(multiply(g[0], y, "mul"), {-1}, true, "Sum");
    return Grads{multiply(subtract(g[0], dot, "sub"), y, "mul_1")};
  });
  // The loss gradient per example times the op's own backprop output (softmax - onehot); the
  // labels get none.
  r.add("SparseSoftmaxCrossEntropyWithLogits", [](Node* op, const Grads& g) {
    Output per_example = reshape(g[0], {-1, 1}, "Reshape");
    return Grads{multiply(per_example, op->output(1), "mul"), Output()};
  });
}

}  // namespace

Output relu_grad(Output gradients, Output features, const std::string& name) {
  return make_node(graph_of(gradients), "ReluGrad", name, {gradients, features}, t_attr(gradients.dtype()))->output(0);
}
Output sigmoid_grad(Output y, Output dy, const std::string& name) {
  return make_node(graph_of(y), "SigmoidGrad", name, {y, dy}, t_attr(y.dtype()))->output(0);
}
Output tanh_grad(Output y, Output dy, const std::string& name) {
  return make_node(graph_of(y), "TanhGrad", name, {y, dy}, t_attr(y.dtype()))->output(0);
}
Output bias_add_grad(Output out_backprop, const std::string& name) {
  AttrMap a = t_attr(out_backprop.dtype());
  a.set("data_format", std::string("NHWC"));
  return make_node(graph_of(out_backprop), "BiasAddGrad", name, {out_backprop}, std::move(a))->output(0);
}

Output bias_add(Output value, Output bias, const std::string& name) {
  AttrMap a = t_attr(value.dtype());
  a.set("data_format", std::string("NHWC"));
  return make_node(graph_of(value), "BiasAdd", name, {value, bias}, std::move(a))->output(0);
}
Output relu(Output x, const std::string& name) { return unary("Relu", x, name); }
Output sigmoid(Output x, const std::string& name) { return unary("Sigmoid", x, name); }
Output tanh(Output x, const std::string& name) { return unary("Tanh", x, name); }
Output softmax(Output logits, const std::string& name) { return unary("Softmax", logits, name); }

Output sparse_softmax_cross_entropy_with_logits(Output labels, Output logits, const std::string& name) {
  AttrMap a = t_attr(logits.dtype());
  a.set("Tlabels", labels.dtype());
  return make_node(graph_of(logits), "SparseSoftmaxCrossEntropyWithLogits", name,
                   {logits, labels}, std::move(a))->output(0);
}

void RegisterNnOps() {
  OpRegistry& r = OpRegistry::global();
  r.add(OpDefBuilder("BiasAdd").inputs(2, 2).defaults({{"data_format", std::string("NHWC")}}).infer(bias_add_shape));
  for (const char* op : {"Relu", "Sigmoid", "Tanh"})
    r.add(OpDefBuilder(op).inputs(1, 1).infer(float_unary_shape));
  r.add(OpDefBuilder("Softmax").inputs(1, 1).infer(softmax_shape));
  r.add(OpDefBuilder("SparseSoftmaxCrossEntropyWithLogits").inputs(2, 2).defaults({{"Tlabels", DType::kInt64}}).infer(xent_shape));
  for (const char* op : {"ReluGrad", "SigmoidGrad", "TanhGrad"})
    r.add(OpDefBuilder(op).inputs(2, 2).infer(same_shape_float_binary));
  r.add(OpDefBuilder("BiasAddGrad").inputs(1, 1).defaults({{"data_format", std::string("NHWC")}}).infer(bias_add_grad_shape));
  register_nn_gradients();
}

}  // namespace kiln

// BiasAdd, Relu, Sigmoid, Tanh, Softmax, SparseSoftmaxCrossEntropyWithLogits and the backward
// ops ReluGrad, SigmoidGrad, TanhGrad, BiasAddGrad.
#include "kernels/op_kernels/kernel_util.h"
#include "kernels/op_kernels/op_kernels.h"

namespace kiln::kernels {

namespace {

void bias_add_kernel(OpKernelContext& ctx) {
  const Tensor& value = ctx.input(0);
  const Tensor& bias = ctx.input(1);
  if (value.rank() < 2 || bias.rank() != 1 || bias.dim(0) != value.dim(-1))
    throw InvalidArgumentError(ctx.message("Must provide as many biases as the last dimension of the "
                                           "input tensor: " + bias.shape().to_string() + " vs. " +
                                           value.shape().to_string()));
  Tensor out = ctx.allocate_output(0, value.dtype(), value.shape());
  prims(ctx).binary(ctx.device(), BinaryOp::kAdd, value, bias,
                    make_broadcast_plan(value.shape(), bias.shape()), out);
}

template <UnaryOp kOp>
void activation_kernel(OpKernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor out = ctx.allocate_output(0, x.dtype(), x.shape());
  prims(ctx).unary(ctx.device(), kOp, x, out);
}

void softmax_kernel(OpKernelContext& ctx) {
  const Tensor& logits = ctx.input(0);
  if (logits.rank() < 1)
    throw InvalidArgumentError(ctx.message("logits must have >= 1 dimension, got " + logits.shape().to_string()));
  Tensor out = ctx.allocate_output(0, logits.dtype(), logits.shape());
  if (out.num_elements() > 0) prims(ctx).softmax(ctx.device(), logits, out);
}

void sparse_xent_kernel(OpKernelContext& ctx) {
  const Tensor& logits = ctx.input(0);
  const Tensor& labels = ctx.input(1);
  if (logits.rank() != 2)
    throw InvalidArgumentError(ctx.message("logits must be 2-D, but got shape " + logits.shape().to_string()));
  if (labels.rank() != 1 || labels.dim(0) != logits.dim(0))
    throw InvalidArgumentError(ctx.message("logits and labels must have the same first dimension, got "
                                           "logits shape " + logits.shape().to_string() +
                                           " and labels shape " + labels.shape().to_string()));
  if (logits.dim(1) == 0 && logits.dim(0) > 0)
    throw InvalidArgumentError(ctx.message("Must have at least one class, but got logits shape " +
                                           logits.shape().to_string()));
  Tensor loss = ctx.allocate_output(0, logits.dtype(), Shape{logits.dim(0)});
  Tensor backprop = ctx.allocate_output(1, logits.dtype(), logits.shape());
  if (logits.num_elements() > 0) prims(ctx).sparse_xent(ctx.device(), logits, labels, loss, backprop);
}

// ReluGrad(gradients, features); SigmoidGrad/TanhGrad(y, dy).
void relu_grad_kernel(OpKernelContext& ctx) { activation_grad_kernel(ctx, ActivationGrad::kRelu, 1); }
void sigmoid_grad_kernel(OpKernelContext& ctx) { activation_grad_kernel(ctx, ActivationGrad::kSigmoid, 0); }
void tanh_grad_kernel(OpKernelContext& ctx) { activation_grad_kernel(ctx, ActivationGrad::kTanh, 0); }

// The bias gradient: out_backprop [..., C] summed over every axis but the last.
void bias_add_grad_kernel(OpKernelContext& ctx) {
  const Tensor& g = ctx.input(0);
  if (g.rank() < 2)
    throw InvalidArgumentError(ctx.message("Input tensor must be at least 2D: " + g.shape().to_string()));
  const int64_t channels = g.dim(-1);
  Tensor out = ctx.allocate_output(0, g.dtype(), Shape{channels});
  ReduceShape shape{1, channels == 0 ? 0 : g.num_elements() / channels, channels};
  prims(ctx).reduce(ctx.device(), ReduceOp::kSum, g, shape, out);
}

}  // namespace

void add_nn_kernels(KernelList& list) {
  list.push_back({"BiasAdd", {bias_add_kernel, {}}});
  list.push_back({"Relu", {activation_kernel<UnaryOp::kRelu>, {}}});
  list.push_back({"Sigmoid", {activation_kernel<UnaryOp::kSigmoid>, {}}});
  list.push_back({"Tanh", {activation_kernel<UnaryOp::kTanh>, {}}});
  list.push_back({"Softmax", {softmax_kernel, {}}});
  list.push_back({"SparseSoftmaxCrossEntropyWithLogits", {sparse_xent_kernel, {}}});
  list.push_back({"ReluGrad", {relu_grad_kernel, {}}});
  list.push_back({"SigmoidGrad", {sigmoid_grad_kernel, {}}});
  list.push_back({"TanhGrad", {tanh_grad_kernel, {}}});
  list.push_back({"BiasAddGrad", {bias_add_grad_kernel, {}}});
}

}  // namespace kiln::kernels

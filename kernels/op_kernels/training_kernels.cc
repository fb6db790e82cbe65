// ApplyGradientDescent, ApplyMomentum, ApplyAdam: TF's fused optimizer updates. Each takes its
// variable and slots by reference (inputs that are VariableV2 outputs), locks them, makes their
// buffers private (copy on write when a reader still holds the current value, so a fetched or
// in-flight value never changes) and updates them in place with the device's primitive. The
// scalar hyper-parameters are host inputs. Output 0 is the variable's new value.
#include <mutex>
#include <string>

#include "kernels/op_kernels/kernel_util.h"
#include "kernels/op_kernels/op_kernels.h"

namespace kiln::kernels {

namespace {

// The value of a scalar host input as double; InvalidArgumentError naming it otherwise.
double scalar_input(OpKernelContext& ctx, int i, const char* what) {
  const Tensor& t = ctx.input(i);
  if (t.rank() != 0)
    throw InvalidArgumentError(ctx.message(std::string(what) + " is not a scalar: " + t.shape().to_string()));
  switch (t.dtype()) {
    case DType::kFloat: return *t.data<float>();
    case DType::kDouble: return *t.data<double>();
    default:
      throw InvalidArgumentError(ctx.message(std::string(what) + " must be float32 or float64, got " +
                                             dtype_name(t.dtype())));
  }
}

// Checks `v` is initialized and shaped like `grad`, then gives it a buffer no one else holds.
// Caller holds v.mu.
void make_private(OpKernelContext& ctx, VariableState& v, const Tensor& grad, const char* role) {
  if (!v.initialized)
    throw FailedPreconditionError("Attempting to use uninitialized value " + v.name);
  if (v.value.shape() != grad.shape() || v.value.dtype() != grad.dtype())
    throw InvalidArgumentError(ctx.message(std::string(role) + " and grad do not have the same shape: " +
                                           v.value.shape().to_string() + " " + grad.shape().to_string() +
                                           " (variable " + v.name + ")"));
  if (v.value.buffer_is_unique() && v.value.allocator() == ctx.device().allocator()) return;
  Tensor fresh = ctx.allocate_temp(v.value.dtype(), v.value.shape());
  prims(ctx).copy(ctx.device(), v.value, fresh);
  v.value = fresh;
}

void apply_gradient_descent_kernel(OpKernelContext& ctx) {
  VariableState& var = ctx.input_ref(0);
  double alpha = scalar_input(ctx, 1, "alpha");
  const Tensor& delta = ctx.input(2);
  std::lock_guard<std::mutex> lock(var.mu);
  make_private(ctx, var, delta, "var");
  prims(ctx).apply_gradient_descent(ctx.device(), var.value, alpha, delta);
  ctx.set_output(0, var.value);
}

void apply_momentum_kernel(OpKernelContext& ctx) {
  VariableState& var = ctx.input_ref(0);
  VariableState& accum = ctx.input_ref(1);
  double lr = scalar_input(ctx, 2, "lr");
  const Tensor& grad = ctx.input(3);
  double momentum = scalar_input(ctx, 4, "momentum");
  std::scoped_lock lock(var.mu, accum.mu);
  make_private(ctx, var, grad, "var");
  make_private(ctx, accum, grad, "accum");
  prims(ctx).apply_momentum(ctx.device(), var.value, accum.value, lr, grad, momentum,
                            ctx.attr<bool>("use_nesterov"));
  ctx.set_output(0, var.value);
}

void apply_adam_kernel(OpKernelContext& ctx) {
  VariableState& var = ctx.input_ref(0);
  VariableState& m = ctx.input_ref(1);
  VariableState& v = ctx.input_ref(2);
  AdamScalars s;
  s.beta1_power = scalar_input(ctx, 3, "beta1_power");
  s.beta2_power = scalar_input(ctx, 4, "beta2_power");
  s.lr = scalar_input(ctx, 5, "lr");
  s.beta1 = scalar_input(ctx, 6, "beta1");
  s.beta2 = scalar_input(ctx, 7, "beta2");
  s.epsilon = scalar_input(ctx, 8, "epsilon");
  s.use_nesterov = ctx.attr<bool>("use_nesterov");
  const Tensor& grad = ctx.input(9);
  std::scoped_lock lock(var.mu, m.mu, v.mu);
  make_private(ctx, var, grad, "var");
  make_private(ctx, m, grad, "m");
  make_private(ctx, v, grad, "v");
  prims(ctx).apply_adam(ctx.device(), var.value, m.value, v.value, s, grad);
  ctx.set_output(0, var.value);
}

}  // namespace

void add_training_kernels(KernelList& list) {
  list.push_back({"ApplyGradientDescent", {apply_gradient_descent_kernel, {1}}});
  list.push_back({"ApplyMomentum", {apply_momentum_kernel, {2, 4}}});
  list.push_back({"ApplyAdam", {apply_adam_kernel, {3, 4, 5, 6, 7, 8}}});
}

}  // namespace kiln::kernels

// VariableV2/Variable/VarHandleOp, Assign, AssignAdd, AssignSub and the resource-variable
// AssignVariableOp, AssignAdd/SubVariableOp, VarIsInitializedOp. Variables live in the session; updates copy
// on write when the current buffer is still held by a reader (see ops/state_ops.h).
#include <mutex>

#include "kernels/op_kernels/kernel_util.h"
#include "kernels/op_kernels/op_kernels.h"

namespace kiln::kernels {

namespace {

void variable_kernel(OpKernelContext& ctx) {
  const std::string& shared = ctx.attr<std::string>("shared_name");
  VariableState& v = ctx.session_state().variable(shared.empty() ? ctx.node().name() : shared,
                                                  ctx.device().spec());
  ctx.set_output_ref(0, &v);
}

// True when `v` may be overwritten in place with a value of `shape`.
bool writable_in_place(const VariableState& v, const Shape& shape, const Device& device) {
  return v.initialized && v.value.shape() == shape && v.value.buffer_is_unique() &&
         v.value.allocator() == device.allocator();
}

void assign_kernel(OpKernelContext& ctx) {
  VariableState& v = ctx.input_ref(0);
  const Tensor& value = ctx.input(1);
  bool validate = ctx.node().attrs().get_or<bool>("validate_shape", true);
  std::lock_guard<std::mutex> lock(v.mu);
  if (validate && v.initialized && v.value.shape() != value.shape())
    throw InvalidArgumentError(ctx.message("Assign requires shapes of both tensors to match. lhs shape= " +
                                           v.value.shape().to_string() + " rhs shape= " +
                                           value.shape().to_string() + " (variable " + v.name + ")"));
  if (validate) {
    const Shape& declared = ctx.node().inputs()[0].shape();
    if (!declared.compatible_with(value.shape()))
      throw InvalidArgumentError(ctx.message("Assign requires shapes of both tensors to match. lhs shape= " +
                                             declared.to_string() + " rhs shape= " +
                                             value.shape().to_string() + " (variable " + v.name + ")"));
  }
  if (!writable_in_place(v, value.shape(), ctx.device()))
    v.value = ctx.allocate_temp(value.dtype(), value.shape());
  prims(ctx).copy(ctx.device(), value, v.value);
  v.initialized = true;
  ctx.set_output(0, v.value);
}

// AssignVariableOp: Assign without an output; the shape may change unless validate_shape.
void assign_variable_kernel(OpKernelContext& ctx) {
  VariableState& v = ctx.input_ref(0);
  const Tensor& value = ctx.input(1);
  std::lock_guard<std::mutex> lock(v.mu);
  if (ctx.node().attrs().get_or<bool>("validate_shape", false) && v.initialized &&
      v.value.shape() != value.shape())
    throw InvalidArgumentError(ctx.message("Trying to assign to variable with tensor with wrong shape. Expected " +
                                           v.value.shape().to_string() + " got " + value.shape().to_string()));
  if (!writable_in_place(v, value.shape(), ctx.device()))
    v.value = ctx.allocate_temp(value.dtype(), value.shape());
  prims(ctx).copy(ctx.device(), value, v.value);
  v.initialized = true;
}

void var_is_initialized_kernel(OpKernelContext& ctx) {
  VariableState& v = ctx.input_ref(0);
  bool initialized;
  {
    std::lock_guard<std::mutex> lock(v.mu);
    initialized = v.initialized;
  }
  Tensor flag(DType::kBool, Shape{});
  *flag.data<bool>() = initialized;
  Tensor out = ctx.allocate_output(0, DType::kBool, Shape{});
  prims(ctx).fill(ctx.device(), flag, out);
}

template <BinaryOp kOp>
void update_kernel(OpKernelContext& ctx) {
  VariableState& v = ctx.input_ref(0);
  const Tensor& value = ctx.input(1);
  std::lock_guard<std::mutex> lock(v.mu);
  if (!v.initialized)
    throw FailedPreconditionError("Attempting to use uninitialized value " + v.name);
  if (v.value.shape() != value.shape())
    throw InvalidArgumentError(ctx.message("Must have the same shape: variable " + v.name + " has shape " +
                                           v.value.shape().to_string() + ", the update has shape " +
                                           value.shape().to_string()));
  BroadcastPlan plan = make_broadcast_plan(value.shape(), value.shape());
  Tensor out = writable_in_place(v, value.shape(), ctx.device())
                   ? v.value
                   : ctx.allocate_temp(value.dtype(), value.shape());
  prims(ctx).binary(ctx.device(), kOp, v.value, value, plan, out);
  v.value = out;
  if (ctx.node().num_outputs() > 0) ctx.set_output(0, v.value);
}

}  // namespace

void add_state_kernels(KernelList& list) {
  list.push_back({"VariableV2", {variable_kernel, {}}});
  list.push_back({"Variable", {variable_kernel, {}}});
  list.push_back({"Assign", {assign_kernel, {}}});
  list.push_back({"AssignAdd", {update_kernel<BinaryOp::kAdd>, {}}});
  list.push_back({"AssignSub", {update_kernel<BinaryOp::kSub>, {}}});
  list.push_back({"VarHandleOp", {variable_kernel, {}}});
  list.push_back({"ReadVariableOp", {[](OpKernelContext& ctx) { ctx.set_output(0, ctx.input(0)); }, {}}});
  list.push_back({"VarIsInitializedOp", {var_is_initialized_kernel, {}}});
  list.push_back({"AssignVariableOp", {assign_variable_kernel, {}}});
  list.push_back({"AssignAddVariableOp", {update_kernel<BinaryOp::kAdd>, {}}});
  list.push_back({"AssignSubVariableOp", {update_kernel<BinaryOp::kSub>, {}}});
}

}  // namespace kiln::kernels

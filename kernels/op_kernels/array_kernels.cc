// Const, Placeholder, Identity, NoOp, Reshape, Fill, ZerosLike, OnesLike, Cast, and the shape
// ops gradients use: Shape, Size, BroadcastTo, BroadcastGradientArgs.
#include <algorithm>
#include <climits>

#include "kernels/op_kernels/kernel_util.h"
#include "kernels/op_kernels/op_kernels.h"

namespace kiln::kernels {

namespace {

void const_kernel(OpKernelContext& ctx) {
  const Tensor& value = ctx.attr<Tensor>("value");
  if (!ctx.device().is_gpu()) {
    ctx.set_output(0, value);  // host constants are used in place (nothing writes to inputs)
    return;
  }
  ctx.set_output(0, ctx.session_state().cached_constant(&ctx.node(), ctx.device().spec(),
                                                        [&] { return to_device(ctx, value); }));
}

void placeholder_kernel(OpKernelContext& ctx) {
  throw InvalidArgumentError("You must feed a value for placeholder tensor '" + ctx.node().name() +
                             "' with dtype " + dtype_short_name(ctx.attr<DType>("dtype")) +
                             " and shape " + ctx.attr<Shape>("shape").to_string());
}

void identity_kernel(OpKernelContext& ctx) { ctx.set_output(0, ctx.input(0)); }

void no_op_kernel(OpKernelContext&) {}

void reshape_kernel(OpKernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> dims = read_int_vector(ctx, ctx.input(1), "shape");
  try {
    dims = resolve_reshape(x.shape(), dims);
  } catch (const InvalidArgumentError& e) {
    throw InvalidArgumentError(ctx.message(e.what()));
  }
  ctx.set_output(0, x.reshaped(Shape(dims)));
}

void fill_with(OpKernelContext& ctx, const Shape& shape, const Tensor& host_value) {
  Tensor out = ctx.allocate_output(0, host_value.dtype(), shape);
  prims(ctx).fill(ctx.device(), host_value, out);
}

void fill_kernel(OpKernelContext& ctx) {
  const Tensor& value = ctx.input(1);
  if (value.rank() != 0)
    throw InvalidArgumentError(ctx.message("value must be a scalar, got shape " + value.shape().to_string()));
  fill_with(ctx, shape_from_input(ctx, 0), value.to_host());
}

Tensor scalar_of(DType dtype, float v) {
  Tensor one(DType::kFloat, Shape{});
  *one.data<float>() = v;
  if (dtype == DType::kFloat) return one;
  Tensor out(dtype, Shape{});
  static Device* cpu = new Device(DeviceSpec::cpu(0));  // a host context for the cast, made once
  cpu_primitives().cast(*cpu, one, out);
  return out;
}

void zeros_like_kernel(OpKernelContext& ctx) {
  fill_with(ctx, ctx.input(0).shape(), scalar_of(ctx.input(0).dtype(), 0.0f));
}

void ones_like_kernel(OpKernelContext& ctx) {
  fill_with(ctx, ctx.input(0).shape(), scalar_of(ctx.input(0).dtype(), 1.0f));
}

void cast_kernel(OpKernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  DType dst = ctx.attr<DType>("DstT");
  if (x.dtype() == dst) {
    ctx.set_output(0, x);
    return;
  }
  if (x.dtype() == DType::kString || dst == DType::kString)
    throw UnimplementedError(ctx.message("Cast to or from string is not supported"));
  Tensor out = ctx.allocate_output(0, dst, x.shape());
  prims(ctx).cast(ctx.device(), x, out);
}

// An int32/int64 vector (out_type) holding `values`, on the kernel's device.
Tensor int_output(OpKernelContext& ctx, DType dtype, const std::vector<int64_t>& values) {
  Tensor host(dtype, Shape{static_cast<int64_t>(values.size())});
  for (size_t i = 0; i < values.size(); ++i) {
    if (dtype == DType::kInt32) {
      if (values[i] > INT32_MAX)
        throw InvalidArgumentError(ctx.message("value " + std::to_string(values[i]) +
                                               " does not fit out_type int32"));
      host.data<int32_t>()[i] = static_cast<int32_t>(values[i]);
    } else {
      host.data<int64_t>()[i] = values[i];
    }
  }
  return to_device(ctx, host);
}

void shape_kernel(OpKernelContext& ctx) {
  ctx.set_output(0, int_output(ctx, ctx.attr<DType>("out_type"), ctx.input(0).shape().dims()));
}

void size_kernel(OpKernelContext& ctx) {
  Tensor v = int_output(ctx, ctx.attr<DType>("out_type"), {ctx.input(0).num_elements()});
  ctx.set_output(0, v.reshaped(Shape{}));
}

// out = input broadcast to `shape`: zero-fill the output, then add the input with numpy
// broadcasting in place (the primitive allows `out` to alias the same-shape operand).
void broadcast_to_kernel(OpKernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Shape target = shape_from_input(ctx, 1);
  Shape joined;
  try {
    joined = broadcast_shapes(x.shape(), target);
  } catch (const InvalidArgumentError&) {
  }
  if (joined != target)
    throw InvalidArgumentError(ctx.message("Unable to broadcast tensor of shape " +
                                           x.shape().to_string() + " to tensor of shape " +
                                           target.to_string()));
  if (x.shape() == target) {
    ctx.set_output(0, x);
    return;
  }
  Tensor out = ctx.allocate_output(0, x.dtype(), target);
  prims(ctx).fill(ctx.device(), scalar_of(x.dtype(), 0.0f), out);
  prims(ctx).binary(ctx.device(), BinaryOp::kAdd, x, out, make_broadcast_plan(x.shape(), target), out);
}

// TF's BroadcastGradientArgs: for shapes s0 and s1, the axes of the broadcast result that each
// operand's gradient must be summed over (its padded size-1 and missing leading axes); both
// empty when the shapes are equal.
void broadcast_gradient_args_kernel(OpKernelContext& ctx) {
  std::vector<int64_t> s0 = read_int_vector(ctx, ctx.input(0), "s0");
  std::vector<int64_t> s1 = read_int_vector(ctx, ctx.input(1), "s1");
  std::vector<int64_t> r0, r1;
  if (s0 != s1) {
    const size_t rank = std::max(s0.size(), s1.size());
    for (size_t i = 0; i < rank; ++i) {
      int64_t a = i < rank - s0.size() ? 1 : s0[i - (rank - s0.size())];
      int64_t b = i < rank - s1.size() ? 1 : s1[i - (rank - s1.size())];
      if (a != b && a != 1 && b != 1)
        throw InvalidArgumentError(ctx.message("Incompatible shapes: " + Shape(s0).to_string() +
                                               " vs. " + Shape(s1).to_string()));
      if (a == 1) r0.push_back(static_cast<int64_t>(i));
      if (b == 1) r1.push_back(static_cast<int64_t>(i));
    }
  }
  DType t = ctx.input(0).dtype();
  ctx.set_output(0, int_output(ctx, t, r0));
  ctx.set_output(1, int_output(ctx, t, r1));
}

}  // namespace

void add_array_kernels(KernelList& list) {
  list.push_back({"Const", {const_kernel, {}}});
  list.push_back({"Placeholder", {placeholder_kernel, {}}});
  list.push_back({"Identity", {identity_kernel, {}}});
  list.push_back({"NoOp", {no_op_kernel, {}}});
  list.push_back({"Reshape", {reshape_kernel, {1}}});
  list.push_back({"Fill", {fill_kernel, {0, 1}}});
  list.push_back({"ZerosLike", {zeros_like_kernel, {}}});
  list.push_back({"OnesLike", {ones_like_kernel, {}}});
  list.push_back({"Cast", {cast_kernel, {}}});
  list.push_back({"Shape", {shape_kernel, {}}});
  list.push_back({"Size", {size_kernel, {}}});
  list.push_back({"BroadcastTo", {broadcast_to_kernel, {1}}});
  list.push_back({"BroadcastGradientArgs", {broadcast_gradient_args_kernel, {0, 1}}});
}

}  // namespace kiln::kernels

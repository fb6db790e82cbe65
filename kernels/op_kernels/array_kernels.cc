// Const, Placeholder, Identity, NoOp, Reshape, Fill, ZerosLike, OnesLike, Cast.
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
}

}  // namespace kiln::kernels

#include "kernels/op_kernels/kernel_util.h"

namespace kiln::kernels {

std::vector<int64_t> read_int_vector(OpKernelContext& ctx, const Tensor& t, const char* what) {
  if (t.rank() > 1)
    throw InvalidArgumentError(ctx.message(std::string(what) + " must be a vector, got shape " +
                                           t.shape().to_string()));
  std::vector<int64_t> out;
  if (t.dtype() == DType::kInt32) {
    for (int32_t v : t.to_vector<int32_t>()) out.push_back(v);
  } else if (t.dtype() == DType::kInt64) {
    out = t.to_vector<int64_t>();
  } else {
    throw InvalidArgumentError(ctx.message(std::string(what) + " must be int32 or int64, got " +
                                           dtype_name(t.dtype())));
  }
  return out;
}

Tensor to_device(OpKernelContext& ctx, const Tensor& host) {
  Device& d = ctx.device();
  if (!d.is_gpu()) return host;
  Tensor out(host.dtype(), host.shape(), d.allocator(), d.spec());
  gpu::copy_host_to_device(out.raw_data(), host.raw_data(), host.bytes(), d.gpu_ordinal(), d.stream());
  // Pageable source memory: the copy has been staged when cudaMemcpyAsync returns, so `host`
  // may be freed right away.
  return out;
}

Shape shape_from_input(OpKernelContext& ctx, int input) {
  std::vector<int64_t> dims = read_int_vector(ctx, ctx.input(input), "shape");
  for (size_t i = 0; i < dims.size(); ++i)
    if (dims[i] < 0)
      throw InvalidArgumentError(ctx.message("dimension " + std::to_string(i) +
                                             " must be >= 0, got " + std::to_string(dims[i])));
  return Shape(dims);
}

}  // namespace kiln::kernels

namespace kiln::kernels {

void activation_grad_kernel(OpKernelContext& ctx, ActivationGrad op, int x_input) {
  const Tensor& x = ctx.input(x_input);
  const Tensor& dy = ctx.input(1 - x_input);
  if (x.shape() != dy.shape())
    throw InvalidArgumentError(ctx.message("the gradient and the forward tensor must have the same "
                                           "shape, got " + dy.shape().to_string() + " and " +
                                           x.shape().to_string()));
  if (x.dtype() != dy.dtype())
    throw InvalidArgumentError(ctx.message(std::string("dtypes differ: ") + dtype_name(x.dtype()) +
                                           " and " + dtype_name(dy.dtype())));
  Tensor out = ctx.allocate_output(0, x.dtype(), x.shape());
  if (out.num_elements() > 0) prims(ctx).activation_grad(ctx.device(), op, x, dy, out);
}

}  // namespace kiln::kernels

// Elementwise binary/unary ops, MatMul, the reductions Sum/Mean/Max, AddN and SqrtGrad.
#include <algorithm>
#include <set>

#include "kernels/op_kernels/kernel_util.h"
#include "kernels/op_kernels/op_kernels.h"

namespace kiln::kernels {

namespace {

template <BinaryOp kOp>
void binary_kernel(OpKernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  BroadcastPlan plan;
  try {
    plan = make_broadcast_plan(a.shape(), b.shape());
  } catch (const InvalidArgumentError& e) {
    throw InvalidArgumentError(ctx.message(e.what()));
  }
  Tensor out = ctx.allocate_output(0, a.dtype(), broadcast_shapes(a.shape(), b.shape()));
  prims(ctx).binary(ctx.device(), kOp, a, b, plan, out);
}

template <UnaryOp kOp>
void unary_kernel(OpKernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor out = ctx.allocate_output(0, x.dtype(), x.shape());
  prims(ctx).unary(ctx.device(), kOp, x, out);
}

void matmul_kernel(OpKernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  bool ta = ctx.attr<bool>("transpose_a"), tb = ctx.attr<bool>("transpose_b");
  if (a.rank() != 2 || b.rank() != 2)
    throw InvalidArgumentError(ctx.message("In[0] and In[1] must be matrices, got shapes " +
                                           a.shape().to_string() + " and " + b.shape().to_string()));
  int64_t m = a.dim(ta ? 1 : 0), k = a.dim(ta ? 0 : 1);
  int64_t k2 = b.dim(tb ? 1 : 0), n = b.dim(tb ? 0 : 1);
  if (k != k2)
    throw InvalidArgumentError(ctx.message("Matrix size-incompatible: In[0]: " + a.shape().to_string() +
                                           ", In[1]: " + b.shape().to_string()));
  Tensor out = ctx.allocate_output(0, a.dtype(), Shape{m, n});
  prims(ctx).matmul(ctx.device(), a, b, ta, tb, out);
}

template <ReduceOp kOp>
void reduce_kernel(OpKernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  bool keep = ctx.attr<bool>("keep_dims");
  int rank = x.rank();
  std::set<int> axes;
  for (int64_t ax : read_int_vector(ctx, ctx.input(1), "reduction_indices")) {
    if (ax < -rank || ax >= rank)
      throw InvalidArgumentError(ctx.message("Invalid reduction dimension (" + std::to_string(ax) +
                                             " for input with " + std::to_string(rank) + " dimension(s)"));
    axes.insert(static_cast<int>(ax < 0 ? ax + rank : ax));
  }
  std::vector<int64_t> out_dims;
  for (int d = 0; d < rank; ++d) {
    if (!axes.count(d)) out_dims.push_back(x.dim(d));
    else if (keep) out_dims.push_back(1);
  }
  Tensor out = ctx.allocate_output(0, x.dtype(), Shape(out_dims));
  // Merge adjacent dims with the same kept/reduced status; the result alternates K,R,K,...
  std::vector<int64_t> dims;
  std::vector<bool> reduced;
  for (int d = 0; d < rank; ++d) {
    if (x.dim(d) == 1) continue;
    bool r = axes.count(d) != 0;
    if (!dims.empty() && reduced.back() == r) dims.back() *= x.dim(d);
    else { dims.push_back(x.dim(d)); reduced.push_back(r); }
  }
  ReduceShape shape;
  Tensor input = x;
  int runs = static_cast<int>(dims.size());
  int reduced_runs = static_cast<int>(std::count(reduced.begin(), reduced.end(), true));
  if (runs == 0 || reduced_runs == 0) {
    shape = {1, 1, x.num_elements()};  // nothing (or only size-1 dims) reduced: a copy
  } else if (reduced_runs == 1) {
    int r = static_cast<int>(std::find(reduced.begin(), reduced.end(), true) - reduced.begin());
    for (int i = 0; i < r; ++i) shape.outer *= dims[i];
    shape.reduced = dims[r];
    for (int i = r + 1; i < runs; ++i) shape.inner *= dims[i];
  } else {
    // Several separate reduced runs: move them to the end, then reduce rows.
    std::vector<int> perm;
    std::vector<int64_t> tdims;
    for (int i = 0; i < runs; ++i) if (!reduced[i]) { perm.push_back(i); tdims.push_back(dims[i]); }
    for (int i = 0; i < runs; ++i) if (reduced[i]) { perm.push_back(i); tdims.push_back(dims[i]); }
    Tensor merged = x.reshaped(Shape(dims));
    input = ctx.allocate_temp(x.dtype(), Shape(tdims));
    prims(ctx).transpose(ctx.device(), merged, perm, input);
    for (int i = 0; i < runs; ++i) (reduced[i] ? shape.reduced : shape.outer) *= dims[i];
  }
  if (x.num_elements() == 0) {
    // Zero-size input: the reduced extent is whatever dimension is 0.
    shape.outer = 1;
    shape.inner = out.num_elements();
    shape.reduced = 0;
  }
  prims(ctx).reduce(ctx.device(), kOp, input, shape, out);
}

// AddN: ((x0 + x1) + x2) + ... in input order, accumulated in the output buffer.
void add_n_kernel(OpKernelContext& ctx) {
  const Tensor& first = ctx.input(0);
  for (int i = 1; i < ctx.num_inputs(); ++i)
    if (ctx.input(i).shape() != first.shape() || ctx.input(i).dtype() != first.dtype())
      throw InvalidArgumentError(ctx.message("Inputs to operation must have the same shape and dtype: " +
                                             first.debug_string() + " vs input " + std::to_string(i) +
                                             " " + ctx.input(i).debug_string()));
  if (ctx.num_inputs() == 1) {
    ctx.set_output(0, first);
    return;
  }
  Tensor out = ctx.allocate_output(0, first.dtype(), first.shape());
  BroadcastPlan plan = make_broadcast_plan(first.shape(), first.shape());
  prims(ctx).binary(ctx.device(), BinaryOp::kAdd, first, ctx.input(1), plan, out);
  for (int i = 2; i < ctx.num_inputs(); ++i)
    prims(ctx).binary(ctx.device(), BinaryOp::kAdd, out, ctx.input(i), plan, out);
}

void sqrt_grad_kernel(OpKernelContext& ctx) { activation_grad_kernel(ctx, ActivationGrad::kSqrt, 0); }

}  // namespace

void add_math_kernels(KernelList& list) {
  list.push_back({"Add", {binary_kernel<BinaryOp::kAdd>, {}}});
  list.push_back({"AddV2", {binary_kernel<BinaryOp::kAdd>, {}}});
  list.push_back({"Sub", {binary_kernel<BinaryOp::kSub>, {}}});
  list.push_back({"Mul", {binary_kernel<BinaryOp::kMul>, {}}});
  list.push_back({"RealDiv", {binary_kernel<BinaryOp::kDiv>, {}}});
  list.push_back({"Maximum", {binary_kernel<BinaryOp::kMax>, {}}});
  list.push_back({"Neg", {unary_kernel<UnaryOp::kNeg>, {}}});
  list.push_back({"Square", {unary_kernel<UnaryOp::kSquare>, {}}});
  list.push_back({"Sqrt", {unary_kernel<UnaryOp::kSqrt>, {}}});
  list.push_back({"Exp", {unary_kernel<UnaryOp::kExp>, {}}});
  list.push_back({"Log", {unary_kernel<UnaryOp::kLog>, {}}});
  list.push_back({"MatMul", {matmul_kernel, {}}});
  list.push_back({"Sum", {reduce_kernel<ReduceOp::kSum>, {1}}});
  list.push_back({"Mean", {reduce_kernel<ReduceOp::kMean>, {1}}});
  list.push_back({"Max", {reduce_kernel<ReduceOp::kMax>, {1}}});
  list.push_back({"AddN", {add_n_kernel, {}}});
  list.push_back({"SqrtGrad", {sqrt_grad_kernel, {}}});
}

}  // namespace kiln::kernels

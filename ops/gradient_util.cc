#include "ops/gradient_util.h"

#include <set>
#include <vector>

#include "ops/array_ops.h"
#include "ops/math_ops.h"
#include "ops/op_util.h"

namespace kiln::ops_internal {

namespace {

// Axes (of the broadcast result) that an operand of shape `s` was broadcast along: its missing
// leading axes and its size-1 axes. Summing over a size-1 axis the result also has is harmless.
std::vector<int64_t> broadcast_axes(const Shape& s, int out_rank) {
  std::vector<int64_t> axes;
  const int pad = out_rank - s.rank();
  for (int i = 0; i < out_rank; ++i)
    if (i < pad || s.dim(i - pad) == 1) axes.push_back(i);
  return axes;
}

Output sum_to(Output grad, const Shape& target) {
  Shape joined = broadcast_shapes(grad.shape(), target);
  if (grad.shape() == target) return grad;
  std::vector<int64_t> axes = broadcast_axes(target, joined.rank());
  Output summed = axes.empty() ? grad : reduce_sum(grad, axes, false, "Sum");
  return summed.shape() == target ? summed : reshape(summed, target.dims(), "Reshape");
}

Output sum_axes(Output grad, Output axes) {
  AttrMap a = t_attr(grad.dtype());
  a.set("Tidx", axes.dtype());
  a.set("keep_dims", false);
  return make_node(graph_of(grad), "Sum", "Sum", {grad, axes}, std::move(a))->output(0);
}

std::vector<int64_t> const_axes(Node* op) {
  const Node* axes = op->inputs().at(1).node;
  if (axes->op() != "Const")
    throw UnimplementedError("The gradient of " + op->op() + " node '" + op->name() +
                             "' needs constant reduction axes; '" + axes->name() + "' is a " + axes->op());
  const Tensor& t = axes->attr<Tensor>("value");
  std::vector<int64_t> out;
  if (t.dtype() == DType::kInt32) for (int32_t v : t.to_vector<int32_t>()) out.push_back(v);
  else out = t.to_vector<int64_t>();
  return out;
}

}  // namespace

Output shape_of(Output x, const std::string& name) {
  if (x.shape().fully_defined()) return int_vector_const(graph_of(x), x.shape().dims(), name);
  return shape(x, DType::kInt32, name);
}

std::pair<Output, Output> unbroadcast(Output x, Output y, Output gx, Output gy) {
  if (x.shape().fully_defined() && y.shape().fully_defined()) {
    Output rx = gx.valid() ? sum_to(gx, x.shape()) : Output();
    Output ry = gy.valid() ? sum_to(gy, y.shape()) : Output();
    return {rx, ry};
  }
  Output sx = shape(x, DType::kInt32, "Shape");
  Output sy = shape(y, DType::kInt32, "Shape_1");
  Node* args = broadcast_gradient_args(sx, sy);
  Output rx = gx.valid() ? reshape(sum_axes(gx, args->output(0)), sx, "Reshape") : Output();
  Output ry = gy.valid() ? reshape(sum_axes(gy, args->output(1)), sy, "Reshape_1") : Output();
  return {rx, ry};
}

Output reduction_grad(Node* op, Output grad, bool mean) {
  Graph& g = graph_of(grad);
  Output x = op->inputs().at(0);
  const Shape xs = x.shape();
  if (xs.unknown_rank())
    throw UnimplementedError("The gradient of " + op->op() + " node '" + op->name() +
                             "' needs the input's rank; '" + x.name() + "' has unknown rank");
  const int rank = xs.rank();
  std::set<int64_t> reduced;
  for (int64_t a : const_axes(op)) reduced.insert(a < 0 ? a + rank : a);
  if (xs.fully_defined()) {
    std::vector<int64_t> kept;
    int64_t count = 1;
    for (int i = 0; i < rank; ++i) {
      kept.push_back(reduced.count(i) ? 1 : xs.dim(i));
      if (reduced.count(i)) count *= xs.dim(i);
    }
    Output gr = grad;
    if (mean) gr = divide(gr, scalar_const(g, grad.dtype(), static_cast<double>(count), "Const"), "truediv");
    if (gr.shape() != Shape(kept)) gr = reshape(gr, kept, "Reshape");
    if (kept == xs.dims()) return gr;
    return broadcast_to(gr, int_vector_const(g, xs.dims(), "Shape"), "BroadcastTo");
  }
  std::vector<int64_t> keep_mask, reduced_mask;
  for (int i = 0; i < rank; ++i) {
    keep_mask.push_back(reduced.count(i) ? 0 : 1);
    reduced_mask.push_back(reduced.count(i) ? 1 : 0);
  }
  Output sx = shape(x, DType::kInt32, "Shape");
  Output kept = add(multiply(sx, int_vector_const(g, keep_mask, "keep_mask"), "mul"),
                    int_vector_const(g, reduced_mask, "reduced_mask"), "add");
  Output gr = grad;
  if (mean) {
    Output count = divide(cast(size(x, DType::kInt32, "Size"), grad.dtype(), "Cast"),
                          cast(size(op->output(0), DType::kInt32, "Size_1"), grad.dtype(), "Cast_1"),
                          "count");
    gr = divide(gr, count, "truediv");
  }
  return broadcast_to(reshape(gr, kept, "Reshape"), sx, "BroadcastTo");
}

}  // namespace kiln::ops_internal

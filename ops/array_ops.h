// Array ops: Const, Placeholder, Identity, NoOp, Reshape, Fill, ZerosLike, OnesLike, Cast, the
// shape ops Shape, Size, BroadcastTo, BroadcastGradientArgs, and the zeros/ones builders.
// Builders return outputs named as TensorFlow names them. The gradients of Identity, Reshape,
// Cast and BroadcastTo are registered here too (ops/gradients.h).
#pragma once

#include <string>
#include <vector>

#include "core/graph.h"

namespace kiln {

Output constant(Graph& g, const Tensor& value, const std::string& name = "Const");
Output constant(Graph& g, float value, const std::string& name = "Const");
Output constant(Graph& g, double value, const std::string& name = "Const");
Output constant(Graph& g, int32_t value, const std::string& name = "Const");
Output constant(Graph& g, int64_t value, const std::string& name = "Const");
template <typename T>
Output constant(Graph& g, std::initializer_list<T> values, const Shape& shape,
                const std::string& name = "Const") {
  return constant(g, Tensor::of<T>(values, shape), name);
}

// A value that must be fed; its dtype and (partial) shape are checked against the feed.
Output placeholder(Graph& g, DType dtype, const Shape& shape = Shape::unknown(),
                   const std::string& name = "Placeholder");
Output identity(Output x, const std::string& name = "Identity");
Operation no_op(Graph& g, const std::string& name = "NoOp");
// Groups operations: a NoOp with control inputs on all of them (tf.group).
Operation group(Graph& g, const std::vector<Operation>& ops, const std::string& name = "group_deps");
Output reshape(Output x, const std::vector<int64_t>& shape, const std::string& name = "Reshape");
Output reshape(Output x, Output shape, const std::string& name = "Reshape");
Output fill(Graph& g, const std::vector<int64_t>& dims, Output value, const std::string& name = "Fill");
Output zeros(Graph& g, const Shape& shape, DType dtype = DType::kFloat, const std::string& name = "zeros");
Output ones(Graph& g, const Shape& shape, DType dtype = DType::kFloat, const std::string& name = "ones");
Output zeros_like(Output x, const std::string& name = "zeros_like");
Output ones_like(Output x, const std::string& name = "ones_like");
Output cast(Output x, DType dtype, const std::string& name = "Cast");

// x's shape as a vector (out_type int32 or int64), and its element count as a scalar.
Output shape(Output x, DType out_type = DType::kInt32, const std::string& name = "Shape");
Output size(Output x, DType out_type = DType::kInt32, const std::string& name = "Size");
// x broadcast (numpy rules) to `shape`, an int32/int64 vector.
Output broadcast_to(Output x, Output shape, const std::string& name = "BroadcastTo");
// For shapes s0 and s1 of two operands broadcast together: the axes each operand's gradient
// must be summed over (outputs 0 and 1 of the returned node), as TF's BroadcastGradientArgs.
Node* broadcast_gradient_args(Output s0, Output s1, const std::string& name = "BroadcastGradientArgs");

void RegisterArrayOps();

}  // namespace kiln

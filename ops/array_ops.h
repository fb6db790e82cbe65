// Array ops: Const, Placeholder, Identity, NoOp, Reshape, Fill, ZerosLike, OnesLike, Cast, and
// the zeros/ones builders. Builders return outputs named as TensorFlow names them.
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

void RegisterArrayOps();

}  // namespace kiln

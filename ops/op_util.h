// Internal helpers shared by the op families in ops/: registering ops, building nodes, and the
// common shape functions.
#pragma once

#include <string>
#include <vector>

#include "core/graph.h"
#include "core/op_registry.h"

namespace kiln::ops_internal {

// Builds a node in `g` with attrs; `name` is the base name (made unique under the scope).
Node* make_node(Graph& g, const std::string& op, const std::string& name,
                std::vector<Output> inputs, AttrMap attrs = {});
Graph& graph_of(const Output& x);
// Output 0 of a Const holding `value`.
Output make_const(Graph& g, const Tensor& value, const std::string& name);
// A scalar Const of `dtype` holding `value` (converted).
Output scalar_const(Graph& g, DType dtype, double value, const std::string& name);
// An int32 vector Const.
Output int_vector_const(Graph& g, const std::vector<int64_t>& values, const std::string& name);
// The "final op takes the scope's name" pattern TF's composite builders use: returns the
// current scope without its trailing "/".
std::string scope_name(Graph& g);

// Shape functions.
void unchanged_shape(InferenceContext& c);             // output 0 = input 0
void binary_broadcast_shape(InferenceContext& c);      // numpy broadcasting of inputs 0 and 1
// Reads a shape from a constant int32/int64 input; unknown otherwise. With `reshape_input`, the
// request is resolved against that shape as Reshape does (-1 inferred, counts checked).
Shape shape_from_const_input(InferenceContext& c, int input, const Shape* reshape_input = nullptr);

// The dtype attr every elementwise op carries.
AttrMap t_attr(DType dtype);

}  // namespace kiln::ops_internal

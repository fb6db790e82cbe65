// Symbolic differentiation, as TF1's tf.gradients: gradients(g, ys, xs) adds the ops computing
// d(sum ys)/d(x) for each x to the graph and returns their outputs.
//
//   auto loss = k::reduce_mean(k::square(k::matmul(x, w) - y));
//   std::vector<k::Output> dw = k::gradients(g, {loss}, {w.value()});   // w read as "w/read:0"
//
// Contract:
//  - grad_ys (one per y, same dtype and shape) seed the backward pass; when absent each y is
//    seeded with ones ("gradients/Fill").
//  - Only ops on a path from some x to some y are differentiated, in reverse creation order (a
//    graph's creation order is topological). Gradient ops are named as TF names them: everything
//    under the name scope "gradients", each op's gradient under "gradients/<op name>_grad/"
//    ("gradients/MatMul_grad/MatMul_1"), and several contributions to one tensor summed by AddN
//    ("gradients/AddN") before they flow further.
//  - The result for an x that no y depends on is an invalid Output (TF's None). Integer tensors
//    carry no gradient.
//  - An op on such a path without a registered gradient is a NotFoundError "No gradient defined
//    for operation '<name>' (op type: <op>)".
//  - Variables are differentiated through their read value, Variable::value() ("v/read:0").
//  - When shapes are fully known at build time the broadcasting and reduction gradients use
//    constant shapes; otherwise they compute them at run time (Shape, BroadcastGradientArgs).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/graph.h"

namespace kiln {

std::vector<Output> gradients(Graph& g, const std::vector<Output>& ys, const std::vector<Output>& xs,
                              const std::vector<Output>& grad_ys = {});

// A gradient function: given the forward op and the gradient flowing into each of its outputs
// (valid for every floating-point output: zeros stand in where nothing flows), returns one
// gradient per input of the op, an invalid Output where there is none. It runs inside the
// op's "<op name>_grad" name scope. Returning fewer entries than inputs means "none" for the
// rest (an empty vector declares the op not differentiable).
using GradientFn = std::function<std::vector<Output>(Node* op, const std::vector<Output>& grads)>;

// Gradient functions by op name, filled by the op families' Register*Ops() next to each op.
class GradientRegistry {
 public:
  static GradientRegistry& global();
  void add(const std::string& op, GradientFn fn);
  // Declares that gradients stop at this op (its inputs get none), as TF's NotDifferentiable.
  void add_not_differentiable(const std::string& op);
  // nullptr when the op has none.
  const GradientFn* find(const std::string& op) const;

 private:
  std::map<std::string, GradientFn> fns_;
};

}  // namespace kiln

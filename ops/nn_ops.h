// Neural-network ops: BiasAdd, Relu, Sigmoid, Tanh, Softmax (last axis),
// SparseSoftmaxCrossEntropyWithLogits and the backward ops ReluGrad, SigmoidGrad, TanhGrad,
// BiasAddGrad. The gradients of the forward ops are registered here too (ops/gradients.h); the
// gradient of SparseSoftmaxCrossEntropyWithLogits flows from its loss output only.
#pragma once

#include <string>

#include "core/graph.h"

namespace kiln {

Output bias_add(Output value, Output bias, const std::string& name = "BiasAdd");
Output relu(Output x, const std::string& name = "Relu");
Output sigmoid(Output x, const std::string& name = "Sigmoid");
Output tanh(Output x, const std::string& name = "Tanh");
Output softmax(Output logits, const std::string& name = "Softmax");
// Per-example loss [batch] of int labels [batch] against logits [batch, classes]. The op's
// second output (the gradient, "backprop") is node->output(1).
Output sparse_softmax_cross_entropy_with_logits(
    Output labels, Output logits, const std::string& name = "SparseSoftmaxCrossEntropyWithLogits");

// Backward passes, as TF's gen_nn_ops / gen_math_ops: ReluGrad(gradients, features) passes the
// gradient where features > 0; SigmoidGrad(y, dy) = dy * y * (1 - y); TanhGrad(y, dy) =
// dy * (1 - y^2); BiasAddGrad sums out_backprop over every axis but the last.
Output relu_grad(Output gradients, Output features, const std::string& name = "ReluGrad");
Output sigmoid_grad(Output y, Output dy, const std::string& name = "SigmoidGrad");
Output tanh_grad(Output y, Output dy, const std::string& name = "TanhGrad");
Output bias_add_grad(Output out_backprop, const std::string& name = "BiasAddGrad");

void RegisterNnOps();

}  // namespace kiln

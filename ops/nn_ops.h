// Neural-network ops: BiasAdd, Relu, Sigmoid, Tanh, Softmax (last axis) and
// SparseSoftmaxCrossEntropyWithLogits.
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

void RegisterNnOps();

}  // namespace kiln

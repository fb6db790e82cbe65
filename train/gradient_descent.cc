#include "train/gradient_descent.h"

#include "ops/training_ops.h"

namespace kiln {

GradientDescentOptimizer::GradientDescentOptimizer(GradientDescentOptions options)
    : Optimizer(options.name, options.use_locking, {}), options_(std::move(options)) {}

Operation GradientDescentOptimizer::apply_dense(Output grad, const Variable& var) {
  Output lr = hyper(var.graph(), "learning_rate", options_.learning_rate, var.dtype());
  return apply_gradient_descent(var.ref(), lr, grad, use_locking()).node;
}

}  // namespace kiln

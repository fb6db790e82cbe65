#include "train/momentum.h"

#include "ops/training_ops.h"

namespace kiln {

MomentumOptimizer::MomentumOptimizer(MomentumOptions options)
    : Optimizer(options.name, options.use_locking, {"momentum"}), options_(std::move(options)) {}

void MomentumOptimizer::create_slots(const std::vector<Variable>& vars) {
  for (const Variable& v : vars) zeros_slot(v, "momentum", name());
}

Operation MomentumOptimizer::apply_dense(Output grad, const Variable& var) {
  Graph& g = var.graph();
  Output lr = hyper(g, "learning_rate", options_.learning_rate, var.dtype());
  Output momentum = hyper(g, "momentum", options_.momentum, var.dtype());
  return apply_momentum(var.ref(), get_slot(var, "momentum").ref(), lr, grad, momentum,
                        use_locking(), options_.use_nesterov).node;
}

}  // namespace kiln

#include "train/adam.h"

#include "ops/math_ops.h"
#include "ops/training_ops.h"

namespace kiln {

AdamOptimizer::AdamOptimizer(AdamOptions options)
    : Optimizer(options.name, options.use_locking, {"m", "v"}), options_(std::move(options)) {}

Variable AdamOptimizer::beta1_power() const {
  if (!beta1_power_) throw NotFoundError("Adam optimizer " + name() + " has no beta1_power before apply_gradients");
  return *beta1_power_;
}
Variable AdamOptimizer::beta2_power() const {
  if (!beta2_power_) throw NotFoundError("Adam optimizer " + name() + " has no beta2_power before apply_gradients");
  return *beta2_power_;
}

void AdamOptimizer::create_slots(const std::vector<Variable>& vars) {
  if (!beta1_power_) {
    // Colocated with the first variable by name, as TF does, so the choice is deterministic.
    const Variable* first = &vars[0];
    for (const Variable& v : vars)
      if (v.name() < first->name()) first = &v;
    Graph& g = first->graph();
    beta1_power_ = scalar_variable(g, options_.beta1, first->dtype(), "beta1_power", *first);
    beta2_power_ = scalar_variable(g, options_.beta2, first->dtype(), "beta2_power", *first);
  }
  for (const Variable& v : vars) {
    zeros_slot(v, "m", name());
    zeros_slot(v, "v", name());
  }
}

Operation AdamOptimizer::apply_dense(Output grad, const Variable& var) {
  Graph& g = var.graph();
  DType t = var.dtype();
  if (beta1_power_->dtype() != t)
    throw InvalidArgumentError("Adam: variable " + var.name() + " has dtype " + dtype_name(t) +
                               " but beta1_power has " + dtype_name(beta1_power_->dtype()));
  return apply_adam(var.ref(), get_slot(var, "m").ref(), get_slot(var, "v").ref(),
                    beta1_power_->value(), beta2_power_->value(),
                    hyper(g, "learning_rate", options_.learning_rate, t), hyper(g, "beta1", options_.beta1, t),
                    hyper(g, "beta2", options_.beta2, t), hyper(g, "epsilon", options_.epsilon, t), grad,
                    use_locking(), options_.use_nesterov).node;
}

Operation AdamOptimizer::finish(Graph& g, const std::vector<Operation>& updates, const std::string& name) {
  std::vector<Operation> all = updates;
  {
    // The powers advance only after every update of this step has read them.
    auto after = g.control_dependencies(updates);
    auto device = g.device(beta1_power_->op().node->requested_device());
    DType t = beta1_power_->dtype();
    all.push_back(beta1_power_->assign(multiply(beta1_power_->value(), hyper(g, "beta1", options_.beta1, t), "mul"),
                                       "Assign").node);
    all.push_back(beta2_power_->assign(multiply(beta2_power_->value(), hyper(g, "beta2", options_.beta2, t), "mul_1"),
                                       "Assign_1").node);
  }
  return Optimizer::finish(g, all, name);
}

}  // namespace kiln

#include "train/global_step.h"

#include "ops/op_util.h"

namespace kiln {

std::optional<Variable> get_global_step(const Graph& g) {
  std::vector<VariableRecord> found = g.variables(kGlobalStep);
  if (found.empty()) return std::nullopt;
  if (found.size() > 1)
    throw InvalidArgumentError("Multiple tensors in global_step collection: " +
                               std::to_string(found.size()));
  Variable step(found[0]);
  if (step.dtype() != DType::kInt64 || !(step.shape() == Shape{}))
    throw InvalidArgumentError("Existing \"global_step\" must be an int64 scalar, got " +
                               std::string(dtype_name(step.dtype())) + " " + step.shape().to_string());
  return step;
}

Variable get_or_create_global_step(Graph& g) {
  if (auto step = get_global_step(g)) return *step;
  auto root = g.name_scope("");
  Output zero;
  {
    // TF's initializer name; built before the variable without reserving its name.
    auto init_scope = g.name_scope("global_step/Initializer/");
    zero = ops_internal::scalar_const(g, DType::kInt64, 0, "zeros");
  }
  VariableOptions options;
  options.trainable = false;
  options.collections = {kGlobalVariables, kGlobalStep};
  return Variable(g, zero, "global_step", options);
}

}  // namespace kiln

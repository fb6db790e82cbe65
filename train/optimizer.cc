#include "train/optimizer.h"

#include "ops/array_ops.h"
#include "ops/gradients.h"
#include "ops/op_util.h"
#include "ops/state_ops.h"

namespace kiln {

using namespace ops_internal;

GradsAndVars Optimizer::compute_gradients(Output loss, std::vector<Variable> var_list) {
  Graph& g = graph_of(loss);
  if (!dtype_is_floating(loss.dtype()))
    throw InvalidArgumentError("Invalid type " + std::string(dtype_name(loss.dtype())) + " for " +
                               loss.name() + ", expected a floating-point loss");
  if (var_list.empty()) var_list = trainable_variables(g);
  if (var_list.empty()) throw InvalidArgumentError("No variables to optimize.");
  std::vector<Output> xs;
  for (const Variable& v : var_list) xs.push_back(v.value());
  std::vector<Output> grads = gradients(g, {loss}, xs);
  GradsAndVars out;
  for (size_t i = 0; i < var_list.size(); ++i) out.emplace_back(grads[i], var_list[i]);
  return out;
}

Operation Optimizer::apply_gradients(const GradsAndVars& grads_and_vars,
                                     std::optional<Variable> global_step, const std::string& name) {
  std::vector<std::pair<Output, Variable>> used;
  std::string all_names;
  for (const auto& [grad, var] : grads_and_vars) {
    all_names += (all_names.empty() ? "" : ", ") + var.name();
    if (grad.valid()) used.emplace_back(grad, var);
  }
  if (used.empty())
    throw InvalidArgumentError("No gradients provided for any variable: [" + all_names + "]");
  Graph& g = used[0].second.graph();
  std::vector<Variable> vars;
  for (const auto& [grad, var] : used) vars.push_back(var);
  {
    auto root = g.name_scope("");
    create_slots(vars);
  }
  auto scope = g.name_scope(name.empty() ? name_ : name);
  const std::string scope_str = scope_name(g);
  scope_ = scope_str;
  hypers_.clear();
  prepare(g);
  std::vector<Operation> updates;
  for (const auto& [grad, var] : used) {
    auto update_scope = g.name_scope("update_" + var.name());
    auto device = g.device(var.op().node->requested_device());
    updates.push_back(apply_dense(grad, var));
  }
  if (!global_step) return finish(g, updates, scope_str);
  Operation done = finish(g, updates, scope_str + "/update");
  auto after = g.control_dependencies({done});
  auto device = g.device(global_step->op().node->requested_device());
  Output one = scalar_const(g, DType::kInt64, 1, "value");
  Graph::NodeSpec spec;
  spec.op = "AssignAdd";
  spec.name = scope_str;
  spec.exact_name = true;
  spec.inputs = {global_step->ref(), one};
  spec.attrs = t_attr(DType::kInt64);
  spec.attrs.set("use_locking", use_locking_);
  spec.attrs.set("_class", std::vector<std::string>{"loc:@" + global_step->name()});
  return g.create(std::move(spec));
}

Operation Optimizer::minimize(Output loss, std::optional<Variable> global_step,
                              std::vector<Variable> var_list, const std::string& name) {
  return apply_gradients(compute_gradients(loss, std::move(var_list)), global_step, name);
}

Operation Optimizer::finish(Graph& g, const std::vector<Operation>& updates, const std::string& name) {
  Graph::NodeSpec spec;
  spec.op = "NoOp";
  spec.name = name;
  spec.exact_name = true;
  for (const Operation& op : updates) spec.control_inputs.push_back(op.node);
  return g.create(std::move(spec));
}

Variable Optimizer::get_slot(const Variable& var, const std::string& slot) const {
  auto it = slots_.find({var.name(), slot});
  if (it == slots_.end())
    throw NotFoundError("Optimizer " + name_ + " has no slot '" + slot + "' for variable " + var.name());
  return it->second;
}

Variable Optimizer::zeros_slot(const Variable& var, const std::string& slot, const std::string& op_name) {
  auto it = slots_.find({var.name(), slot});
  if (it != slots_.end()) return it->second;
  Graph& g = var.graph();
  if (!var.shape().fully_defined())
    throw InvalidArgumentError("Slot '" + slot + "' of variable " + var.name() +
                               " needs a fully defined shape, got " + var.shape().to_string());
  auto device = g.device(var.op().node->requested_device());
  const std::string base = var.name() + "/" + op_name;
  const std::string full = g.unique_name(base, false);  // "w/Adam_1" when "w/Adam" is taken
  Output zeros;
  {
    // TF's initializer name, built without reserving the slot's own name.
    auto init_scope = g.name_scope(full + "/Initializer/");
    Output value = scalar_const(g, var.dtype(), 0.0, "zeros/Const");
    zeros = fill(g, var.shape().dims(), value, "zeros");
  }
  auto parent = g.name_scope(var.name() + "/");
  VariableOptions options;
  options.trainable = false;
  options.collections = {kGlobalVariables};
  Variable slot_var(g, zeros, full.substr(var.name().size() + 1), options);
  slots_.emplace(std::make_pair(var.name(), slot), slot_var);
  return slot_var;
}

Variable Optimizer::scalar_variable(Graph& g, double value, DType dtype, const std::string& name,
                                    const Variable& colocate_with) {
  auto root = g.name_scope("");
  auto device = g.device(colocate_with.op().node->requested_device());
  const std::string full = g.unique_name(name, false);
  Output initial;
  {
    auto init_scope = g.name_scope(full + "/");
    initial = scalar_const(g, dtype, value, "initial_value");
  }
  VariableOptions options;
  options.trainable = false;
  options.collections = {kGlobalVariables};
  return Variable(g, initial, full, options);
}

Output Optimizer::hyper(Graph& g, const std::string& name, double value, DType dtype) {
  std::string key = name + "|" + dtype_name(dtype);
  auto it = hypers_.find(key);
  if (it != hypers_.end()) return it->second;
  auto scope = g.name_scope(scope_ + "/");
  auto device = g.device("");
  Output c = scalar_const(g, dtype, value, name);
  hypers_[key] = c;
  return c;
}

}  // namespace kiln

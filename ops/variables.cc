#include "ops/variables.h"

#include "ops/array_ops.h"
#include "ops/op_util.h"
#include "ops/state_ops.h"

namespace kiln {

using namespace ops_internal;

Variable::Variable(Graph& g, Output initial_value, const std::string& name, VariableOptions options) {
  if (!initial_value.valid()) throw InvalidArgumentError("Variable '" + name + "' needs an initial value");
  Shape shape = initial_value.shape();
  if (options.validate_shape && !shape.fully_defined())
    throw InvalidArgumentError("initial_value of variable '" + name +
                               "' must have a fully defined shape, got " + shape.to_string());
  auto scope = g.name_scope(name);
  std::string var_name = scope_name(g);
  Graph::NodeSpec spec;
  spec.op = "VariableV2";
  spec.name = var_name;
  spec.exact_name = true;
  spec.attrs.set("shape", options.validate_shape ? shape : Shape::unknown());
  spec.attrs.set("dtype", initial_value.dtype());
  spec.attrs.set("container", std::string());
  spec.attrs.set("shared_name", std::string());
  Node* var = g.create(std::move(spec));
  record_.variable = var;
  record_.initializer = kiln::assign(var->output(0), initial_value, options.validate_shape, "Assign").node;
  {
    Graph::NodeSpec read;
    read.op = "Identity";
    read.name = "read";
    read.inputs = {var->output(0)};
    read.attrs = t_attr(initial_value.dtype());
    read.attrs.set("_class", std::vector<std::string>{"loc:@" + var_name});
    read.device = var->requested_device();
    record_.snapshot = g.create(std::move(read))->output(0);
  }
  record_.initial_value = initial_value;
  record_.trainable = options.trainable;
  std::vector<std::string> collections = options.collections;
  if (collections.empty()) {
    collections.push_back(kGlobalVariables);
    if (options.trainable) collections.push_back(kTrainableVariables);
  }
  for (const std::string& c : collections) g.add_to_collection(c, record_);
}

Output Variable::read_value() const {
  Graph& g = graph();
  auto scope = g.name_scope(name() + "/");
  return identity(ref(), "read");
}

Output Variable::assign(Output value, const std::string& name) const {
  return kiln::assign(ref(), value, true, name);
}
Output Variable::assign_add(Output value, const std::string& name) const {
  return kiln::assign_add(ref(), value, name);
}
Output Variable::assign_sub(Output value, const std::string& name) const {
  return kiln::assign_sub(ref(), value, name);
}

std::vector<Variable> global_variables(const Graph& g) {
  std::vector<Variable> out;
  for (const VariableRecord& r : g.variables(kGlobalVariables)) out.emplace_back(r);
  return out;
}

std::vector<Variable> trainable_variables(const Graph& g) {
  std::vector<Variable> out;
  for (const VariableRecord& r : g.variables(kTrainableVariables)) out.emplace_back(r);
  return out;
}

Operation variables_initializer(Graph& g, const std::vector<Variable>& vars, const std::string& name) {
  std::vector<Operation> inits;
  for (const Variable& v : vars) inits.push_back(v.initializer());
  return group(g, inits, name);
}

Operation global_variables_initializer(Graph& g) {
  return variables_initializer(g, global_variables(g), "init");
}

}  // namespace kiln

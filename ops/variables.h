// tf.Variable for TF1 graphs: a VariableV2 node "v", its initializer "v/Assign" and its read
// snapshot "v/read", recorded in the `variables` (and `trainable_variables`) collections.
#pragma once

#include <string>
#include <vector>

#include "core/graph.h"

namespace kiln {

struct VariableOptions {
  bool trainable = true;
  bool validate_shape = true;
  // Collections to add the variable to; empty means TF's default (variables, plus
  // trainable_variables when trainable).
  std::vector<std::string> collections{};
};

class Variable {
 public:
  // Builds the variable from an initial value (e.g. random_normal(g, {1, 2})).
  Variable(Graph& g, Output initial_value, const std::string& name = "Variable",
           VariableOptions options = {});
  explicit Variable(const VariableRecord& record) : record_(record) {}

  // Using a Variable as a tensor reads its snapshot "v/read:0", as TF does.
  operator Output() const { return record_.snapshot; }
  Output value() const { return record_.snapshot; }
  // The reference output "v:0" (what get_tensor_by_name("v:0") returns).
  Output ref() const { return record_.variable->output(0); }
  Operation op() const { return record_.variable; }
  Operation initializer() const { return record_.initializer; }
  Output initial_value() const { return record_.initial_value; }
  const std::string& name() const { return record_.variable->name(); }
  DType dtype() const { return record_.variable->output_type(0); }
  Shape shape() const { return record_.variable->output_shape(0); }
  Graph& graph() const { return *record_.variable->graph(); }
  bool trainable() const { return record_.trainable; }
  const VariableRecord& record() const { return record_; }

  // A fresh read of the current value (an Identity of "v:0" named "read"), as TF's
  // read_value(): built inside control_dependencies it observes the effects it depends on,
  // which the snapshot value() created with the variable does not.
  Output read_value() const;

  Output assign(Output value, const std::string& name = "Assign") const;
  Output assign_add(Output value, const std::string& name = "AssignAdd") const;
  Output assign_sub(Output value, const std::string& name = "AssignSub") const;

 private:
  VariableRecord record_;
};

std::vector<Variable> global_variables(const Graph& g);
std::vector<Variable> trainable_variables(const Graph& g);
// A NoOp named "init" that runs every variable's initializer.
Operation variables_initializer(Graph& g, const std::vector<Variable>& vars,
                                const std::string& name = "init");
Operation global_variables_initializer(Graph& g);

}  // namespace kiln

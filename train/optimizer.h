// The optimizer base class, as TF1's tf.train.Optimizer: compute_gradients builds the gradient
// ops (ops/gradients.h) for a loss, apply_gradients builds one fused update op per variable
// (ops/training_ops.h), minimize does both.
//
//   kiln::Variable step = kiln::get_or_create_global_step(g);
//   kiln::AdamOptimizer opt({.learning_rate = 1e-3});
//   kiln::Operation train_op = opt.minimize(loss, step);      // "Adam", increments global_step
//
// Names follow TF: updates live under the optimizer's name scope ("Adam/update_w/ApplyAdam"),
// hyper-parameters are constants there ("Adam/learning_rate"), and the returned op carries the
// scope's own name ("Adam"; "Adam_1" for a second call). With a global step, the per-variable
// updates are grouped as "<name>/update" and the returned op is the AssignAdd of the step that
// runs after them. Slot variables (momentum accumulators, Adam's moments) and Adam's
// beta1_power/beta2_power are real graph variables, named as TF names them, placed with their
// primary variable, in the `variables` collection and not trainable, so a Saver saves and
// restores them with the model. They are created on the first apply_gradients and reused later.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/graph.h"
#include "ops/variables.h"

namespace kiln {

// (gradient, variable) pairs; an invalid gradient means the variable gets no update.
using GradsAndVars = std::vector<std::pair<Output, Variable>>;

class Optimizer {
 public:
  virtual ~Optimizer() = default;

  // Gradients of `loss` for `var_list` (default: the graph's trainable variables), taken through
  // each variable's read value. InvalidArgumentError for a non-floating loss or no variables.
  GradsAndVars compute_gradients(Output loss, std::vector<Variable> var_list = {});
  // One update per pair with a gradient; InvalidArgumentError naming the variables when none
  // has one. `name` overrides the optimizer's name as the scope.
  Operation apply_gradients(const GradsAndVars& grads_and_vars,
                            std::optional<Variable> global_step = std::nullopt,
                            const std::string& name = "");
  Operation minimize(Output loss, std::optional<Variable> global_step = std::nullopt,
                     std::vector<Variable> var_list = {}, const std::string& name = "");

  // The slot variable of `var` named `slot` ("momentum", "m", "v"); NotFoundError when absent.
  Variable get_slot(const Variable& var, const std::string& slot) const;
  // The slot names this optimizer creates, in creation order.
  const std::vector<std::string>& get_slot_names() const { return slot_names_; }
  const std::string& name() const { return name_; }

 protected:
  Optimizer(std::string name, bool use_locking, std::vector<std::string> slot_names)
      : name_(std::move(name)), use_locking_(use_locking), slot_names_(std::move(slot_names)) {}

  // Hooks, as TF's _create_slots / _prepare / _apply_dense / _finish. create_slots runs at the
  // root name scope; the others inside the optimizer's scope (apply_dense also inside
  // "update_<var>" and the variable's device scope).
  virtual void create_slots(const std::vector<Variable>& vars) { (void)vars; }
  virtual void prepare(Graph& g) { (void)g; }
  virtual Operation apply_dense(Output grad, const Variable& var) = 0;
  // Groups `updates` into a NoOp with the exact node name `name`.
  virtual Operation finish(Graph& g, const std::vector<Operation>& updates, const std::string& name);

  // A zero-initialized slot variable "<var>/<op_name>" (made unique), placed with `var` and
  // recorded as slot `slot`; an existing one is returned as is.
  Variable zeros_slot(const Variable& var, const std::string& slot, const std::string& op_name);
  // A scalar non-slot variable at the root scope ("beta1_power"), placed with `colocate_with`.
  static Variable scalar_variable(Graph& g, double value, DType dtype, const std::string& name,
                                  const Variable& colocate_with);
  // A scalar constant of `dtype` named "<optimizer scope>/<name>", made once per dtype and
  // apply_gradients call.
  Output hyper(Graph& g, const std::string& name, double value, DType dtype);

  bool use_locking() const { return use_locking_; }

 private:
  std::string name_;
  bool use_locking_;
  std::vector<std::string> slot_names_;
  std::map<std::pair<std::string, std::string>, Variable> slots_;  // (var name, slot) -> slot
  std::string scope_;                     // the current apply_gradients' name scope
  std::map<std::string, Output> hypers_;  // "<name>|<dtype>" -> constant
};

}  // namespace kiln

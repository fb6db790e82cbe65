#include "ops/state_ops.h"

#include "core/op_registry.h"
#include "ops/op_util.h"

namespace kiln {

using namespace ops_internal;

namespace {

void check_ref(const Output& ref, const char* op) {
  if (!ref.node || !is_variable_op(ref.node->op()))
    throw InvalidArgumentError(std::string(op) + " needs a variable reference as its first input, got '" +
                               ref.name() + "'");
}

AttrMap assign_attrs(const Output& ref) {
  AttrMap a = t_attr(ref.dtype());
  a.set("use_locking", false);
  a.set("_class", std::vector<std::string>{"loc:@" + ref.node->name()});
  return a;
}

void variable_shape(InferenceContext& c) {
  c.set_output(0, c.attr<DType>("dtype"), c.attr<Shape>("shape"));
}

void assign_shape(InferenceContext& c) {
  c.expect_same_dtype(0, 1);
  Shape var = c.input_shape(0), value = c.input_shape(1);
  bool validate = c.has_attr("validate_shape") ? c.attr<bool>("validate_shape") : true;
  if (validate && !var.compatible_with(value))
    throw c.invalid("Shapes must be equal rank, but are " + var.to_string() + " and " +
                    value.to_string() + " for '" + c.node_name() + "' (variable '" +
                    c.input(0).node->name() + "')");
  c.set_output(0, c.input_dtype(0), validate ? var.merge_with(value) : value);
}

void update_shape(InferenceContext& c) {
  c.expect_same_dtype(0, 1);
  Shape var = c.input_shape(0), value = c.input_shape(1);
  if (!var.compatible_with(value))
    throw c.invalid("variable '" + c.input(0).node->name() + "' has shape " + var.to_string() +
                    " but the update has shape " + value.to_string());
  c.set_output(0, c.input_dtype(0), var);
}

}  // namespace

Output variable_v2(Graph& g, const Shape& shape, DType dtype, const std::string& name) {
  AttrMap a;
  a.set("shape", shape);
  a.set("dtype", dtype);
  a.set("container", std::string());
  a.set("shared_name", std::string());
  return make_node(g, "VariableV2", name, {}, std::move(a))->output(0);
}

Output assign(Output ref, Output value, bool validate_shape, const std::string& name) {
  check_ref(ref, "Assign");
  AttrMap a = assign_attrs(ref);
  a.set("use_locking", true);
  a.set("validate_shape", validate_shape);
  return make_node(graph_of(ref), "Assign", name, {ref, value}, std::move(a))->output(0);
}

Output assign_add(Output ref, Output value, const std::string& name) {
  check_ref(ref, "AssignAdd");
  return make_node(graph_of(ref), "AssignAdd", name, {ref, value}, assign_attrs(ref))->output(0);
}

Output assign_sub(Output ref, Output value, const std::string& name) {
  check_ref(ref, "AssignSub");
  return make_node(graph_of(ref), "AssignSub", name, {ref, value}, assign_attrs(ref))->output(0);
}

void RegisterStateOps() {
  OpRegistry& r = OpRegistry::global();
  for (const char* op : {"VariableV2", "Variable"})
    r.add(OpDefBuilder(op).stateful().variable().defaults({{"container", std::string()}, {"shared_name", std::string()}}).infer(variable_shape));
  // Resource variables (TF2's tf.compat.v1 graphs): the handle node is the variable; reads and
  // writes go through ops that take it by reference. kiln keeps their values exactly as those of
  // VariableV2, so only the op names and signatures differ.
  r.add(OpDefBuilder("VarHandleOp").stateful().variable()
            .defaults({{"container", std::string()}, {"shared_name", std::string()}})
            .infer(variable_shape));
  r.add(OpDefBuilder("ReadVariableOp").inputs(1, 1).infer([](InferenceContext& c) {
    c.set_output(0, c.attr<DType>("dtype"), c.input_shape(0));
  }));
  r.add(OpDefBuilder("VarIsInitializedOp").inputs(1, 1).ref_inputs({0}).infer([](InferenceContext& c) {
    c.set_output(0, DType::kBool, Shape{});
  }));
  for (const char* op : {"AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp"})
    r.add(OpDefBuilder(op).inputs(2, 2).ref_inputs({0}).stateful().infer([](InferenceContext&) {}));
  r.add(OpDefBuilder("Assign").inputs(2, 2).ref_inputs({0}).stateful().defaults({{"validate_shape", true}, {"use_locking", true}}).infer(assign_shape));
  for (const char* op : {"AssignAdd", "AssignSub"})
    r.add(OpDefBuilder(op).inputs(2, 2).ref_inputs({0}).stateful().defaults({{"use_locking", false}}).infer(update_shape));
}

}  // namespace kiln

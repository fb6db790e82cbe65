#include "ops/training_ops.h"

#include "ops/op_util.h"

namespace kiln {

using namespace ops_internal;

namespace {

void check_ref(const Output& ref, const char* op, const char* what) {
  if (!ref.node || (ref.node->op() != "VariableV2" && ref.node->op() != "Variable"))
    throw InvalidArgumentError(std::string(op) + " needs a variable reference as '" + what + "', got '" +
                               (ref.node ? ref.name() : std::string("<empty>")) + "'");
}

// Inputs `refs` are variables shaped like the variable, `scalars` are scalars, `grad` (the
// last input) matches the variable; all one dtype. Output 0 is the variable's value.
void apply_shape(InferenceContext& c, std::initializer_list<int> refs, std::initializer_list<int> scalars,
                 int grad) {
  Shape var = c.input_shape(0);
  for (int i : refs) {
    c.expect_same_dtype(0, i);
    if (!var.compatible_with(c.input_shape(i)))
      throw c.invalid("var and input " + std::to_string(i) + " ('" + c.input(i).name() +
                      "') do not have the same shape: " + var.to_string() + " " + c.input_shape(i).to_string());
  }
  for (int i : scalars) {
    c.expect_same_dtype(0, i);
    if (c.input_shape(i).rank() > 0)
      throw c.invalid("input " + std::to_string(i) + " ('" + c.input(i).name() +
                      "') is not a scalar: " + c.input_shape(i).to_string());
  }
  c.expect_same_dtype(0, grad);
  if (!var.compatible_with(c.input_shape(grad)))
    throw c.invalid("var and grad do not have the same shape: " + var.to_string() + " " +
                    c.input_shape(grad).to_string());
  if (!dtype_is_floating(c.input_dtype(0)))
    throw c.invalid(std::string("needs a floating-point variable, got ") + dtype_name(c.input_dtype(0)));
  c.set_output(0, c.input_dtype(0), var);
}

AttrMap apply_attrs(const Output& var, bool use_locking) {
  AttrMap a = t_attr(var.dtype());
  a.set("use_locking", use_locking);
  a.set("_class", std::vector<std::string>{"loc:@" + var.node->name()});
  return a;
}

}  // namespace

Output apply_gradient_descent(Output var, Output alpha, Output delta, bool use_locking,
                              const std::string& name) {
  check_ref(var, "ApplyGradientDescent", "var");
  return make_node(graph_of(var), "ApplyGradientDescent", name, {var, alpha, delta},
                   apply_attrs(var, use_locking))->output(0);
}

Output apply_momentum(Output var, Output accum, Output lr, Output grad, Output momentum,
                      bool use_locking, bool use_nesterov, const std::string& name) {
  check_ref(var, "ApplyMomentum", "var");
  check_ref(accum, "ApplyMomentum", "accum");
  AttrMap a = apply_attrs(var, use_locking);
  a.set("use_nesterov", use_nesterov);
  return make_node(graph_of(var), "ApplyMomentum", name, {var, accum, lr, grad, momentum},
                   std::move(a))->output(0);
}

Output apply_adam(Output var, Output m, Output v, Output beta1_power, Output beta2_power, Output lr,
                  Output beta1, Output beta2, Output epsilon, Output grad, bool use_locking,
                  bool use_nesterov, const std::string& name) {
  check_ref(var, "ApplyAdam", "var");
  check_ref(m, "ApplyAdam", "m");
  check_ref(v, "ApplyAdam", "v");
  AttrMap a = apply_attrs(var, use_locking);
  a.set("use_nesterov", use_nesterov);
  return make_node(graph_of(var), "ApplyAdam", name,
                   {var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad},
                   std::move(a))->output(0);
}

void RegisterTrainingOps() {
  OpRegistry& r = OpRegistry::global();
  r.add(OpDefBuilder("ApplyGradientDescent").inputs(3, 3).ref_inputs({0}).stateful()
            .defaults({{"use_locking", false}})
            .infer([](InferenceContext& c) { apply_shape(c, {}, {1}, 2); }));
  r.add(OpDefBuilder("ApplyMomentum").inputs(5, 5).ref_inputs({0, 1}).stateful()
            .defaults({{"use_locking", false}, {"use_nesterov", false}})
            .infer([](InferenceContext& c) { apply_shape(c, {1}, {2, 4}, 3); }));
  r.add(OpDefBuilder("ApplyAdam").inputs(10, 10).ref_inputs({0, 1, 2}).stateful()
            .defaults({{"use_locking", false}, {"use_nesterov", false}})
            .infer([](InferenceContext& c) { apply_shape(c, {1, 2}, {3, 4, 5, 6, 7, 8}, 9); }));
}

}  // namespace kiln

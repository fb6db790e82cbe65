#include "ops/random_ops.h"

#include "ops/op_util.h"

namespace kiln {

using namespace ops_internal;

namespace {

Output random_core(Graph& g, const char* op, Output shape, const RandomOptions& o) {
  auto [seed, seed2] = g.seeds_for_op(o.seed);
  AttrMap a;
  a.set("dtype", o.dtype);
  a.set("seed", seed);
  a.set("seed2", seed2);
  a.set("T", DType::kInt32);
  return make_node(g, op, op, {shape}, std::move(a))->output(0);
}

Output finish(Graph& g, const std::string& name, Output scaled, Output offset) {
  Graph::NodeSpec spec;
  spec.op = "Add";
  spec.name = name;
  spec.exact_name = true;
  spec.inputs = {scaled, offset};
  spec.attrs = t_attr(scaled.dtype());
  return g.create(std::move(spec))->output(0);
}

void check_shape(const Shape& shape, const char* what) {
  if (!shape.fully_defined())
    throw InvalidArgumentError(std::string(what) + " needs a fully defined shape, got " + shape.to_string());
}

void random_shape(InferenceContext& c) {
  DType dtype = c.attr<DType>("dtype");
  if (!dtype_is_floating(dtype))
    throw c.invalid(std::string("dtype must be floating point, got ") + dtype_name(dtype));
  c.set_output(0, dtype, shape_from_const_input(c, 0));
}

}  // namespace

// TF's normal builders: `op` scaled by stddev, shifted by mean, the Add named after the scope.
static Output scaled_normal(Graph& g, const char* op, const Shape& shape, const RandomOptions& o,
                            const std::string& name) {
  check_shape(shape, name.c_str());
  auto scope = g.name_scope(name);
  std::string final_name = scope_name(g);
  Output s = int_vector_const(g, shape.dims(), "shape");
  Output mean = scalar_const(g, o.dtype, o.mean, "mean");
  Output stddev = scalar_const(g, o.dtype, o.stddev, "stddev");
  Output rnd = random_core(g, op, s, o);
  Output mul = make_node(g, "Mul", "mul", {rnd, stddev}, t_attr(o.dtype))->output(0);
  return finish(g, final_name, mul, mean);
}

Output random_normal(Graph& g, const Shape& shape, RandomOptions o, const std::string& name) {
  return scaled_normal(g, "RandomStandardNormal", shape, o, name);
}

Output truncated_normal(Graph& g, const Shape& shape, RandomOptions o, const std::string& name) {
  return scaled_normal(g, "TruncatedNormal", shape, o, name);
}

Output random_uniform(Graph& g, const Shape& shape, RandomOptions o, const std::string& name) {
  check_shape(shape, "random_uniform");
  auto scope = g.name_scope(name);
  std::string final_name = scope_name(g);
  Output s = int_vector_const(g, shape.dims(), "shape");
  Output minval = scalar_const(g, o.dtype, o.minval, "min");
  Output maxval = scalar_const(g, o.dtype, o.maxval, "max");
  Output rnd = random_core(g, "RandomUniform", s, o);
  Output range = make_node(g, "Sub", "sub", {maxval, minval}, t_attr(o.dtype))->output(0);
  Output mul = make_node(g, "Mul", "mul", {rnd, range}, t_attr(o.dtype))->output(0);
  return finish(g, final_name, mul, minval);
}

void RegisterRandomOps() {
  OpRegistry& r = OpRegistry::global();
  for (const char* op : {"RandomStandardNormal", "RandomUniform", "TruncatedNormal"})
    r.add(OpDefBuilder(op).inputs(1, 1).stateful().defaults({{"seed", int64_t{0}}, {"seed2", int64_t{0}}}).infer(random_shape));
}

}  // namespace kiln

#include "ops/array_ops.h"

#include "ops/gradient_util.h"
#include "ops/gradients.h"
#include "ops/op_util.h"

namespace kiln {

using namespace ops_internal;

Output constant(Graph& g, const Tensor& value, const std::string& name) {
  return make_const(g, value, name);
}
Output constant(Graph& g, float value, const std::string& name) {
  return make_const(g, Tensor::scalar(value), name);
}
Output constant(Graph& g, double value, const std::string& name) {
  return make_const(g, Tensor::scalar(value), name);
}
Output constant(Graph& g, int32_t value, const std::string& name) {
  return make_const(g, Tensor::scalar(value), name);
}
Output constant(Graph& g, int64_t value, const std::string& name) {
  return make_const(g, Tensor::scalar(value), name);
}

Output placeholder(Graph& g, DType dtype, const Shape& shape, const std::string& name) {
  AttrMap a;
  a.set("dtype", dtype);
  a.set("shape", shape);
  return make_node(g, "Placeholder", name, {}, std::move(a))->output(0);
}

Output identity(Output x, const std::string& name) {
  return make_node(graph_of(x), "Identity", name, {x}, t_attr(x.dtype()))->output(0);
}

Operation no_op(Graph& g, const std::string& name) { return make_node(g, "NoOp", name, {}); }

Operation group(Graph& g, const std::vector<Operation>& ops, const std::string& name) {
  Graph::NodeSpec spec;
  spec.op = "NoOp";
  spec.name = name;
  for (const Operation& op : ops) spec.control_inputs.push_back(op.node);
  return g.create(std::move(spec));
}

Output reshape(Output x, const std::vector<int64_t>& shape, const std::string& name) {
  Graph& g = graph_of(x);
  auto scope = g.name_scope(name);
  std::string final_name = scope_name(g);
  Output s = int_vector_const(g, shape, "shape");
  Graph::NodeSpec spec;
  spec.op = "Reshape";
  spec.name = final_name;
  spec.exact_name = true;
  spec.inputs = {x, s};
  spec.attrs = t_attr(x.dtype());
  spec.attrs.set("Tshape", DType::kInt32);
  return g.create(std::move(spec))->output(0);
}

Output reshape(Output x, Output shape, const std::string& name) {
  AttrMap a = t_attr(x.dtype());
  a.set("Tshape", shape.dtype());
  return make_node(graph_of(x), "Reshape", name, {x, shape}, std::move(a))->output(0);
}

Output fill(Graph& g, const std::vector<int64_t>& dims, Output value, const std::string& name) {
  Output d = int_vector_const(g, dims, name + "/dims");
  AttrMap a = t_attr(value.dtype());
  a.set("index_type", DType::kInt32);
  return make_node(g, "Fill", name, {d, value}, std::move(a))->output(0);
}

namespace {
Output filled(Graph& g, const Shape& shape, DType dtype, double v, const std::string& name) {
  if (!shape.fully_defined())
    throw InvalidArgumentError("zeros/ones need a fully defined shape, got " + shape.to_string());
  auto scope = g.name_scope(name);
  std::string final_name = scope_name(g);
  Output value = scalar_const(g, dtype, v, "Const");
  Output dims = int_vector_const(g, shape.dims(), "shape_as_tensor");
  Graph::NodeSpec spec;
  spec.op = "Fill";
  spec.name = final_name;
  spec.exact_name = true;
  spec.inputs = {dims, value};
  spec.attrs = t_attr(dtype);
  spec.attrs.set("index_type", DType::kInt32);
  return g.create(std::move(spec))->output(0);
}
}  // namespace

Output zeros(Graph& g, const Shape& shape, DType dtype, const std::string& name) {
  return filled(g, shape, dtype, 0.0, name);
}
Output ones(Graph& g, const Shape& shape, DType dtype, const std::string& name) {
  return filled(g, shape, dtype, 1.0, name);
}

Output zeros_like(Output x, const std::string& name) {
  return make_node(graph_of(x), "ZerosLike", name, {x}, t_attr(x.dtype()))->output(0);
}
Output ones_like(Output x, const std::string& name) {
  return make_node(graph_of(x), "OnesLike", name, {x}, t_attr(x.dtype()))->output(0);
}

Output cast(Output x, DType dtype, const std::string& name) {
  AttrMap a;
  a.set("SrcT", x.dtype());
  a.set("DstT", dtype);
  a.set("Truncate", false);
  return make_node(graph_of(x), "Cast", name, {x}, std::move(a))->output(0);
}

Output shape(Output x, DType out_type, const std::string& name) {
  AttrMap a = t_attr(x.dtype());
  a.set("out_type", out_type);
  return make_node(graph_of(x), "Shape", name, {x}, std::move(a))->output(0);
}

Output size(Output x, DType out_type, const std::string& name) {
  AttrMap a = t_attr(x.dtype());
  a.set("out_type", out_type);
  return make_node(graph_of(x), "Size", name, {x}, std::move(a))->output(0);
}

Output broadcast_to(Output x, Output shape, const std::string& name) {
  AttrMap a = t_attr(x.dtype());
  a.set("Tidx", shape.dtype());
  return make_node(graph_of(x), "BroadcastTo", name, {x, shape}, std::move(a))->output(0);
}

Node* broadcast_gradient_args(Output s0, Output s1, const std::string& name) {
  return make_node(graph_of(s0), "BroadcastGradientArgs", name, {s0, s1}, t_attr(s0.dtype()));
}

namespace {

void int_out_type(InferenceContext& c) {
  DType t = c.attr<DType>("out_type");
  if (t != DType::kInt32 && t != DType::kInt64)
    throw c.invalid(std::string("out_type must be int32 or int64, got ") + dtype_name(t));
}

void register_array_gradients() {
  GradientRegistry& r = GradientRegistry::global();
  r.add("Identity", [](Node*, const std::vector<Output>& g) { return std::vector<Output>{g[0]}; });
  // Reshape: the gradient takes the input's shape back; the shape input gets none.
  r.add("Reshape", [](Node* op, const std::vector<Output>& g) {
    return std::vector<Output>{reshape(g[0], shape_of(op->inputs()[0]), "Reshape"), Output()};
  });
  // Cast: back to the source dtype when both are floating point; integers carry no gradient.
  r.add("Cast", [](Node* op, const std::vector<Output>& g) {
    DType src = op->attr<DType>("SrcT"), dst = op->attr<DType>("DstT");
    if (!dtype_is_floating(src) || !dtype_is_floating(dst)) return std::vector<Output>{Output()};
    return std::vector<Output>{cast(g[0], src, "Cast")};
  });
  // BroadcastTo: summed back over the broadcast axes.
  r.add("BroadcastTo", [](Node* op, const std::vector<Output>& g) {
    return std::vector<Output>{unbroadcast(op->inputs()[0], op->output(0), g[0], Output()).first, Output()};
  });
  for (const char* op : {"Shape", "Size", "BroadcastGradientArgs", "ZerosLike", "OnesLike"})
    r.add_not_differentiable(op);
}

}  // namespace

void RegisterArrayOps() {
  OpRegistry& r = OpRegistry::global();
  r.add(OpDefBuilder("Const").infer([](InferenceContext& c) {
           const Tensor& v = c.attr<Tensor>("value");
           DType dtype = c.attr<DType>("dtype");
           if (v.dtype() != dtype)
             throw c.invalid(std::string("value has dtype ") + dtype_name(v.dtype()) +
                             " but dtype attr is " + dtype_name(dtype));
           c.set_output(0, dtype, v.shape());
         }));
  r.add(OpDefBuilder("Placeholder").defaults({{"shape", Shape::unknown()}}).infer([](InferenceContext& c) {
           c.set_output(0, c.attr<DType>("dtype"), c.attr<Shape>("shape"));
         }));
  r.add(OpDefBuilder("Identity").inputs(1, 1).infer(unchanged_shape));
  r.add(OpDefBuilder("NoOp").infer([](InferenceContext&) {}));
  r.add(OpDefBuilder("Reshape").inputs(2, 2).defaults({{"Tshape", DType::kInt32}}).infer([](InferenceContext& c) {
           Shape in = c.input_shape(0);
           c.set_output(0, c.input_dtype(0), shape_from_const_input(c, 1, &in));
         }));
  r.add(OpDefBuilder("Fill").inputs(2, 2).defaults({{"index_type", DType::kInt32}}).infer([](InferenceContext& c) {
           if (c.input_shape(1).rank() > 0)
             throw c.invalid("value must be a scalar, got shape " + c.input_shape(1).to_string());
           c.set_output(0, c.input_dtype(1), shape_from_const_input(c, 0));
         }));
  r.add(OpDefBuilder("ZerosLike").inputs(1, 1).infer(unchanged_shape));
  r.add(OpDefBuilder("OnesLike").inputs(1, 1).infer(unchanged_shape));
  r.add(OpDefBuilder("Cast").inputs(1, 1).defaults({{"Truncate", false}}).infer([](InferenceContext& c) {
           c.expect_dtype(0, c.attr<DType>("SrcT"));
           c.set_output(0, c.attr<DType>("DstT"), c.input_shape(0));
         }));
  r.add(OpDefBuilder("Shape").inputs(1, 1).defaults({{"out_type", DType::kInt32}}).infer([](InferenceContext& c) {
           int_out_type(c);
           Shape in = c.input_shape(0);
           c.set_output(0, c.attr<DType>("out_type"), in.unknown_rank() ? Shape{-1} : Shape{in.rank()});
         }));
  r.add(OpDefBuilder("Size").inputs(1, 1).defaults({{"out_type", DType::kInt32}}).infer([](InferenceContext& c) {
           int_out_type(c);
           c.set_output(0, c.attr<DType>("out_type"), Shape{});
         }));
  r.add(OpDefBuilder("BroadcastTo").inputs(2, 2).defaults({{"Tidx", DType::kInt32}}).infer([](InferenceContext& c) {
           Shape target = shape_from_const_input(c, 1);
           if (target.fully_defined() && c.input_shape(0).fully_defined()) {
             Shape joined;
             try {
               joined = broadcast_shapes(c.input_shape(0), target);
             } catch (const InvalidArgumentError&) {
             }
             if (joined != target)
               throw c.invalid("Unable to broadcast tensor of shape " + c.input_shape(0).to_string() +
                               " to tensor of shape " + target.to_string());
           }
           c.set_output(0, c.input_dtype(0), target);
         }));
  r.add(OpDefBuilder("BroadcastGradientArgs").inputs(2, 2).infer([](InferenceContext& c) {
           c.expect_same_dtype(0, 1);
           if (c.input_dtype(0) != DType::kInt32 && c.input_dtype(0) != DType::kInt64)
             throw c.invalid(std::string("shapes must be int32 or int64, got ") + dtype_name(c.input_dtype(0)));
           c.set_output(0, c.input_dtype(0), Shape{-1});
           c.set_output(1, c.input_dtype(0), Shape{-1});
         }));
  register_array_gradients();
}

}  // namespace kiln

#include <gtest/gtest.h>

#include <kiln/kiln.h>

namespace kiln {
namespace {

TEST(Graph, UniqueNamesFollowTensorFlow) {
  Graph g;
  EXPECT_EQ(constant(g, 1.0f, "c").node->name(), "c");
  EXPECT_EQ(constant(g, 1.0f, "c").node->name(), "c_1");
  EXPECT_EQ(constant(g, 1.0f, "c").node->name(), "c_2");
  EXPECT_EQ(constant(g, 1.0f, "c_1").node->name(), "c_1_1");
  EXPECT_EQ(constant(g, 1.0f).node->name(), "Const");
  EXPECT_EQ(constant(g, 1.0f).node->name(), "Const_1");
}

TEST(Graph, NameScopes) {
  Graph g;
  {
    auto s = g.name_scope("layer");
    EXPECT_EQ(constant(g, 1.0f, "w").node->name(), "layer/w");
    {
      auto inner = g.name_scope("inner");
      EXPECT_EQ(constant(g, 1.0f, "w").node->name(), "layer/inner/w");
    }
  }
  {
    auto s = g.name_scope("layer");
    EXPECT_EQ(constant(g, 1.0f, "w").node->name(), "layer_1/w");
  }
  {
    auto s = g.name_scope("layer/");  // re-enter exactly
    EXPECT_EQ(constant(g, 1.0f, "w").node->name(), "layer/w_1");
  }
  EXPECT_EQ(g.current_name_scope(), "");
}

TEST(Graph, RandomNormalNamesAsTensorFlow) {
  Graph g;
  Output r = random_normal(g, {2, 3});
  EXPECT_EQ(r.name(), "random_normal:0");
  EXPECT_EQ(r.node->op(), "Add");
  EXPECT_NE(g.find_node("random_normal/RandomStandardNormal"), nullptr);
  EXPECT_NE(g.find_node("random_normal/mul"), nullptr);
  EXPECT_EQ(random_normal(g, {2}).name(), "random_normal_1:0");
  EXPECT_EQ(r.shape(), (Shape{2, 3}));
}

TEST(Graph, VariableBuildsTensorFlowNodes) {
  Graph g;
  Variable v(g, random_normal(g, {1, 2}), "v1");
  EXPECT_EQ(v.ref().name(), "v1:0");
  EXPECT_EQ(v.value().name(), "v1/read:0");
  EXPECT_EQ(v.initializer().name(), "v1/Assign");
  EXPECT_EQ(v.op().node->op(), "VariableV2");
  EXPECT_EQ(v.shape(), (Shape{1, 2}));
  EXPECT_EQ(g.variables(kGlobalVariables).size(), 1u);
  EXPECT_EQ(g.variables(kTrainableVariables).size(), 1u);
  Variable step(g, constant(g, int64_t{0}), "global_step", {.trainable = false});
  EXPECT_EQ(g.variables(kGlobalVariables).size(), 2u);
  EXPECT_EQ(g.variables(kTrainableVariables).size(), 1u);
  Operation init = global_variables_initializer(g);
  EXPECT_EQ(init.name(), "init");
  EXPECT_EQ(init.node->control_inputs().size(), 2u);
}

TEST(Graph, LookupByName) {
  Graph g;
  Variable v(g, zeros(g, {2}), "v1");
  EXPECT_EQ(g.get_tensor_by_name("v1:0"), v.ref());
  EXPECT_EQ(g.get_operation_by_name("v1/Assign").node, v.initializer().node);
  EXPECT_THROW(g.get_tensor_by_name("v3:0"), NotFoundError);
  EXPECT_THROW(g.get_tensor_by_name("v1:5"), NotFoundError);
  EXPECT_THROW(g.get_tensor_by_name("v1"), InvalidArgumentError);
  EXPECT_THROW(g.get_operation_by_name("v1:0"), InvalidArgumentError);
  EXPECT_THROW(g.get_operation_by_name("nope"), NotFoundError);
}

TEST(Graph, ControlDependenciesAndDeviceScopes) {
  Graph g;
  Operation a = no_op(g, "a");
  Output c;
  {
    auto deps = g.control_dependencies({a});
    auto dev = g.device("/cpu:0");
    c = constant(g, 1.0f, "c");
  }
  ASSERT_EQ(c.node->control_inputs().size(), 1u);
  EXPECT_EQ(c.node->control_inputs()[0], a.node);
  EXPECT_EQ(c.node->requested_device(), "/cpu:0");
  EXPECT_EQ(constant(g, 1.0f).node->requested_device(), "");
  EXPECT_THROW(g.device("/tpu:7"), InvalidArgumentError);
}

TEST(Graph, ShapeErrorsAtBuildTime) {
  Graph g;
  Output a = constant(g, Tensor(float32, Shape{2, 3}));
  Output b = constant(g, Tensor(float32, Shape{4, 5}));
  try {
    matmul(a, b);
    FAIL() << "expected InvalidArgumentError";
  } catch (const InvalidArgumentError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("[2,3]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[4,5]"), std::string::npos) << msg;
  }
  EXPECT_THROW(a + b, InvalidArgumentError);
  EXPECT_THROW(a + constant(g, Tensor(float64, Shape{2, 3})), InvalidArgumentError);
  Output bt = constant(g, Tensor(float32, Shape{4, 3}));
  EXPECT_EQ(matmul(a, bt, false, true).shape(), (Shape{2, 4}));
  EXPECT_THROW(matmul(a, bt), InvalidArgumentError);
}

TEST(Graph, RejectsForeignTensors) {
  Graph g1, g2;
  Output a = constant(g1, 1.0f);
  Output b = constant(g2, 1.0f);
  EXPECT_THROW(add(a, b), InvalidArgumentError);
}

TEST(Graph, SeedsFollowTensorFlowRules) {
  Graph g;
  EXPECT_EQ(g.seeds_for_op(std::nullopt), (std::pair<int64_t, int64_t>{0, 0}));
  EXPECT_EQ(g.seeds_for_op(5), (std::pair<int64_t, int64_t>{87654321, 5}));
  g.set_random_seed(1);
  EXPECT_EQ(g.seeds_for_op(7), (std::pair<int64_t, int64_t>{1, 7}));
  EXPECT_EQ(g.seeds_for_op(std::nullopt).first, 1);
  Graph z;
  z.set_random_seed(0);
  EXPECT_EQ(z.seeds_for_op(0), (std::pair<int64_t, int64_t>{0, 0x7fffffff}));
  // Both seeds are reduced modulo 2^31 - 1 as TF's _truncate_seed does (never negative).
  Graph big;
  big.set_random_seed(2147483647 + int64_t{5});
  EXPECT_EQ(big.seeds_for_op(-1), (std::pair<int64_t, int64_t>{5, 2147483646}));
  Graph edge;
  edge.set_random_seed(2147483647);
  EXPECT_EQ(edge.seeds_for_op(0), (std::pair<int64_t, int64_t>{0, 0x7fffffff}));
}

}  // namespace
}  // namespace kiln

// VariableV2 (through kiln::Variable and variable_v2), Assign (validate_shape), AssignAdd and
// AssignSub for float32/float64/int32/int64 and the 16-bit storage types.
#include "op_test_util.h"

namespace kiln_test {
namespace {

using kiln::FailedPreconditionError;
using kiln::InvalidArgumentError;

TEST(StateOps, VariableNodesAreNamedAsTf) {
  Graph g;
  auto v = kiln::Variable(g, kiln::constant(g, {1.0f, 2.0f}, Shape{2}), "v1");
  EXPECT_EQ(v.name(), "v1");
  EXPECT_EQ(v.op().node->op(), "VariableV2");
  EXPECT_EQ(v.initializer().name(), "v1/Assign");
  EXPECT_EQ(v.initializer().node->op(), "Assign");
  EXPECT_EQ(v.value().name(), "v1/read:0");
  EXPECT_EQ(v.value().node->op(), "Identity");
  EXPECT_EQ(v.ref().name(), "v1:0");
  EXPECT_EQ(v.dtype(), kiln::float32);
  EXPECT_EQ(v.shape(), Shape{2});
  auto w = kiln::Variable(g, kiln::constant(g, 1.0), "v1");
  EXPECT_EQ(w.name(), "v1_1");
  EXPECT_EQ(kiln::global_variables(g).size(), 2u);
  EXPECT_EQ(kiln::global_variables_initializer(g).name(), "init");
}

TEST(StateOps, VariableInitAndReadEveryDtype) {
  std::mt19937 gen(41);
  for (DType dtype : {kiln::float32, kiln::float64, kiln::int32, kiln::int64, kiln::float16, kiln::bfloat16})
    for (const Shape& shape : {Shape{}, Shape{3, 4}, Shape{0, 2}}) {
      SCOPED_TRACE(std::string(dname(dtype)) + " " + shape.to_string());
      Tensor t = random_tensor(gen, dtype, shape, nullptr, -100, 100);
      Graph g;
      auto v = kiln::Variable(g, kiln::constant(g, t), "v");
      auto init = kiln::global_variables_initializer(g);
      Session s(g, cpu_only());
      s.run(init);
      EXPECT_TRUE(BitEqual(s.run(v.value()), t));
      EXPECT_TRUE(BitEqual(s.run(v.ref()), t));
      EXPECT_TRUE(BitEqual(s.variable_value("v"), t));
    }
}

TEST(StateOps, UninitializedReadIsFailedPrecondition) {
  Graph g;
  auto v = kiln::Variable(g, kiln::constant(g, {1.0f}, Shape{1}), "w");
  Session s(g, cpu_only());
  EXPECT_TRUE(ThrowsWith<FailedPreconditionError>([&] { s.run(v.value()); }, {"w"}));
  Output add = v.assign_add(kiln::constant(g, {1.0f}, Shape{1}));
  EXPECT_TRUE(ThrowsWith<FailedPreconditionError>([&] { s.run(add); }, {"w"}));
}

TEST(StateOps, SessionsHoldIndependentValues) {
  Graph g;
  auto v = kiln::Variable(g, kiln::constant(g, {1.0, 2.0}, Shape{2}), "v");
  Output add = v.assign_add(kiln::constant(g, {10.0, 10.0}, Shape{2}));
  auto init = kiln::global_variables_initializer(g);
  Session a(g, cpu_only()), b(g, cpu_only());
  a.run(init);
  b.run(init);
  a.run(add);
  EXPECT_TRUE(AllClose(a.run(v.value()), kiln::float64, Shape{2}, {11, 12}, {}));
  EXPECT_TRUE(AllClose(b.run(v.value()), kiln::float64, Shape{2}, {1, 2}, {}));
}

TEST(StateOps, AssignAddSubAccumulate) {
  std::mt19937 gen(42);
  for (DType dtype : {kiln::float32, kiln::float64, kiln::int32, kiln::int64}) {
    SCOPED_TRACE(dname(dtype));
    bool integer = dtype == kiln::int32 || dtype == kiln::int64;
    std::vector<double> v0, d1, d2;
    Tensor t0 = random_tensor(gen, dtype, Shape{3, 5}, &v0, integer ? -100 : -2, integer ? 100 : 2);
    Tensor t1 = random_tensor(gen, dtype, Shape{3, 5}, &d1, integer ? -100 : -2, integer ? 100 : 2);
    Tensor t2 = random_tensor(gen, dtype, Shape{3, 5}, &d2, integer ? -100 : -2, integer ? 100 : 2);
    Graph g;
    auto v = kiln::Variable(g, kiln::constant(g, t0), "v");
    Output add = v.assign_add(kiln::constant(g, t1));
    Output sub = v.assign_sub(kiln::constant(g, t2));
    EXPECT_EQ(add.node->op(), "AssignAdd");
    EXPECT_EQ(sub.node->op(), "AssignSub");
    EXPECT_EQ(add.node->name(), "AssignAdd");
    EXPECT_EQ(add.shape(), (Shape{3, 5}));
    auto init = kiln::global_variables_initializer(g);
    Session s(g, cpu_only());
    s.run(init);
    std::vector<double> expected = v0;
    Tol tol = default_tol(dtype);
    tol.rtol *= 8;
    tol.atol *= 8;
    for (int step = 0; step < 3; ++step) {
      for (size_t i = 0; i < expected.size(); ++i) expected[i] += d1[i];
      EXPECT_TRUE(AllClose(s.run(add), dtype, Shape{3, 5}, expected, tol)) << "AssignAdd output, step " << step;
      for (size_t i = 0; i < expected.size(); ++i) expected[i] -= d2[i];
      EXPECT_TRUE(AllClose(s.run(sub), dtype, Shape{3, 5}, expected, tol)) << "AssignSub output, step " << step;
    }
    EXPECT_TRUE(AllClose(s.run(v.value()), dtype, Shape{3, 5}, expected, tol));
  }
}

TEST(StateOps, AssignReplacesValueEveryDtype) {
  std::mt19937 gen(43);
  for (DType dtype : {kiln::float32, kiln::float64, kiln::int32, kiln::int64, kiln::float16, kiln::bfloat16}) {
    SCOPED_TRACE(dname(dtype));
    Tensor t0 = random_tensor(gen, dtype, Shape{4}, nullptr, -50, 50);
    Tensor t1 = random_tensor(gen, dtype, Shape{4}, nullptr, -50, 50);
    Graph g;
    auto v = kiln::Variable(g, kiln::constant(g, t0), "v");
    Output p = kiln::placeholder(g, dtype, Shape{4});
    Output a = v.assign(p);
    EXPECT_EQ(a.node->op(), "Assign");
    auto init = kiln::global_variables_initializer(g);
    Session s(g, cpu_only());
    s.run(init);
    EXPECT_TRUE(BitEqual(s.run(a, {{p, t1}}), t1));
    EXPECT_TRUE(BitEqual(s.run(v.value()), t1));
  }
}

TEST(StateOps, VariableV2AndAssignBuilders) {
  Graph g;
  Output var = kiln::variable_v2(g, Shape{2, 2}, kiln::float32, "raw");
  EXPECT_EQ(var.node->op(), "VariableV2");
  EXPECT_EQ(var.shape(), (Shape{2, 2}));
  Output init = kiln::assign(var, kiln::constant(g, {1.0f, 2.0f, 3.0f, 4.0f}, Shape{2, 2}));
  Output inc = kiln::assign_add(var, kiln::constant(g, {1.0f, 1.0f, 1.0f, 1.0f}, Shape{2, 2}));
  Output dec = kiln::assign_sub(var, kiln::constant(g, {0.5f, 0.5f, 0.5f, 0.5f}, Shape{2, 2}));
  Session s(g, cpu_only());
  EXPECT_THROW(s.run(var), FailedPreconditionError);
  s.run(init);
  s.run(inc);
  EXPECT_TRUE(AllClose(s.run(dec), kiln::float32, Shape{2, 2}, {1.5, 2.5, 3.5, 4.5}, {}));
  EXPECT_TRUE(AllClose(s.run(var), kiln::float32, Shape{2, 2}, {1.5, 2.5, 3.5, 4.5}, {}));
}

TEST(StateOps, AssignRequiresAVariableReference) {
  Graph g;
  Output c = kiln::constant(g, 1.0f);
  EXPECT_THROW(kiln::assign(c, kiln::constant(g, 2.0f)), InvalidArgumentError);
  EXPECT_THROW(kiln::assign_add(c, kiln::constant(g, 2.0f)), InvalidArgumentError);
}

TEST(StateOps, AssignValidateShapeAtBuildTime) {
  Graph g;
  Output var = kiln::variable_v2(g, Shape{2, 2}, kiln::float32, "v");
  Output bad = kiln::constant(g, Tensor(kiln::float32, Shape{3}));
  EXPECT_THROW(kiln::assign(var, bad, /*validate_shape=*/true), InvalidArgumentError);
  EXPECT_THROW(kiln::assign_add(var, bad), InvalidArgumentError);
  EXPECT_THROW(kiln::assign(var, kiln::constant(g, Tensor(kiln::float64, Shape{2, 2}))), InvalidArgumentError);
  // validate_shape=false: the variable takes the value's shape.
  Output ok = kiln::assign(var, kiln::constant(g, {1.0f, 2.0f, 3.0f}, Shape{3}), /*validate_shape=*/false);
  EXPECT_EQ(ok.shape(), Shape{3});
  Session s(g, cpu_only());
  EXPECT_TRUE(AllClose(s.run(ok), kiln::float32, Shape{3}, {1, 2, 3}, {}));
  EXPECT_TRUE(AllClose(s.run(var), kiln::float32, Shape{3}, {1, 2, 3}, {}));
}

TEST(StateOps, AssignValidateShapeAtRunTime) {
  Graph g;
  auto v = kiln::Variable(g, kiln::constant(g, {1.0f, 2.0f}, Shape{2}), "v");
  Output p = kiln::placeholder(g, kiln::float32);  // unknown shape: checked when run
  Output strict = kiln::assign(v.ref(), p, true, "strict");
  Output loose = kiln::assign(v.ref(), p, false, "loose");
  auto init = kiln::global_variables_initializer(g);
  Session s(g, cpu_only());
  s.run(init);
  Tensor three = Tensor::of<float>({7, 8, 9}, Shape{3});
  EXPECT_TRUE(ThrowsWith<InvalidArgumentError>([&] { s.run(strict, {{p, three}}); }, {}));
  EXPECT_TRUE(AllClose(s.run(v.value()), kiln::float32, Shape{2}, {1, 2}, {})) << "failed Assign left the value";
  EXPECT_TRUE(AllClose(s.run(loose, {{p, three}}), kiln::float32, Shape{3}, {7, 8, 9}, {}));
  EXPECT_TRUE(AllClose(s.run(v.value()), kiln::float32, Shape{3}, {7, 8, 9}, {}));
}

TEST(StateOps, FetchedValuesDoNotChangeUnderLaterUpdates) {
  Graph g;
  auto v = kiln::Variable(g, kiln::constant(g, {1.0f, 2.0f, 3.0f}, Shape{3}), "v");
  Output add = v.assign_add(kiln::constant(g, {1.0f, 1.0f, 1.0f}, Shape{3}));
  Output set = v.assign(kiln::constant(g, {0.0f, 0.0f, 0.0f}, Shape{3}));
  auto init = kiln::global_variables_initializer(g);
  Session s(g, cpu_only());
  s.run(init);
  Tensor before = s.run(v.value());
  Tensor ref_before = s.run(v.ref());
  Tensor after_add = s.run(add);
  s.run(add);
  s.run(set);
  EXPECT_TRUE(AllClose(before, kiln::float32, Shape{3}, {1, 2, 3}, {}));
  EXPECT_TRUE(AllClose(ref_before, kiln::float32, Shape{3}, {1, 2, 3}, {}));
  EXPECT_TRUE(AllClose(after_add, kiln::float32, Shape{3}, {2, 3, 4}, {}));
  EXPECT_TRUE(AllClose(s.run(v.value()), kiln::float32, Shape{3}, {0, 0, 0}, {}));
}

TEST(StateOps, AssignAddOfScalarAndZeroSize) {
  Graph g;
  auto s0 = kiln::Variable(g, kiln::constant(g, int64_t{5}), "counter");
  Output inc = s0.assign_add(kiln::constant(g, int64_t{1}));
  auto e = kiln::Variable(g, kiln::constant(g, Tensor(kiln::float32, Shape{0, 3})), "empty");
  Output einc = e.assign_add(kiln::constant(g, Tensor(kiln::float32, Shape{0, 3})));
  auto init = kiln::global_variables_initializer(g);
  Session s(g, cpu_only());
  s.run(init);
  for (int i = 0; i < 4; ++i) s.run(inc);
  EXPECT_EQ(s.run(s0.value()).item<int64_t>(), 9);
  EXPECT_TRUE(AllClose(s.run(einc), kiln::float32, Shape{0, 3}, {}, {}));
}

TEST(StateOps, VariableFromRandomInitializerIsStableAcrossReads) {
  Graph g;
  g.set_random_seed(7);
  auto v = kiln::Variable(g, kiln::random_normal(g, {3, 3}), "v");
  auto init = kiln::global_variables_initializer(g);
  Session s(g, cpu_only());
  s.run(init);
  Tensor a = s.run(v.value()), b = s.run(v.value());
  EXPECT_TRUE(BitEqual(a, b));
  s.run(init);  // re-initializing draws fresh values
  EXPECT_FALSE(BitEqual(s.run(v.value()), a));
}

}  // namespace
}  // namespace kiln_test

// Math ops against double-precision references: the broadcasting binary ops (Add, AddV2, Sub,
// Mul, RealDiv, Maximum), the unary ops (Neg, Square, Sqrt, Exp, Log) and MatMul, on float32 and
// float64 (int32/int64 where TF has integer kernels), scalars and zero-size tensors included.
#include "op_test_util.h"

namespace kiln_test {
namespace {

using kiln::InvalidArgumentError;

struct BinaryCase {
  const char* name;
  std::function<Output(Output, Output)> build;
  std::function<double(double, double)> ref;
  bool divisor_nonzero;
};

std::vector<BinaryCase> binary_cases() {
  return {
      {"Add", [](Output a, Output b) { return kiln::add(a, b); }, [](double a, double b) { return a + b; }, false},
      {"AddV2", [](Output a, Output b) { return kiln::add_v2(a, b); }, [](double a, double b) { return a + b; }, false},
      {"Sub", [](Output a, Output b) { return kiln::subtract(a, b); }, [](double a, double b) { return a - b; }, false},
      {"Mul", [](Output a, Output b) { return kiln::multiply(a, b); }, [](double a, double b) { return a * b; }, false},
      {"RealDiv", [](Output a, Output b) { return kiln::divide(a, b); }, [](double a, double b) { return a / b; }, true},
      {"Maximum", [](Output a, Output b) { return kiln::maximum(a, b); },
       [](double a, double b) { return std::max(a, b); }, false},
  };
}

// Shape pairs every binary op is tested on: same shape, numpy broadcasting, scalars both ways and
// zero-size tensors.
std::vector<std::pair<Shape, Shape>> broadcast_pairs() {
  return {
      {Shape{5, 7}, Shape{5, 7}}, {Shape{2, 3}, Shape{3}},       {Shape{3}, Shape{2, 3}},
      {Shape{2, 1}, Shape{1, 3}}, {Shape{4, 1, 3}, Shape{2, 1}}, {Shape{}, Shape{2, 3}},
      {Shape{2, 3}, Shape{}},     {Shape{}, Shape{}},            {Shape{0, 3}, Shape{3}},
      {Shape{0, 3}, Shape{1, 3}}, {Shape{2, 0}, Shape{}},        {Shape{1}, Shape{3, 1, 2}},
  };
}

void check_binary(DType dtype, const BinaryCase& op, const Shape& sa, const Shape& sb, std::mt19937& gen) {
  SCOPED_TRACE(std::string(op.name) + " " + dname(dtype) + " " + sa.to_string() + " x " + sb.to_string());
  bool integer = dtype == kiln::int32 || dtype == kiln::int64;
  double lo = integer ? -50 : -2, hi = integer ? 50 : 2;
  std::vector<double> va, vb;
  Tensor ta = random_tensor(gen, dtype, sa, &va, lo, hi);
  Tensor tb = random_tensor(gen, dtype, sb, &vb, lo, hi, op.divisor_nonzero ? (integer ? 1 : 0.25) : 0);
  Graph g;
  Output a = kiln::constant(g, ta), b = kiln::constant(g, tb);
  Output y = op.build(a, b);
  EXPECT_EQ(y.node->op(), op.name);
  Shape expected_shape;
  auto f = op.ref;
  if (integer && std::string(op.name) == "RealDiv")  // integer division truncates toward zero
    f = [](double x, double d) { return std::trunc(x / d); };
  std::vector<double> expected = ref_binary(va, sa, vb, sb, f, &expected_shape);
  EXPECT_EQ(y.shape(), expected_shape) << "inferred shape";
  EXPECT_EQ(y.dtype(), dtype);
  Tol tol = default_tol(dtype);
  if (dtype == kiln::float32) tol = {1.2e-7 * 2, 1e-7};  // one rounding of the float result
  EXPECT_TRUE(AllClose(run_cpu(g, y), dtype, expected_shape, expected, tol));
}

TEST(MathOps, BinaryFloatBroadcast) {
  std::mt19937 gen(1);
  for (DType dtype : {kiln::float32, kiln::float64})
    for (const auto& op : binary_cases())
      for (const auto& [sa, sb] : broadcast_pairs()) check_binary(dtype, op, sa, sb, gen);
}

TEST(MathOps, BinaryIntegerBroadcast) {
  std::mt19937 gen(2);
  for (DType dtype : {kiln::int32, kiln::int64})
    for (const auto& op : binary_cases())
      for (const auto& [sa, sb] : broadcast_pairs()) check_binary(dtype, op, sa, sb, gen);
}

TEST(MathOps, IntegerDivisionTruncatesTowardZero) {
  Graph g;
  Output a = kiln::constant(g, {7, -7, 7, -7, 0, 9}, Shape{6});
  Output b = kiln::constant(g, {2, 2, -2, -2, 3, 3}, Shape{6});
  Output y = kiln::divide(a, b);
  EXPECT_TRUE(AllClose(run_cpu(g, y), kiln::int32, Shape{6}, {3, -3, -3, 3, 0, 3}, {}));
}

TEST(MathOps, IntegerDivisionByZeroIsInvalidArgumentOnCpu) {
  Graph g;
  Output a = kiln::constant(g, {7, 8}, Shape{2});
  Output b = kiln::constant(g, {1, 0}, Shape{2});
  Output y = kiln::divide(a, b);
  EXPECT_TRUE(ThrowsWith<InvalidArgumentError>([&] { run_cpu(g, y); }, {}));
}

TEST(MathOps, Int64LargeValues) {
  // Values past 2^53 must not go through double.
  Graph g;
  int64_t big = (int64_t{1} << 60) + 1;
  Output a = kiln::constant(g, Tensor::of<int64_t>({big, -big}, Shape{2}));
  Output b = kiln::constant(g, Tensor::of<int64_t>({2, 3}, Shape{2}));
  auto sum = run_cpu(g, kiln::add(a, b)).to_vector<int64_t>();
  EXPECT_EQ(sum, (std::vector<int64_t>{big + 2, -big + 3}));
  auto mx = run_cpu(g, kiln::maximum(a, b)).to_vector<int64_t>();
  EXPECT_EQ(mx, (std::vector<int64_t>{big, 3}));
}

TEST(MathOps, OperatorsWithScalars) {
  std::mt19937 gen(3);
  for (DType dtype : {kiln::float32, kiln::float64}) {
    SCOPED_TRACE(dname(dtype));
    std::vector<double> v;
    Tensor t = random_tensor(gen, dtype, Shape{3, 4}, &v, 0.5, 2);
    Graph g;
    Output x = kiln::constant(g, t);
    Output sum = x + 2.5, rsub = 2.5 - x, mul = 3.0 * x, div = x / 4.0, rdiv = 1.0 / x, neg = -x;
    Output both = x * x - x;
    EXPECT_EQ(sum.node->name(), "add");
    EXPECT_EQ(rsub.node->name(), "sub");
    EXPECT_EQ(mul.node->name(), "mul");
    EXPECT_EQ(div.node->name(), "truediv");
    EXPECT_EQ(rdiv.node->op(), "RealDiv");
    EXPECT_EQ(sum.dtype(), dtype) << "scalar constants take the tensor's dtype";
    Session s(g, cpu_only());
    auto out = s.run({sum, rsub, mul, div, rdiv, neg, both});
    auto map = [&](std::function<double(double)> f) {
      std::vector<double> r;
      for (double e : v) r.push_back(f(e));
      return r;
    };
    Tol tol = default_tol(dtype);
    EXPECT_TRUE(AllClose(out[0], dtype, Shape{3, 4}, map([](double e) { return e + 2.5; }), tol));
    EXPECT_TRUE(AllClose(out[1], dtype, Shape{3, 4}, map([](double e) { return 2.5 - e; }), tol));
    EXPECT_TRUE(AllClose(out[2], dtype, Shape{3, 4}, map([](double e) { return 3 * e; }), tol));
    EXPECT_TRUE(AllClose(out[3], dtype, Shape{3, 4}, map([](double e) { return e / 4; }), tol));
    EXPECT_TRUE(AllClose(out[4], dtype, Shape{3, 4}, map([](double e) { return 1 / e; }), tol));
    EXPECT_TRUE(AllClose(out[5], dtype, Shape{3, 4}, map([](double e) { return -e; }), tol));
    EXPECT_TRUE(AllClose(out[6], dtype, Shape{3, 4}, map([](double e) { return e * e - e; }),
                         {tol.rtol * 4, tol.atol * 4}));
  }
}

TEST(MathOps, MaximumPicksLargerIncludingNegatives) {
  Graph g;
  Output a = kiln::constant(g, {-1.0f, 2.0f, -3.0f, 0.0f}, Shape{4});
  Output b = kiln::constant(g, {-2.0f, 3.0f, -3.0f, -0.5f}, Shape{4});
  EXPECT_TRUE(AllClose(run_cpu(g, kiln::maximum(a, b)), kiln::float32, Shape{4}, {-1, 3, -3, 0}, {}));
}

TEST(MathOps, NonBroadcastableShapesThrowAtBuildTime) {
  for (const auto& op : binary_cases()) {
    for (const auto& [sa, sb] : std::vector<std::pair<Shape, Shape>>{
             {Shape{2, 3}, Shape{4}}, {Shape{2, 3}, Shape{3, 2}}, {Shape{4, 1, 3}, Shape{2, 2}}, {Shape{0, 3}, Shape{2, 3}}}) {
      SCOPED_TRACE(std::string(op.name) + " " + sa.to_string() + " x " + sb.to_string());
      Graph g;
      Output a = kiln::constant(g, make_tensor(kiln::float32, sa, std::vector<double>(num_elements(sa), 1.0)));
      Output b = kiln::constant(g, make_tensor(kiln::float32, sb, std::vector<double>(num_elements(sb), 1.0)));
      try {
        op.build(a, b);
        ADD_FAILURE() << "no exception at graph construction";
      } catch (const InvalidArgumentError& e) {
        EXPECT_TRUE(mentions_shape(e.what(), sa)) << e.what();
        EXPECT_TRUE(mentions_shape(e.what(), sb)) << e.what();
      } catch (const std::exception& e) {
        ADD_FAILURE() << "wrong exception type: " << e.what();
      }
    }
  }
}

TEST(MathOps, MismatchedDtypesThrowAtBuildTime) {
  Graph g;
  Output a = kiln::constant(g, {1.0f, 2.0f}, Shape{2});
  Output b = kiln::constant(g, {1.0, 2.0}, Shape{2});
  EXPECT_THROW(kiln::add(a, b), InvalidArgumentError);
}

TEST(MathOps, BroadcastWithPlaceholderOfUnknownDims) {
  std::mt19937 gen(4);
  Graph g;
  Output p = kiln::placeholder(g, kiln::float32, Shape{-1, 3});
  std::vector<double> vb;
  Tensor tb = random_tensor(gen, kiln::float32, Shape{3}, &vb);
  Output y = kiln::add(p, kiln::constant(g, tb));
  std::vector<double> va;
  Tensor ta = random_tensor(gen, kiln::float32, Shape{4, 3}, &va);
  Shape es;
  auto expected = ref_binary(va, Shape{4, 3}, vb, Shape{3}, [](double x, double z) { return x + z; }, &es);
  EXPECT_TRUE(AllClose(run_cpu(g, y, {{p, ta}}), kiln::float32, es, expected, {3e-7, 1e-7}));
}

// ---- unary ----------------------------------------------------------------------------------------

struct UnaryCase {
  const char* name;
  std::function<Output(Output)> build;
  std::function<double(double)> ref;
  double lo, hi;
  bool integer_ok;
};

std::vector<UnaryCase> unary_cases() {
  return {
      {"Neg", [](Output x) { return kiln::negative(x); }, [](double x) { return -x; }, -3, 3, true},
      {"Square", [](Output x) { return kiln::square(x); }, [](double x) { return x * x; }, -3, 3, true},
      {"Sqrt", [](Output x) { return kiln::sqrt(x); }, [](double x) { return std::sqrt(x); }, 0, 9, false},
      {"Exp", [](Output x) { return kiln::exp(x); }, [](double x) { return std::exp(x); }, -10, 10, false},
      {"Log", [](Output x) { return kiln::log(x); }, [](double x) { return std::log(x); }, 1e-3, 100, false},
  };
}

TEST(MathOps, UnaryFloat) {
  std::mt19937 gen(5);
  for (DType dtype : {kiln::float32, kiln::float64})
    for (const auto& op : unary_cases())
      for (const Shape& shape : {Shape{}, Shape{7}, Shape{3, 5}, Shape{2, 3, 4}, Shape{0, 3}, Shape{0}}) {
        SCOPED_TRACE(std::string(op.name) + " " + dname(dtype) + " " + shape.to_string());
        std::vector<double> v;
        Tensor t = random_tensor(gen, dtype, shape, &v, op.lo, op.hi);
        Graph g;
        Output y = op.build(kiln::constant(g, t));
        EXPECT_EQ(y.node->op(), op.name);
        EXPECT_EQ(y.shape(), shape);
        std::vector<double> expected;
        for (double e : v) expected.push_back(op.ref(e));
        Tol tol = dtype == kiln::float32 ? Tol{1e-6, 1e-30} : Tol{1e-14, 1e-300};
        EXPECT_TRUE(AllClose(run_cpu(g, y), dtype, shape, expected, tol));
      }
}

TEST(MathOps, UnaryInteger) {
  std::mt19937 gen(6);
  for (DType dtype : {kiln::int32, kiln::int64})
    for (const auto& op : unary_cases()) {
      if (!op.integer_ok) continue;
      for (const Shape& shape : {Shape{}, Shape{9}, Shape{0, 2}}) {
        SCOPED_TRACE(std::string(op.name) + " " + dname(dtype) + " " + shape.to_string());
        std::vector<double> v;
        Tensor t = random_tensor(gen, dtype, shape, &v, -1000, 1000);
        Graph g;
        Output y = op.build(kiln::constant(g, t));
        std::vector<double> expected;
        for (double e : v) expected.push_back(op.ref(e));
        EXPECT_TRUE(AllClose(run_cpu(g, y), dtype, shape, expected, {}));
      }
    }
}

TEST(MathOps, UnarySpecialValues) {
  Graph g;
  Output x = kiln::constant(g, {0.0f, -1.0f, 100.0f, -200.0f}, Shape{4});
  Session s(g, cpu_only());
  auto out = s.run({kiln::sqrt(x), kiln::log(x), kiln::exp(x)});
  const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  EXPECT_TRUE(AllClose(out[0], kiln::float32, Shape{4}, {0, nan, 10, nan}, {1e-6, 0}));
  EXPECT_TRUE(AllClose(out[1], kiln::float32, Shape{4}, {-inf, nan, std::log(100.0), nan}, {1e-6, 0}));
  EXPECT_TRUE(AllClose(out[2], kiln::float32, Shape{4}, {1, std::exp(-1.0), inf, 0}, {1e-6, 1e-38}));
}

TEST(MathOps, FloatOnlyUnaryRejectsIntegers) {
  Graph g;
  Output x = kiln::constant(g, {1, 4}, Shape{2});
  EXPECT_THROW(kiln::sqrt(x), InvalidArgumentError);
  EXPECT_THROW(kiln::exp(x), InvalidArgumentError);
  EXPECT_THROW(kiln::log(x), InvalidArgumentError);
}

// ---- MatMul ---------------------------------------------------------------------------------------

void check_matmul(DType dtype, int64_t m, int64_t k, int64_t n, bool ta, bool tb, std::mt19937& gen) {
  SCOPED_TRACE(std::string(dname(dtype)) + " m=" + std::to_string(m) + " k=" + std::to_string(k) +
               " n=" + std::to_string(n) + " ta=" + std::to_string(ta) + " tb=" + std::to_string(tb));
  Shape sa = ta ? Shape{k, m} : Shape{m, k};
  Shape sb = tb ? Shape{n, k} : Shape{k, n};
  std::vector<double> va, vb;
  Tensor a = random_tensor(gen, dtype, sa, &va, -1, 1);
  Tensor b = random_tensor(gen, dtype, sb, &vb, -1, 1);
  Graph g;
  Output y = kiln::matmul(kiln::constant(g, a), kiln::constant(g, b), ta, tb);
  Shape es;
  std::vector<double> expected = ref_matmul(va, sa, vb, sb, ta, tb, &es);
  EXPECT_EQ(y.shape(), es);
  // |error| <= k * eps * sum |a||b| <= k * eps * k for inputs in [-1, 1].
  double eps = dtype == kiln::float32 ? 1.2e-7 : 2.3e-16;
  Tol tol{0, 2 * eps * std::max<int64_t>(k, 1) * std::max<double>(std::sqrt(double(k)), 1.0)};
  EXPECT_TRUE(AllClose(run_cpu(g, y), dtype, es, expected, tol));
}

TEST(MathOps, MatMulAllTransposes) {
  std::mt19937 gen(7);
  for (DType dtype : {kiln::float32, kiln::float64})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        check_matmul(dtype, 3, 4, 5, ta, tb, gen);
        check_matmul(dtype, 37, 53, 29, ta, tb, gen);
        check_matmul(dtype, 1, 1, 1, ta, tb, gen);
        check_matmul(dtype, 1, 64, 1, ta, tb, gen);
      }
}

TEST(MathOps, MatMulZeroSize) {
  std::mt19937 gen(8);
  for (DType dtype : {kiln::float32, kiln::float64})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        check_matmul(dtype, 3, 0, 4, ta, tb, gen);  // k = 0: zeros
        check_matmul(dtype, 0, 5, 4, ta, tb, gen);
        check_matmul(dtype, 3, 5, 0, ta, tb, gen);
        check_matmul(dtype, 0, 0, 0, ta, tb, gen);
      }
}

TEST(MathOps, MatMulKZeroGivesZerosNotGarbage) {
  Graph g;
  Output a = kiln::constant(g, Tensor(kiln::float32, Shape{64, 0}));
  Output b = kiln::constant(g, Tensor(kiln::float32, Shape{0, 64}));
  Tensor y = run_cpu(g, kiln::matmul(a, b));
  EXPECT_TRUE(AllClose(y, kiln::float32, Shape{64, 64}, std::vector<double>(64 * 64, 0.0), {}));
}

TEST(MathOps, MatMulIncompatibleShapesThrowAtBuildTime) {
  struct C { Shape a, b; bool ta, tb; };
  for (const C& c : {C{Shape{2, 3}, Shape{4, 5}, false, false}, C{Shape{2, 3}, Shape{2, 3}, false, false},
                     C{Shape{3, 2}, Shape{3, 2}, true, true}, C{Shape{2, 3}, Shape{5, 4}, false, true}}) {
    SCOPED_TRACE(c.a.to_string() + " x " + c.b.to_string());
    Graph g;
    Output a = kiln::constant(g, make_tensor(kiln::float32, c.a, std::vector<double>(num_elements(c.a), 1)));
    Output b = kiln::constant(g, make_tensor(kiln::float32, c.b, std::vector<double>(num_elements(c.b), 1)));
    try {
      kiln::matmul(a, b, c.ta, c.tb);
      ADD_FAILURE() << "no exception at graph construction";
    } catch (const InvalidArgumentError& e) {
      EXPECT_TRUE(mentions_shape(e.what(), c.a)) << e.what();
      EXPECT_TRUE(mentions_shape(e.what(), c.b)) << e.what();
    }
  }
}

TEST(MathOps, MatMulRejectsNonMatricesAtBuildTime) {
  Graph g;
  Output a = kiln::constant(g, {1.0f, 2.0f, 3.0f}, Shape{3});
  Output b = kiln::constant(g, {1.0f, 2.0f, 3.0f}, Shape{3, 1});
  EXPECT_THROW(kiln::matmul(a, b), InvalidArgumentError);
}

TEST(MathOps, MatMulRuntimeShapeCheckWithPlaceholders) {
  Graph g;
  Output a = kiln::placeholder(g, kiln::float32, Shape{-1, -1});
  Output b = kiln::placeholder(g, kiln::float32, Shape{-1, -1});
  Output y = kiln::matmul(a, b);
  Tensor ta = make_tensor(kiln::float32, Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor tb = make_tensor(kiln::float32, Shape{2, 2}, {1, 2, 3, 4});
  EXPECT_THROW(run_cpu(g, y, {{a, ta}, {b, tb}}), InvalidArgumentError);
  Tensor tc = make_tensor(kiln::float32, Shape{3, 1}, {1, 1, 1});
  EXPECT_TRUE(AllClose(run_cpu(g, y, {{a, ta}, {b, tc}}), kiln::float32, Shape{2, 1}, {6, 15}, {}));
}

TEST(MathOps, MatMulIntegerOnCpu) {
  std::mt19937 gen(9);
  for (DType dtype : {kiln::int32, kiln::int64}) {
    SCOPED_TRACE(dname(dtype));
    std::vector<double> va, vb;
    Tensor a = random_tensor(gen, dtype, Shape{5, 7}, &va, -20, 20);
    Tensor b = random_tensor(gen, dtype, Shape{7, 3}, &vb, -20, 20);
    Graph g;
    Output y = kiln::matmul(kiln::constant(g, a), kiln::constant(g, b));
    Shape es;
    auto expected = ref_matmul(va, Shape{5, 7}, vb, Shape{7, 3}, false, false, &es);
    EXPECT_TRUE(AllClose(run_cpu(g, y), dtype, es, expected, {}));
  }
}

TEST(MathOps, LargeBroadcastOnCpu) {
  std::mt19937 gen(10);
  std::vector<double> va, vb;
  Tensor a = random_tensor(gen, kiln::float32, Shape{1000, 1}, &va);
  Tensor b = random_tensor(gen, kiln::float32, Shape{1, 1001}, &vb);
  Graph g;
  Output y = kiln::multiply(kiln::constant(g, a), kiln::constant(g, b));
  Shape es;
  auto expected = ref_binary(va, Shape{1000, 1}, vb, Shape{1, 1001}, [](double x, double z) { return x * z; }, &es);
  EXPECT_TRUE(AllClose(run_cpu(g, y), kiln::float32, es, expected, {2.4e-7, 1e-30}));
}

}  // namespace
}  // namespace kiln_test

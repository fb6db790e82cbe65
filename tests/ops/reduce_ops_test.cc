// Sum, Mean and Max against plain-loop double references: every axis list of rank 1-4 inputs
// (negative axes, separated axes such as {0, 2}, all axes), keep_dims, scalars and zero-size
// inputs (a sum over an empty axis is 0).
#include "op_test_util.h"

namespace kiln_test {
namespace {

using kiln::InvalidArgumentError;

Output build_reduce(RefReduce op, Output x, const std::vector<int64_t>& axes, bool keep) {
  switch (op) {
    case RefReduce::kSum: return kiln::reduce_sum(x, axes, keep);
    case RefReduce::kMean: return kiln::reduce_mean(x, axes, keep);
    default: return kiln::reduce_max(x, axes, keep);
  }
}
const char* op_name(RefReduce op) {
  return op == RefReduce::kSum ? "Sum" : op == RefReduce::kMean ? "Mean" : "Max";
}

std::string axes_string(const std::vector<int64_t>& axes) {
  std::string s = "{";
  for (size_t i = 0; i < axes.size(); ++i) s += (i ? "," : "") + std::to_string(axes[i]);
  return s + "}";
}

void check_reduce(DType dtype, RefReduce op, const Shape& shape, const std::vector<int64_t>& axes,
                  bool keep, std::mt19937& gen) {
  SCOPED_TRACE(std::string(op_name(op)) + " " + dname(dtype) + " " + shape.to_string() + " axes " +
               axes_string(axes) + (keep ? " keep_dims" : ""));
  bool integer = dtype == kiln::int32 || dtype == kiln::int64;
  std::vector<double> v;
  Tensor t = random_tensor(gen, dtype, shape, &v, integer ? -100 : -2, integer ? 100 : 2);
  Graph g;
  Output y = build_reduce(op, kiln::constant(g, t), axes, keep);
  EXPECT_EQ(y.node->op(), op_name(op));
  Shape es;
  std::vector<double> expected = ref_reduce(v, shape, axes, op, keep, &es);
  if (integer && op == RefReduce::kMean)
    for (double& e : expected) e = std::trunc(e);  // integer mean truncates (TF divides ints)
  EXPECT_EQ(y.shape(), es) << "inferred shape";
  int64_t n = num_elements(shape), reduced = 1;
  for (double e : expected) (void)e;
  reduced = num_elements(es) ? n / std::max<int64_t>(num_elements(es), 1) : 1;
  Tol tol = default_tol(dtype);
  if (dtype == kiln::float32) tol = {2e-6, 1.2e-7 * 2.0 * std::max<int64_t>(reduced, 1)};
  if (dtype == kiln::float64) tol = {1e-13, 2.3e-16 * 2.0 * std::max<int64_t>(reduced, 1)};
  EXPECT_TRUE(AllClose(run_cpu(g, y), dtype, es, expected, tol));
}

std::vector<std::pair<Shape, std::vector<std::vector<int64_t>>>> axis_cases() {
  return {
      {Shape{7}, {{}, {0}, {-1}}},
      {Shape{4, 5}, {{}, {0}, {1}, {-1}, {-2}, {0, 1}, {1, 0}, {-1, 0}}},
      {Shape{3, 4, 5}, {{}, {0}, {1}, {2}, {-1}, {0, 2}, {-3, -1}, {2, 0}, {0, 1}, {1, 2}, {0, 1, 2}}},
      {Shape{2, 3, 4, 5}, {{0, 2}, {1, 3}, {0, 3}, {-4, -2}, {0, 1, 3}, {1, 2}, {3}}},
      {Shape{3, 1, 4}, {{1}, {0, 1}, {1, 2}, {0, 2}}},  // size-1 dims
      {Shape{1, 1}, {{0}, {1}, {}}},
      {Shape{257, 3}, {{0}, {1}}},  // longer reductions
      {Shape{}, {{}}},              // scalar: identity
  };
}

TEST(ReduceOps, FloatAllAxisLists) {
  std::mt19937 gen(11);
  for (DType dtype : {kiln::float32, kiln::float64})
    for (RefReduce op : {RefReduce::kSum, RefReduce::kMean, RefReduce::kMax})
      for (const auto& [shape, axes_list] : axis_cases())
        for (const auto& axes : axes_list)
          for (bool keep : {false, true}) check_reduce(dtype, op, shape, axes, keep, gen);
}

TEST(ReduceOps, IntegerAllAxisLists) {
  std::mt19937 gen(12);
  for (DType dtype : {kiln::int32, kiln::int64})
    for (RefReduce op : {RefReduce::kSum, RefReduce::kMax, RefReduce::kMean})
      for (const auto& [shape, axes_list] : axis_cases())
        for (const auto& axes : axes_list) check_reduce(dtype, op, shape, axes, false, gen);
}

TEST(ReduceOps, LargeSumIsAccurate) {
  // 1e5 float32 values: a naive float accumulator loses ~1e-3 relative here; TF/Eigen do not.
  std::mt19937 gen(13);
  std::vector<double> v;
  Tensor t = random_tensor(gen, kiln::float32, Shape{100000}, &v, 0, 1);
  Graph g;
  Output y = kiln::reduce_sum(kiln::constant(g, t));
  double ref = 0;
  for (double e : v) ref += e;
  EXPECT_TRUE(AllClose(run_cpu(g, y), kiln::float32, Shape{}, {ref}, {1e-5, 0}));
}

TEST(ReduceOps, SumOverEmptyAxisIsZero) {
  for (DType dtype : {kiln::float32, kiln::float64, kiln::int32, kiln::int64}) {
    SCOPED_TRACE(dname(dtype));
    Graph g;
    Output x = kiln::constant(g, Tensor(dtype, Shape{0, 3}));
    Session s(g, cpu_only());
    auto out = s.run({kiln::reduce_sum(x, {0}), kiln::reduce_sum(x, {0}, true), kiln::reduce_sum(x),
                      kiln::reduce_sum(x, {1}), kiln::reduce_max(x, {1})});
    EXPECT_TRUE(AllClose(out[0], dtype, Shape{3}, {0, 0, 0}, {}));
    EXPECT_TRUE(AllClose(out[1], dtype, Shape{1, 3}, {0, 0, 0}, {}));
    EXPECT_TRUE(AllClose(out[2], dtype, Shape{}, {0}, {}));
    EXPECT_TRUE(AllClose(out[3], dtype, Shape{0}, {}, {}));
    EXPECT_TRUE(AllClose(out[4], dtype, Shape{0}, {}, {}));
  }
}

TEST(ReduceOps, MeanAndMaxOverEmptyAxis) {
  // TF: the mean of nothing is NaN; the max of nothing is the lowest value (-inf for floats in
  // TF; -FLT_MAX is accepted too since Eigen's identity is NumTraits::lowest()).
  for (DType dtype : {kiln::float32, kiln::float64}) {
    SCOPED_TRACE(dname(dtype));
    Graph g;
    Output x = kiln::constant(g, Tensor(dtype, Shape{0, 2}));
    Session s(g, cpu_only());
    auto out = s.run({kiln::reduce_mean(x, {0}), kiln::reduce_max(x, {0})});
    auto mean = to_doubles(out[0]);
    auto mx = to_doubles(out[1]);
    ASSERT_EQ(mean.size(), 2u);
    ASSERT_EQ(mx.size(), 2u);
    for (double m : mean) EXPECT_TRUE(std::isnan(m)) << m;
    double lowest = dtype == kiln::float32 ? -std::numeric_limits<float>::max() : -std::numeric_limits<double>::max();
    for (double m : mx) EXPECT_LE(m, lowest);
  }
}

TEST(ReduceOps, MaxOfAllNegativeValues) {
  Graph g;
  Output x = kiln::constant(g, {-5.0f, -3.0f, -4.0f, -9.0f, -2.5f, -7.0f}, Shape{2, 3});
  Session s(g, cpu_only());
  auto out = s.run({kiln::reduce_max(x, {1}), kiln::reduce_max(x, {0}), kiln::reduce_max(x)});
  EXPECT_TRUE(AllClose(out[0], kiln::float32, Shape{2}, {-3, -2.5}, {}));
  EXPECT_TRUE(AllClose(out[1], kiln::float32, Shape{3}, {-5, -2.5, -4}, {}));
  EXPECT_TRUE(AllClose(out[2], kiln::float32, Shape{}, {-2.5}, {}));
}

TEST(ReduceOps, ZeroSizeKeptDimensions) {
  // [2,0,3] reduced over axis 1 gives [2,3] zeros; over {0,2} gives [0].
  Graph g;
  Output x = kiln::constant(g, Tensor(kiln::float32, Shape{2, 0, 3}));
  Session s(g, cpu_only());
  auto out = s.run({kiln::reduce_sum(x, {1}), kiln::reduce_sum(x, {0, 2}), kiln::reduce_sum(x, {0, 2}, true)});
  EXPECT_TRUE(AllClose(out[0], kiln::float32, Shape{2, 3}, std::vector<double>(6, 0.0), {}));
  EXPECT_TRUE(AllClose(out[1], kiln::float32, Shape{0}, {}, {}));
  EXPECT_TRUE(AllClose(out[2], kiln::float32, Shape{1, 0, 1}, {}, {}));
}

TEST(ReduceOps, InvalidAxisThrowsAtBuildTime) {
  Graph g;
  Output x = kiln::constant(g, Tensor(kiln::float32, Shape{2, 3}));
  EXPECT_THROW(kiln::reduce_sum(x, {2}), InvalidArgumentError);
  EXPECT_THROW(kiln::reduce_mean(x, {-3}), InvalidArgumentError);
}

TEST(ReduceOps, PlaceholderOfUnknownShape) {
  std::mt19937 gen(14);
  Graph g;
  Output p = kiln::placeholder(g, kiln::float64);
  Output y = kiln::reduce_sum(p, {0, 2}, true);
  std::vector<double> v;
  Tensor t = random_tensor(gen, kiln::float64, Shape{3, 4, 5}, &v);
  Shape es;
  auto expected = ref_reduce(v, Shape{3, 4, 5}, {0, 2}, RefReduce::kSum, true, &es);
  EXPECT_TRUE(AllClose(run_cpu(g, y, {{p, t}}), kiln::float64, es, expected, {1e-13, 1e-13}));
}

TEST(ReduceOps, IntegerMeanOfEmptyDoesNotCrash) {
  // TF divides by the element count; for an empty integer reduction that is a division by zero.
  // kiln must not trap (SIGFPE): either a value or an InvalidArgumentError is acceptable.
  for (DType dtype : {kiln::int32, kiln::int64}) {
    SCOPED_TRACE(dname(dtype));
    Graph g;
    Output y = kiln::reduce_mean(kiln::constant(g, Tensor(dtype, Shape{0, 3})), {0});
    try {
      Tensor t = run_cpu(g, y);
      EXPECT_EQ(t.shape(), Shape{3});
    } catch (const InvalidArgumentError&) {
    }
  }
}

}  // namespace
}  // namespace kiln_test

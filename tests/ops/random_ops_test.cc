// RandomStandardNormal, RandomUniform and TruncatedNormal through random_normal, random_uniform
// and truncated_normal: TF's node names, shapes and dtypes, TF1 seeding (graph and op seeds),
// fresh values on every run, and the statistics of 1e6 samples.
#include "op_test_util.h"

namespace kiln_test {
namespace {

using kiln::RandomOptions;

RandomOptions seeded(int64_t seed, DType dtype = kiln::float32) {
  RandomOptions o;
  o.seed = seed;
  o.dtype = dtype;
  return o;
}

TEST(RandomOps, RandomNormalNodeNamesAsTf) {
  Graph g;
  Output r = kiln::random_normal(g, {2, 3});
  EXPECT_EQ(r.name(), "random_normal:0");
  EXPECT_EQ(r.node->op(), "Add");
  ASSERT_NE(g.find_node("random_normal/RandomStandardNormal"), nullptr);
  EXPECT_EQ(g.find_node("random_normal/RandomStandardNormal")->op(), "RandomStandardNormal");
  ASSERT_NE(g.find_node("random_normal/mul"), nullptr);
  EXPECT_EQ(g.find_node("random_normal/mul")->op(), "Mul");
  EXPECT_NE(g.find_node("random_normal/shape"), nullptr);
  EXPECT_NE(g.find_node("random_normal/mean"), nullptr);
  EXPECT_NE(g.find_node("random_normal/stddev"), nullptr);
  Output r2 = kiln::random_normal(g, {2, 3});
  EXPECT_EQ(r2.name(), "random_normal_1:0");
  EXPECT_NE(g.find_node("random_normal_1/RandomStandardNormal"), nullptr);
  Output r3 = kiln::random_normal(g, {2}, {}, "init");
  EXPECT_EQ(r3.name(), "init:0");
  EXPECT_NE(g.find_node("init/RandomStandardNormal"), nullptr);
}

TEST(RandomOps, UniformAndTruncatedNodeNamesAsTf) {
  Graph g;
  Output u = kiln::random_uniform(g, {4});
  EXPECT_EQ(u.name(), "random_uniform:0");
  EXPECT_EQ(g.find_node("random_uniform/RandomUniform")->op(), "RandomUniform");
  EXPECT_EQ(g.find_node("random_uniform/sub")->op(), "Sub");
  EXPECT_EQ(g.find_node("random_uniform/mul")->op(), "Mul");
  EXPECT_NE(g.find_node("random_uniform/min"), nullptr);
  EXPECT_NE(g.find_node("random_uniform/max"), nullptr);
  Output t = kiln::truncated_normal(g, {4});
  EXPECT_EQ(t.name(), "truncated_normal:0");
  EXPECT_EQ(g.find_node("truncated_normal/TruncatedNormal")->op(), "TruncatedNormal");
  EXPECT_EQ(g.find_node("truncated_normal/mul")->op(), "Mul");
}

TEST(RandomOps, ShapesAndDtypes) {
  for (DType dtype : {kiln::float32, kiln::float64})
    for (const Shape& shape : {Shape{}, Shape{5}, Shape{2, 3, 4}, Shape{0, 3}}) {
      SCOPED_TRACE(std::string(dname(dtype)) + " " + shape.to_string());
      Graph g;
      RandomOptions o;
      o.dtype = dtype;
      Output n = kiln::random_normal(g, shape, o), u = kiln::random_uniform(g, shape, o),
             t = kiln::truncated_normal(g, shape, o);
      Session s(g, cpu_only());
      for (Output x : {n, u, t}) {
        EXPECT_EQ(x.shape(), shape);
        EXPECT_EQ(x.dtype(), dtype);
        Tensor v = s.run(x);
        EXPECT_EQ(v.shape(), shape);
        EXPECT_EQ(v.dtype(), dtype);
        for (double e : to_doubles(v)) EXPECT_TRUE(std::isfinite(e));
      }
    }
}

TEST(RandomOps, RejectsNonFloatDtype) {
  Graph g;
  RandomOptions o;
  o.dtype = kiln::int32;
  EXPECT_THROW(kiln::random_normal(g, {2}, o), kiln::InvalidArgumentError);
}

TEST(RandomOps, SeedsFollowTf1Rules) {
  Graph g;
  EXPECT_EQ(g.seeds_for_op(std::nullopt), (std::pair<int64_t, int64_t>{0, 0}));
  EXPECT_EQ(g.seeds_for_op(7), (std::pair<int64_t, int64_t>{87654321, 7}));  // DEFAULT_GRAPH_SEED
  g.set_random_seed(42);
  EXPECT_EQ(g.seeds_for_op(7), (std::pair<int64_t, int64_t>{42, 7}));
  EXPECT_EQ(g.seeds_for_op(std::nullopt).first, 42);
  // The op records them as attrs.
  Output r = kiln::random_normal(g, {2}, seeded(9));
  (void)r;
  const kiln::Node* n = g.find_node("random_normal/RandomStandardNormal");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->attr<int64_t>("seed"), 42);
  EXPECT_EQ(n->attr<int64_t>("seed2"), 9);
}

// Builds the same three random ops in a fresh graph and returns their first values.
std::vector<Tensor> draw(std::optional<int64_t> graph_seed, std::optional<int64_t> op_seed, DType dtype,
                         int runs = 1) {
  Graph g;
  if (graph_seed) g.set_random_seed(*graph_seed);
  RandomOptions o;
  o.seed = op_seed;
  o.dtype = dtype;
  Output n = kiln::random_normal(g, {64}, o), u = kiln::random_uniform(g, {64}, o),
         t = kiln::truncated_normal(g, {64}, o);
  Session s(g, cpu_only());
  std::vector<Tensor> out;
  for (int i = 0; i < runs; ++i)
    for (Tensor& x : s.run({n, u, t})) out.push_back(x);
  return out;
}

TEST(RandomOps, ReproducibleWithGraphSeedOrOpSeed) {
  for (DType dtype : {kiln::float32, kiln::float64}) {
    SCOPED_TRACE(dname(dtype));
    auto a = draw(1234, std::nullopt, dtype), b = draw(1234, std::nullopt, dtype);
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(BitEqual(a[i], b[i])) << "graph seed, op " << i;
    auto c = draw(std::nullopt, 99, dtype), d = draw(std::nullopt, 99, dtype);
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(BitEqual(c[i], d[i])) << "op seed, op " << i;
    auto e = draw(5, 6, dtype), f = draw(5, 6, dtype);
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(BitEqual(e[i], f[i])) << "both seeds, op " << i;
    // Different seeds give different values.
    auto h = draw(1235, std::nullopt, dtype);
    for (int i = 0; i < 3; ++i) EXPECT_FALSE(BitEqual(a[i], h[i])) << "graph seed 1234 vs 1235, op " << i;
    auto k = draw(std::nullopt, 100, dtype);
    for (int i = 0; i < 3; ++i) EXPECT_FALSE(BitEqual(c[i], k[i])) << "op seed 99 vs 100, op " << i;
  }
}

TEST(RandomOps, UnseededDiffersAcrossSessions) {
  auto a = draw(std::nullopt, std::nullopt, kiln::float32), b = draw(std::nullopt, std::nullopt, kiln::float32);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(BitEqual(a[i], b[i])) << "op " << i;
}

TEST(RandomOps, SecondRunDrawsFreshValues) {
  for (DType dtype : {kiln::float32, kiln::float64}) {
    SCOPED_TRACE(dname(dtype));
    auto seeded_runs = draw(3, 4, dtype, 2);
    for (int i = 0; i < 3; ++i) EXPECT_FALSE(BitEqual(seeded_runs[i], seeded_runs[i + 3])) << "op " << i;
    // ...and the sequence of runs is itself reproducible.
    auto again = draw(3, 4, dtype, 2);
    for (int i = 0; i < 6; ++i) EXPECT_TRUE(BitEqual(seeded_runs[i], again[i])) << "value " << i;
  }
}

TEST(RandomOps, OpsUnderOneGraphSeedDiffer) {
  Graph g;
  g.set_random_seed(11);
  Output a = kiln::random_normal(g, {32}), b = kiln::random_normal(g, {32});
  Session s(g, cpu_only());
  auto out = s.run({a, b});
  EXPECT_FALSE(BitEqual(out[0], out[1]));
}

TEST(RandomOps, SameOpFetchedTwiceInOneRunIsOneDraw) {
  Graph g;
  Output a = kiln::random_uniform(g, {16}, seeded(1));
  Output x = kiln::identity(a), y = kiln::identity(a);
  Session s(g, cpu_only());
  auto out = s.run({x, y});
  EXPECT_TRUE(BitEqual(out[0], out[1]));
}

struct Moments {
  double mean = 0, sd = 0, min = 0, max = 0;
  double within1 = 0;  // fraction of |x - mean| < sd
};
Moments moments(const std::vector<double>& v, double center, double scale) {
  Moments m;
  m.min = std::numeric_limits<double>::infinity();
  m.max = -m.min;
  double s = 0, s2 = 0;
  int64_t w = 0;
  for (double x : v) {
    s += x;
    m.min = std::min(m.min, x);
    m.max = std::max(m.max, x);
    if (std::fabs(x - center) < scale) ++w;
  }
  m.mean = s / v.size();
  for (double x : v) s2 += (x - m.mean) * (x - m.mean);
  m.sd = std::sqrt(s2 / (v.size() - 1));
  m.within1 = static_cast<double>(w) / v.size();
  return m;
}

constexpr int64_t kSamples = 1000000;

TEST(RandomOps, NormalStatistics) {
  for (DType dtype : {kiln::float32, kiln::float64}) {
    SCOPED_TRACE(dname(dtype));
    Graph g;
    RandomOptions o = seeded(17, dtype);
    o.mean = 3.0;
    o.stddev = 2.0;
    Output std_n = kiln::random_normal(g, {kSamples}, seeded(16, dtype));
    Output n = kiln::random_normal(g, {1000, 1000}, o);
    Session s(g, cpu_only());
    auto out = s.run({std_n, n});
    Moments a = moments(to_doubles(out[0]), 0, 1);
    // Standard errors: mean 1e-3, sd ~7e-4. Allow 5 sigma.
    EXPECT_NEAR(a.mean, 0.0, 5e-3);
    EXPECT_NEAR(a.sd, 1.0, 4e-3);
    EXPECT_NEAR(a.within1, 0.682689, 3e-3);
    EXPECT_LT(a.min, -4.0);  // with 1e6 samples the tails are reached
    EXPECT_GT(a.max, 4.0);
    Moments b = moments(to_doubles(out[1]), 3, 2);
    EXPECT_NEAR(b.mean, 3.0, 1e-2);
    EXPECT_NEAR(b.sd, 2.0, 8e-3);
    EXPECT_NEAR(b.within1, 0.682689, 3e-3);
  }
}

TEST(RandomOps, UniformStatistics) {
  for (DType dtype : {kiln::float32, kiln::float64}) {
    SCOPED_TRACE(dname(dtype));
    Graph g;
    RandomOptions o = seeded(19, dtype);
    o.minval = -3;
    o.maxval = 5;
    Output u01 = kiln::random_uniform(g, {kSamples}, seeded(18, dtype));
    Output u = kiln::random_uniform(g, {kSamples}, o);
    Session s(g, cpu_only());
    auto out = s.run({u01, u});
    std::vector<double> v = to_doubles(out[0]);
    Moments a = moments(v, 0.5, 0.25);
    EXPECT_GE(a.min, 0.0);
    EXPECT_LT(a.max, 1.0);  // [0, 1)
    EXPECT_NEAR(a.mean, 0.5, 1.5e-3);
    EXPECT_NEAR(a.sd, 1 / std::sqrt(12.0), 1.5e-3);
    // 20-bin chi-square (19 dof: 99.99th percentile ~ 50).
    std::vector<int64_t> bins(20, 0);
    for (double x : v) ++bins[std::min<int64_t>(19, static_cast<int64_t>(x * 20))];
    double chi2 = 0, e = kSamples / 20.0;
    for (int64_t c : bins) chi2 += (c - e) * (c - e) / e;
    EXPECT_LT(chi2, 50.0);
    Moments b = moments(to_doubles(out[1]), 1, 2);
    EXPECT_GE(b.min, -3.0);
    EXPECT_LT(b.max, 5.0);
    EXPECT_NEAR(b.mean, 1.0, 1.2e-2);
    EXPECT_NEAR(b.sd, 8 / std::sqrt(12.0), 1e-2);
  }
}

TEST(RandomOps, TruncatedNormalStatistics) {
  for (DType dtype : {kiln::float32, kiln::float64}) {
    SCOPED_TRACE(dname(dtype));
    Graph g;
    RandomOptions o = seeded(21, dtype);
    o.mean = -1.0;
    o.stddev = 0.5;
    Output t01 = kiln::truncated_normal(g, {kSamples}, seeded(20, dtype));
    Output t = kiln::truncated_normal(g, {kSamples}, o);
    Session s(g, cpu_only());
    auto out = s.run({t01, t});
    Moments a = moments(to_doubles(out[0]), 0, 1);
    EXPECT_GE(a.min, -2.0);
    EXPECT_LE(a.max, 2.0);
    EXPECT_LT(a.min, -1.99);  // the whole interval is used
    EXPECT_GT(a.max, 1.99);
    EXPECT_NEAR(a.mean, 0.0, 5e-3);
    // Standard normal truncated to [-2, 2]: sd = 0.879626.
    EXPECT_NEAR(a.sd, 0.879626, 4e-3);
    // P(|x| < 1 | |x| < 2) = 0.682689 / 0.954500.
    EXPECT_NEAR(a.within1, 0.682689 / 0.954500, 3e-3);
    Moments b = moments(to_doubles(out[1]), -1, 0.5);
    EXPECT_GE(b.min, -2.0);
    EXPECT_LE(b.max, 0.0);
    EXPECT_NEAR(b.mean, -1.0, 3e-3);
    EXPECT_NEAR(b.sd, 0.5 * 0.879626, 3e-3);
  }
}

TEST(RandomOps, ManySmallRunsAreNotCorrelated) {
  // Successive runs of a small op must not repeat or overlap each other's values.
  Graph g;
  Output u = kiln::random_uniform(g, {3}, seeded(23));
  Session s(g, cpu_only());
  std::vector<float> all;
  for (int i = 0; i < 2000; ++i)
    for (float x : s.run(u).to_vector<float>()) all.push_back(x);
  std::vector<float> sorted = all;
  std::sort(sorted.begin(), sorted.end());
  int64_t dups = 0;
  for (size_t i = 1; i < sorted.size(); ++i) dups += sorted[i] == sorted[i - 1];
  // 6000 float draws from 2^23-2^24 values: a handful of collisions at most by chance.
  EXPECT_LT(dups, 10);
  double mean = 0;
  for (float x : all) mean += x;
  EXPECT_NEAR(mean / all.size(), 0.5, 0.02);
}

}  // namespace
}  // namespace kiln_test

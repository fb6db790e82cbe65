// Const, Placeholder, Identity, NoOp, Reshape, Fill, zeros/ones, ZerosLike, OnesLike and Cast,
// including float16/bfloat16 storage and conversions checked against round-to-nearest-even
// references written in op_test_util.h.
#include "op_test_util.h"

namespace kiln_test {
namespace {

using kiln::InvalidArgumentError;

const std::vector<DType> kStorageDtypes = {kiln::float32, kiln::float64, kiln::int32, kiln::int64,
                                           kiln::float16, kiln::bfloat16};

TEST(ArrayOps, ConstRoundTripsEveryDtypeBitExactly) {
  std::mt19937 gen(31);
  for (DType dtype : kStorageDtypes)
    for (const Shape& shape : {Shape{}, Shape{5}, Shape{3, 4}, Shape{0, 3}}) {
      SCOPED_TRACE(std::string(dname(dtype)) + " " + shape.to_string());
      Tensor t = random_tensor(gen, dtype, shape, nullptr, -100, 100);
      Graph g;
      Output c = kiln::constant(g, t);
      EXPECT_EQ(c.node->op(), "Const");
      EXPECT_EQ(c.dtype(), dtype);
      EXPECT_EQ(c.shape(), shape);
      EXPECT_TRUE(BitEqual(run_cpu(g, c), t));
    }
}

TEST(ArrayOps, ConstScalarBuildersAndNames) {
  Graph g;
  Output a = kiln::constant(g, 1.5f), b = kiln::constant(g, 2.5), c = kiln::constant(g, int32_t{-3}),
         d = kiln::constant(g, int64_t{1} << 40, "big");
  EXPECT_EQ(a.name(), "Const:0");
  EXPECT_EQ(b.name(), "Const_1:0");
  EXPECT_EQ(c.name(), "Const_2:0");
  EXPECT_EQ(d.name(), "big:0");
  EXPECT_EQ(a.dtype(), kiln::float32);
  EXPECT_EQ(b.dtype(), kiln::float64);
  EXPECT_EQ(c.dtype(), kiln::int32);
  EXPECT_EQ(d.dtype(), kiln::int64);
  Session s(g, cpu_only());
  auto out = s.run({a, b, c, d});
  EXPECT_EQ(out[0].item<float>(), 1.5f);
  EXPECT_EQ(out[1].item<double>(), 2.5);
  EXPECT_EQ(out[2].item<int32_t>(), -3);
  EXPECT_EQ(out[3].item<int64_t>(), int64_t{1} << 40);
  EXPECT_EQ(out[0].shape(), Shape{});
}

TEST(ArrayOps, IdentityKeepsEveryDtype) {
  std::mt19937 gen(32);
  for (DType dtype : kStorageDtypes) {
    SCOPED_TRACE(dname(dtype));
    Tensor t = random_tensor(gen, dtype, Shape{2, 3, 2}, nullptr, -100, 100);
    Graph g;
    Output y = kiln::identity(kiln::identity(kiln::constant(g, t)));
    EXPECT_EQ(y.node->op(), "Identity");
    EXPECT_EQ(y.node->name(), "Identity_1");
    EXPECT_TRUE(BitEqual(run_cpu(g, y), t));
  }
}

TEST(ArrayOps, PlaceholderFeedsEveryDtype) {
  std::mt19937 gen(33);
  for (DType dtype : kStorageDtypes) {
    SCOPED_TRACE(dname(dtype));
    Tensor t = random_tensor(gen, dtype, Shape{4, 3}, nullptr, -100, 100);
    Graph g;
    Output p = kiln::placeholder(g, dtype, Shape{-1, 3});
    EXPECT_EQ(p.node->op(), "Placeholder");
    EXPECT_EQ(p.name(), "Placeholder:0");
    EXPECT_EQ(p.shape(), (Shape{-1, 3}));
    Output y = kiln::identity(p);
    EXPECT_TRUE(BitEqual(run_cpu(g, y, {{p, t}}), t));
    // Fetching the placeholder itself returns the fed value.
    EXPECT_TRUE(BitEqual(run_cpu(g, p, {{p, t}}), t));
  }
}

TEST(ArrayOps, PlaceholderScalarAndUnknownShape) {
  Graph g;
  Output s = kiln::placeholder(g, kiln::float64, Shape{});
  Output u = kiln::placeholder(g, kiln::int32);
  Session sess(g, cpu_only());
  EXPECT_EQ(sess.run(s, {{s, Tensor::scalar(2.25)}}).item<double>(), 2.25);
  Tensor t = Tensor::of<int32_t>({1, 2, 3, 4, 5, 6}, Shape{1, 2, 3});
  EXPECT_TRUE(BitEqual(sess.run(u, {{u, t}}), t));
  EXPECT_THROW(sess.run(s, {{s, Tensor::of<double>({1.0}, Shape{1})}}), InvalidArgumentError);
}

TEST(ArrayOps, PlaceholderFeedIsChecked) {
  Graph g;
  Output p = kiln::placeholder(g, kiln::float32, Shape{-1, 3}, "x");
  Output y = kiln::identity(p);
  Session s(g, cpu_only());
  // Wrong dtype.
  EXPECT_TRUE(ThrowsWith<InvalidArgumentError>(
      [&] { s.run(y, {{p, make_tensor(kiln::float64, Shape{2, 3}, std::vector<double>(6, 1.0))}}); },
      {"Cannot feed value", "x:0"}));
  // Wrong shape (rank and dimension).
  EXPECT_TRUE(ThrowsWith<InvalidArgumentError>(
      [&] { s.run(y, {{p, make_tensor(kiln::float32, Shape{2, 4}, std::vector<double>(8, 1.0))}}); },
      {"Cannot feed value", "x:0"}));
  EXPECT_TRUE(ThrowsWith<InvalidArgumentError>(
      [&] { s.run(y, {{p, make_tensor(kiln::float32, Shape{3}, std::vector<double>(3, 1.0))}}); }, {"x:0"}));
  // Zero rows are fine.
  EXPECT_TRUE(AllClose(s.run(y, {{p, Tensor(kiln::float32, Shape{0, 3})}}), kiln::float32, Shape{0, 3}, {}, {}));
}

TEST(ArrayOps, UnfedPlaceholderIsInvalidArgument) {
  Graph g;
  Output p = kiln::placeholder(g, kiln::float32, Shape{2}, "input");
  Output y = kiln::square(p);
  Session s(g, cpu_only());
  EXPECT_TRUE(ThrowsWith<InvalidArgumentError>([&] { s.run(y); },
                                                {"You must feed a value for placeholder tensor", "input"}));
  // The session stays usable.
  Tensor t = Tensor::of<float>({3, 4}, Shape{2});
  EXPECT_TRUE(AllClose(s.run(y, {{p, t}}), kiln::float32, Shape{2}, {9, 16}, {}));
}

TEST(ArrayOps, FeedingANonPlaceholderOverridesIt) {
  Graph g;
  Output c = kiln::constant(g, {1.0f, 2.0f}, Shape{2});
  Output y = kiln::square(c);
  EXPECT_TRUE(AllClose(run_cpu(g, y, {{c, Tensor::of<float>({5, 6}, Shape{2})}}), kiln::float32, Shape{2}, {25, 36}, {}));
}

TEST(ArrayOps, NoOpAndGroupRunTheirDependencies) {
  Graph g;
  auto v = kiln::Variable(g, kiln::constant(g, {1.0f, 2.0f}, Shape{2}), "v");
  auto init = kiln::global_variables_initializer(g);
  Output add = v.assign_add(kiln::constant(g, {1.0f, 1.0f}, Shape{2}));
  kiln::Operation n = kiln::no_op(g);
  EXPECT_EQ(n.node->op(), "NoOp");
  EXPECT_EQ(n.name(), "NoOp");
  kiln::Operation grp = kiln::group(g, {kiln::Operation(add.node)});
  EXPECT_EQ(grp.node->op(), "NoOp");
  Session s(g, cpu_only());
  s.run(init);
  s.run(n);
  s.run(grp);
  s.run(grp);
  EXPECT_TRUE(AllClose(s.run(v.value()), kiln::float32, Shape{2}, {3, 4}, {}));
  // NoOp under control dependencies.
  {
    auto deps = g.control_dependencies({kiln::Operation(add.node)});
    kiln::Operation after = kiln::no_op(g, "after");
    s.run(after);
  }
  EXPECT_TRUE(AllClose(s.run(v.value()), kiln::float32, Shape{2}, {4, 5}, {}));
}

TEST(ArrayOps, Reshape) {
  std::mt19937 gen(34);
  struct C { Shape in; std::vector<int64_t> to; Shape out; };
  for (DType dtype : kStorageDtypes)
    for (const C& c : {C{Shape{2, 3, 4}, {4, -1}, Shape{4, 6}}, C{Shape{2, 3, 4}, {-1}, Shape{24}},
                       C{Shape{6}, {2, 3}, Shape{2, 3}}, C{Shape{1}, {}, Shape{}}, C{Shape{}, {1, 1}, Shape{1, 1}},
                       C{Shape{2, 3}, {-1, 2, 1}, Shape{3, 2, 1}}, C{Shape{0, 3}, {3, 0}, Shape{3, 0}},
                       C{Shape{0, 3}, {-1, 3}, Shape{0, 3}}}) {
      SCOPED_TRACE(std::string(dname(dtype)) + " " + c.in.to_string() + " -> " + c.out.to_string());
      Tensor t = random_tensor(gen, dtype, c.in, nullptr, -100, 100);
      Graph g;
      Output y = kiln::reshape(kiln::constant(g, t), c.to);
      EXPECT_EQ(y.node->op(), "Reshape");
      EXPECT_EQ(y.node->name(), "Reshape");
      EXPECT_EQ(y.shape(), c.out) << "inferred shape";
      EXPECT_TRUE(BitEqual(run_cpu(g, y), t.clone().reshaped(c.out)));
    }
}

TEST(ArrayOps, ReshapeZeroSizeWithInferredDim) {
  // TF (reshape_op.h) leaves zero dims out of both products when the requested shape has a 0, so
  // reshape(zeros([0, 3]), [0, -1]) has shape (0, 3).
  Graph g;
  try {
    Output y = kiln::reshape(kiln::constant(g, Tensor(kiln::float32, Shape{0, 3})), std::vector<int64_t>{0, -1});
    EXPECT_EQ(y.shape(), (Shape{0, 3})) << "inferred shape";
    Tensor t = run_cpu(g, y);
    EXPECT_EQ(t.num_elements(), 0);
    EXPECT_EQ(t.shape(), (Shape{0, 3}));
  } catch (const kiln::Error& e) {
    ADD_FAILURE() << "reshape [0,3] -> [0,-1] threw: " << e.what();
  }
}

TEST(ArrayOps, ReshapeWithShapeTensorAndErrors) {
  Graph g;
  Output x = kiln::constant(g, Tensor::of<float>({1, 2, 3, 4, 5, 6}, Shape{2, 3}));
  Output shape = kiln::placeholder(g, kiln::int32, Shape{-1});
  Output y = kiln::reshape(x, shape);
  Session s(g, cpu_only());
  EXPECT_TRUE(AllClose(s.run(y, {{shape, Tensor::of<int32_t>({3, -1}, Shape{2})}}), kiln::float32, Shape{3, 2},
                       {1, 2, 3, 4, 5, 6}, {}));
  EXPECT_THROW(s.run(y, {{shape, Tensor::of<int32_t>({4, -1}, Shape{2})}}), InvalidArgumentError);
  EXPECT_THROW(s.run(y, {{shape, Tensor::of<int32_t>({5}, Shape{1})}}), InvalidArgumentError);
  // A constant shape that cannot hold the input fails when the graph is built or run.
  EXPECT_THROW(([&] {
                 Output bad = kiln::reshape(x, {4, 2});
                 run_cpu(g, bad);
               })(),
               InvalidArgumentError);
}

TEST(ArrayOps, Fill) {
  struct C { DType dtype; double value; };
  for (const C& c : {C{kiln::float32, 1.25}, C{kiln::float64, -3.5}, C{kiln::int32, 7}, C{kiln::int64, -9}})
    for (const std::vector<int64_t>& dims : std::vector<std::vector<int64_t>>{{2, 3}, {}, {0, 4}, {5}, {2, 1, 3}}) {
      Shape shape(dims);
      SCOPED_TRACE(std::string(dname(c.dtype)) + " " + shape.to_string());
      Graph g;
      Output v = kiln::constant(g, make_tensor(c.dtype, Shape{}, {c.value}));
      Output y = kiln::fill(g, dims, v);
      EXPECT_EQ(y.node->op(), "Fill");
      EXPECT_EQ(y.shape(), shape);
      EXPECT_TRUE(AllClose(run_cpu(g, y), c.dtype, shape, std::vector<double>(num_elements(shape), c.value), {}));
    }
}

TEST(ArrayOps, FillRejectsNonScalarValue) {
  Graph g;
  EXPECT_THROW(kiln::fill(g, {2}, kiln::constant(g, {1.0f, 2.0f}, Shape{2})), InvalidArgumentError);
}

TEST(ArrayOps, ZerosAndOnes) {
  for (DType dtype : {kiln::float32, kiln::float64, kiln::int32, kiln::int64}) {
    SCOPED_TRACE(dname(dtype));
    Graph g;
    Output z = kiln::zeros(g, Shape{2, 3}, dtype), o = kiln::ones(g, Shape{4}, dtype);
    Output z0 = kiln::zeros(g, Shape{0, 2}, dtype);
    EXPECT_EQ(z.node->name(), "zeros");
    EXPECT_EQ(o.node->name(), "ones");
    EXPECT_EQ(z0.node->name(), "zeros_1");
    EXPECT_EQ(z.node->op(), "Fill");
    Session s(g, cpu_only());
    auto out = s.run({z, o, z0});
    EXPECT_TRUE(AllClose(out[0], dtype, Shape{2, 3}, std::vector<double>(6, 0.0), {}));
    EXPECT_TRUE(AllClose(out[1], dtype, Shape{4}, std::vector<double>(4, 1.0), {}));
    EXPECT_TRUE(AllClose(out[2], dtype, Shape{0, 2}, {}, {}));
  }
}

TEST(ArrayOps, ZerosLikeOnesLike) {
  std::mt19937 gen(35);
  for (DType dtype : kStorageDtypes)
    for (const Shape& shape : {Shape{}, Shape{3, 5}, Shape{0, 2}}) {
      SCOPED_TRACE(std::string(dname(dtype)) + " " + shape.to_string());
      Tensor t = random_tensor(gen, dtype, shape, nullptr, 1, 9);
      Graph g;
      Output x = kiln::constant(g, t);
      Output z = kiln::zeros_like(x), o = kiln::ones_like(x);
      EXPECT_EQ(z.node->op(), "ZerosLike");
      EXPECT_EQ(o.node->op(), "OnesLike");
      EXPECT_EQ(z.node->name(), "zeros_like");
      EXPECT_EQ(o.node->name(), "ones_like");
      Session s(g, cpu_only());
      auto out = s.run({z, o});
      int64_t n = num_elements(shape);
      EXPECT_TRUE(AllClose(out[0], dtype, shape, std::vector<double>(n, 0.0), {}));
      EXPECT_TRUE(AllClose(out[1], dtype, shape, std::vector<double>(n, 1.0), {}));
    }
}

// ---- Cast -----------------------------------------------------------------------------------------

TEST(ArrayOps, CastFloatToIntTruncatesTowardZero) {
  std::mt19937 gen(36);
  for (DType src : {kiln::float32, kiln::float64})
    for (DType dst : {kiln::int32, kiln::int64}) {
      SCOPED_TRACE(std::string(dname(src)) + " -> " + dname(dst));
      std::vector<double> v = random_values(gen, src, 40, -1000, 1000);
      for (double x : {0.5, -0.5, 0.999, -0.999, 2.0, -2.0, 0.0}) v.push_back(x);
      Tensor t = make_tensor(src, Shape{47}, v);
      v = to_doubles(t);
      Graph g;
      Output y = kiln::cast(kiln::constant(g, t), dst);
      EXPECT_EQ(y.node->op(), "Cast");
      EXPECT_EQ(y.dtype(), dst);
      std::vector<double> expected;
      for (double x : v) expected.push_back(std::trunc(x));
      EXPECT_TRUE(AllClose(run_cpu(g, y), dst, Shape{47}, expected, {}));
    }
}

TEST(ArrayOps, CastIntToFloat) {
  std::mt19937 gen(37);
  for (DType src : {kiln::int32, kiln::int64})
    for (DType dst : {kiln::float32, kiln::float64, kiln::int32, kiln::int64}) {
      SCOPED_TRACE(std::string(dname(src)) + " -> " + dname(dst));
      std::vector<double> v;
      Tensor t = random_tensor(gen, src, Shape{6, 7}, &v, -1000000, 1000000);
      Graph g;
      Output y = kiln::cast(kiln::constant(g, t), dst);
      EXPECT_TRUE(AllClose(run_cpu(g, y), dst, Shape{6, 7}, v, {}));  // exact below 2^24
    }
}

TEST(ArrayOps, CastBetweenFloatAndDouble) {
  std::mt19937 gen(38);
  std::vector<double> v;
  Tensor d = random_tensor(gen, kiln::float64, Shape{100}, &v, -1e5, 1e5);
  Graph g;
  Output x = kiln::constant(g, d);
  Output f = kiln::cast(x, kiln::float32);
  Output back = kiln::cast(f, kiln::float64);
  Session s(g, cpu_only());
  auto out = s.run({f, back});
  std::vector<double> rounded;
  for (double e : v) rounded.push_back(static_cast<float>(e));
  EXPECT_TRUE(AllClose(out[0], kiln::float32, Shape{100}, rounded, {}));
  EXPECT_TRUE(AllClose(out[1], kiln::float64, Shape{100}, rounded, {}));
}

// float32 values that exercise the 16-bit roundings: ties, subnormals, overflow, tiny values.
std::vector<float> sixteen_bit_probe_values(std::mt19937& gen) {
  std::vector<float> v;
  for (int i = 0; i < 200; ++i) v.push_back(std::uniform_real_distribution<float>(-70000, 70000)(gen));
  for (int i = 0; i < 200; ++i) v.push_back(std::uniform_real_distribution<float>(-2, 2)(gen));
  for (int i = 0; i < 100; ++i) v.push_back(std::uniform_real_distribution<float>(-1e-4f, 1e-4f)(gen));
  for (int i = 0; i < 100; ++i) v.push_back(std::ldexp(std::uniform_real_distribution<float>(1, 2)(gen), -20));
  // Exact ties in half: 1 + 2^-11 (-> 1), 1 + 3*2^-11 (-> 1 + 2^-9).
  for (float x : {1.0f + std::ldexp(1.0f, -11), 1.0f + 3 * std::ldexp(1.0f, -11), 65504.0f, 65519.0f, 65520.0f,
                  -65536.0f, 0.0f, -0.0f, std::ldexp(1.0f, -24), std::ldexp(1.0f, -25), std::ldexp(3.0f, -26),
                  std::ldexp(1.0f, -14), 1e-8f, 3.14159265f})
    v.push_back(x);
  // Exact ties in bfloat16: 1 + 2^-8 (-> 1), 1 + 3*2^-8 (-> 1 + 2^-6).
  for (float x : {1.0f + std::ldexp(1.0f, -8), 1.0f + 3 * std::ldexp(1.0f, -8), 3.0e38f, -1.5e-39f}) v.push_back(x);
  return v;
}

TEST(ArrayOps, CastFloatToHalfRoundsToNearestEven) {
  std::mt19937 gen(39);
  std::vector<float> v = sixteen_bit_probe_values(gen);
  int64_t n = static_cast<int64_t>(v.size());
  Graph g;
  Output y = kiln::cast(kiln::constant(g, Tensor::from_vector(v)), kiln::float16);
  Tensor out = run_cpu(g, y);
  ASSERT_EQ(out.dtype(), kiln::float16);
  ASSERT_EQ(out.num_elements(), n);
  const kiln::Half* h = out.data<kiln::Half>();
  int bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint16_t want = ref_half_bits(v[i]);
    if (h[i].bits != want && ++bad <= 5)
      ADD_FAILURE() << "half(" << std::hexfloat << v[i] << ") = 0x" << std::hex << h[i].bits << ", expected 0x" << want;
  }
  EXPECT_EQ(bad, 0);
}

TEST(ArrayOps, CastFloatToBfloat16RoundsToNearestEven) {
  std::mt19937 gen(40);
  std::vector<float> v = sixteen_bit_probe_values(gen);
  int64_t n = static_cast<int64_t>(v.size());
  Graph g;
  Output y = kiln::cast(kiln::constant(g, Tensor::from_vector(v)), kiln::bfloat16);
  Tensor out = run_cpu(g, y);
  ASSERT_EQ(out.dtype(), kiln::bfloat16);
  const kiln::BFloat16* b = out.data<kiln::BFloat16>();
  int bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint16_t want = ref_bfloat16_bits(v[i]);
    if (b[i].bits != want && ++bad <= 5)
      ADD_FAILURE() << "bfloat16(" << std::hexfloat << v[i] << ") = 0x" << std::hex << b[i].bits << ", expected 0x" << want;
  }
  EXPECT_EQ(bad, 0);
}

TEST(ArrayOps, CastSixteenBitToWiderTypesIsExact) {
  // Every finite half value, and a spread of bfloat16 values, widen exactly.
  std::vector<kiln::Half> halves;
  std::vector<double> hv;
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    if (((bits >> 10) & 0x1f) == 0x1f) continue;  // inf / NaN
    halves.push_back(kiln::Half::from_bits(static_cast<uint16_t>(bits)));
    hv.push_back(ref_half_to_double(static_cast<uint16_t>(bits)));
  }
  std::vector<kiln::BFloat16> bfs;
  std::vector<double> bv;
  for (uint32_t bits = 0; bits < 0x10000; bits += 7) {
    if (((bits >> 7) & 0xff) == 0xff) continue;
    bfs.push_back(kiln::BFloat16::from_bits(static_cast<uint16_t>(bits)));
    bv.push_back(ref_bfloat16_to_double(static_cast<uint16_t>(bits)));
  }
  Graph g;
  Output h = kiln::constant(g, Tensor::from_vector(halves));
  Output b = kiln::constant(g, Tensor::from_vector(bfs));
  Session s(g, cpu_only());
  auto out = s.run({kiln::cast(h, kiln::float32), kiln::cast(h, kiln::float64), kiln::cast(b, kiln::float32),
                    kiln::cast(b, kiln::float64)});
  Shape hs{static_cast<int64_t>(hv.size())}, bs{static_cast<int64_t>(bv.size())};
  EXPECT_TRUE(AllClose(out[0], kiln::float32, hs, hv, {}));
  EXPECT_TRUE(AllClose(out[1], kiln::float64, hs, hv, {}));
  EXPECT_TRUE(AllClose(out[2], kiln::float32, bs, bv, {}));
  EXPECT_TRUE(AllClose(out[3], kiln::float64, bs, bv, {}));
}

TEST(ArrayOps, CastSixteenBitToIntAndBetweenEachOther) {
  Graph g;
  std::vector<double> v = {-3.75, -1.0, -0.5, 0.0, 0.5, 2.5, 100.0, 1000.0};
  Output h = kiln::constant(g, make_tensor(kiln::float16, Shape{8}, v));
  Output b = kiln::constant(g, make_tensor(kiln::bfloat16, Shape{8}, v));
  Session s(g, cpu_only());
  auto out = s.run({kiln::cast(h, kiln::int32), kiln::cast(b, kiln::int64), kiln::cast(h, kiln::bfloat16),
                    kiln::cast(b, kiln::float16), kiln::cast(kiln::constant(g, Tensor::of<int32_t>({-7, 300}, Shape{2})), kiln::float16)});
  std::vector<double> trunc;
  for (double e : v) trunc.push_back(std::trunc(e));
  EXPECT_TRUE(AllClose(out[0], kiln::int32, Shape{8}, trunc, {}));
  EXPECT_TRUE(AllClose(out[1], kiln::int64, Shape{8}, trunc, {}));
  EXPECT_TRUE(AllClose(out[2], kiln::bfloat16, Shape{8}, v, {}));  // all exactly representable
  EXPECT_TRUE(AllClose(out[3], kiln::float16, Shape{8}, v, {}));
  EXPECT_TRUE(AllClose(out[4], kiln::float16, Shape{2}, {-7, 300}, {}));
}

TEST(ArrayOps, CastToSameTypeAndZeroSize) {
  Graph g;
  Tensor t = Tensor::of<float>({1.5f, -2.5f}, Shape{2});
  Output x = kiln::constant(g, t);
  Output e = kiln::constant(g, Tensor(kiln::float32, Shape{0, 4}));
  Session s(g, cpu_only());
  auto out = s.run({kiln::cast(x, kiln::float32), kiln::cast(e, kiln::int32), kiln::cast(e, kiln::float16)});
  EXPECT_TRUE(BitEqual(out[0], t));
  EXPECT_TRUE(AllClose(out[1], kiln::int32, Shape{0, 4}, {}, {}));
  EXPECT_TRUE(AllClose(out[2], kiln::float16, Shape{0, 4}, {}, {}));
}

TEST(ArrayOps, CastSpecialValuesToSixteenBit) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> v = {inf, -inf, nan, 1e6f, -1e6f, 3.4e38f};
  Graph g;
  Output x = kiln::constant(g, Tensor::from_vector(v));
  Session s(g, cpu_only());
  auto out = s.run({kiln::cast(x, kiln::float16), kiln::cast(x, kiln::bfloat16)});
  const double dinf = std::numeric_limits<double>::infinity();
  // half: 1e6 and 3.4e38 overflow to inf; bfloat16 keeps 1e6 (rounded) and overflows 3.4e38.
  EXPECT_TRUE(AllClose(out[0], kiln::float16, Shape{6}, {dinf, -dinf, std::nan(""), dinf, -dinf, dinf}, {}));
  EXPECT_TRUE(AllClose(out[1], kiln::bfloat16, Shape{6},
                       {dinf, -dinf, std::nan(""), ref_bfloat16_to_double(ref_bfloat16_bits(1e6f)),
                        ref_bfloat16_to_double(ref_bfloat16_bits(-1e6f)), dinf},
                       {}));
}

TEST(ArrayOps, FillSixteenBitValue) {
  for (DType dtype : {kiln::float16, kiln::bfloat16}) {
    SCOPED_TRACE(dname(dtype));
    Graph g;
    Output y = kiln::fill(g, {2, 3}, kiln::constant(g, make_tensor(dtype, Shape{}, {-1.5})));
    EXPECT_TRUE(AllClose(run_cpu(g, y), dtype, Shape{2, 3}, std::vector<double>(6, -1.5), {}));
  }
}

}  // namespace
}  // namespace kiln_test

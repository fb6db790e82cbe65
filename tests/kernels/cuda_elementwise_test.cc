// CUDA primitives vs CPU: unary, binary, cast, fill and copy.
#include "kernels/cuda_test_util.h"

namespace kiln::kernels {
namespace {

using namespace test_util;

// ---- unary ----

TEST(CudaPrimitives, UnaryMatchesCpu) {
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  struct Case { UnaryOp op; double lo, hi; bool ints; };
  const Case cases[] = {
      {UnaryOp::kNeg, -4, 4, true},      {UnaryOp::kSquare, -100, 100, true},
      {UnaryOp::kSqrt, 0.01, 50, false}, {UnaryOp::kExp, -20, 20, false},
      {UnaryOp::kLog, 0.01, 50, false},  {UnaryOp::kRelu, -4, 4, false},
      {UnaryOp::kSigmoid, -30, 30, false}, {UnaryOp::kTanh, -8, 8, false},
      {UnaryOp::kIdentity, -4, 4, false},
  };
  const int64_t sizes[] = {0, 1, 3, 17, 1037, 65536 + 5};
  uint32_t seed = 1;
  for (const Case& c : cases) {
    for (DType dtype : {DType::kFloat, DType::kDouble, DType::kInt32, DType::kInt64}) {
      if (!c.ints && dtype_is_integer(dtype)) continue;
      for (int64_t n : sizes) {
        Tensor x = random_host(dtype, Shape{n}, c.lo, c.hi, seed++);
        Tensor want(dtype, Shape{n});
        C().unary(cpu(), c.op, x, want);
        Tensor out = gpu_tensor(dtype, Shape{n});
        G().unary(gpu(), c.op, to_gpu(x), out);
        expect_close(want, out, tol(dtype), tol(dtype) / 10,
                     "unary op " + std::to_string(static_cast<int>(c.op)) + " " +
                         dtype_name(dtype) + " n=" + std::to_string(n));
      }
    }
  }
}

TEST(CudaPrimitives, UnaryRejectsIntegerTranscendentals) {
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  Tensor x = to_gpu(random_host(DType::kInt32, Shape{4}, 1, 9, 7));
  Tensor out = gpu_tensor(DType::kInt32, Shape{4});
  EXPECT_THROW(G().unary(gpu(), UnaryOp::kExp, x, out), InvalidArgumentError);
}

// ---- binary ----

struct ShapePair { Shape a, b; };

const ShapePair kBroadcastCases[] = {
    {{1037}, {1037}},             // same shape, odd size (vector tail)
    {{64, 33}, {64, 33}},         // same shape
    {{}, {1037}},                 // scalar a
    {{1}, {5, 7}},                // one-element a (also kScalarA)
    {{1037}, {}},                 // scalar b
    {{3, 4, 5}, {1, 1, 1}},       // one-element b of full rank
    {{300, 65}, {65}},            // row (bias) broadcast
    {{65}, {300, 65}},            // row broadcast, a is the small one
    {{300, 65}, {300, 1}},        // column broadcast
    {{256, 64}, {64}},            // row broadcast, packed along rows
    {{64}, {256, 64}},            // same, a broadcast
    {{256, 64}, {256, 1}},        // column broadcast, packed (b splatted)
    {{8, 1, 16}, {1, 12, 16}},    // rank 3, packed
    {{4, 1, 6}, {1, 5, 1}},       // outer-product-like rank 3
    {{2, 3, 1, 5}, {3, 4, 1}},    // rank 4 general
    {{2, 1, 3, 1, 5}, {1, 4, 1, 6, 1}},  // alternating, rank 5
    {{0, 3}, {3}},                // empty output
    {{2, 0}, {2, 1}},             // empty output, general
    {{0}, {0}},                   // empty same shape
};

TEST(CudaPrimitives, BinaryMatchesCpuForEveryBroadcastKind) {
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  const BinaryOp ops[] = {BinaryOp::kAdd, BinaryOp::kSub, BinaryOp::kMul, BinaryOp::kDiv,
                          BinaryOp::kMax};
  uint32_t seed = 100;
  for (const ShapePair& sp : kBroadcastCases) {
    const BroadcastPlan plan = make_broadcast_plan(sp.a, sp.b);
    const Shape out_shape = broadcast_shapes(sp.a, sp.b);
    for (DType dtype : {DType::kFloat, DType::kDouble, DType::kInt32, DType::kInt64}) {
      Tensor a = random_host(dtype, sp.a, -1000, 1000, seed++);
      Tensor b = random_host(dtype, sp.b, -1000, 1000, seed++);
      Tensor ga = to_gpu(a), gb = to_gpu(b);
      for (BinaryOp op : ops) {
        Tensor want(dtype, out_shape);
        C().binary(cpu(), op, a, b, plan, want);
        Tensor out = gpu_tensor(dtype, out_shape);
        G().binary(gpu(), op, ga, gb, plan, out);
        expect_close(want, out, tol(dtype), tol(dtype) / 10,
                     "binary op " + std::to_string(static_cast<int>(op)) + " " +
                         dtype_name(dtype) + " " + str(sp.a) + " with " + str(sp.b));
      }
    }
  }
}

// Enough elements that every kernel's grid-stride loop makes several trips.
TEST(CudaPrimitives, LargeElementwiseLoopsOverTheGrid) {
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  const int64_t n = (int64_t{1} << 25) + 7;
  Tensor a = random_host(DType::kFloat, Shape{n}, -2, 2, 11);
  Tensor b = random_host(DType::kFloat, Shape{n}, -2, 2, 12);
  Tensor s = random_host(DType::kFloat, Shape{}, 1, 2, 13);
  Tensor ga = to_gpu(a), gb = to_gpu(b), gs = to_gpu(s);
  Tensor want(DType::kFloat, Shape{n});
  Tensor out = gpu_tensor(DType::kFloat, Shape{n});

  C().unary(cpu(), UnaryOp::kSquare, a, want);
  G().unary(gpu(), UnaryOp::kSquare, ga, out);
  expect_exact(want, out, "large square");

  BroadcastPlan same = make_broadcast_plan(Shape{n}, Shape{n});
  C().binary(cpu(), BinaryOp::kMul, a, b, same, want);
  G().binary(gpu(), BinaryOp::kMul, ga, gb, same, out);
  expect_exact(want, out, "large mul");

  BroadcastPlan scalar = make_broadcast_plan(Shape{}, Shape{n});
  C().binary(cpu(), BinaryOp::kSub, s, a, scalar, want);
  G().binary(gpu(), BinaryOp::kSub, gs, ga, scalar, out);
  expect_exact(want, out, "large scalar sub");

  const Shape rows{n / 7, 7};
  Tensor row = random_host(DType::kFloat, Shape{7}, -2, 2, 14);
  BroadcastPlan general = make_broadcast_plan(rows, Shape{7});
  Tensor want2(DType::kFloat, rows), out2 = gpu_tensor(DType::kFloat, rows);
  Tensor ar(DType::kFloat, rows);  // the first n/7 whole rows of a
  std::memcpy(ar.raw_data(), a.raw_data(), ar.bytes());
  C().binary(cpu(), BinaryOp::kAdd, ar, row, general, want2);
  G().binary(gpu(), BinaryOp::kAdd, to_gpu(ar), to_gpu(row), general, out2);
  expect_exact(want2, out2, "large row broadcast add");

  const Shape rows64{n / 64, 64};
  Tensor col = random_host(DType::kFloat, Shape{n / 64, 1}, -2, 2, 15);
  BroadcastPlan packed = make_broadcast_plan(rows64, col.shape());
  Tensor a3(DType::kFloat, rows64);  // the first n/64 whole rows of a
  std::memcpy(a3.raw_data(), a.raw_data(), a3.bytes());
  Tensor want3(DType::kFloat, rows64), out3 = gpu_tensor(DType::kFloat, rows64);
  C().binary(cpu(), BinaryOp::kMax, a3, col, packed, want3);
  G().binary(gpu(), BinaryOp::kMax, to_gpu(a3), to_gpu(col), packed, out3);
  expect_exact(want3, out3, "large column broadcast max");
}

// ---- cast ----

const DType kCastTypes[] = {DType::kFloat, DType::kDouble, DType::kInt32, DType::kUInt8,
                            DType::kInt16, DType::kInt8,   DType::kInt64, DType::kBool,
                            DType::kBFloat16, DType::kHalf};

// Source values as doubles: random fractions of both signs, plus the cases that differ between
// conversion rules: exact zero (-> false), +-0.5 (truncate to 0 but are true), values just
// inside/outside every integer range (saturation), half/bfloat16 overflow and subnormals,
// round-to-nearest-even ties, infinities and NaN.
Tensor cast_source_pool() {
  std::vector<double> v = {0.0,    0.5,     -0.5,   1.0,    -1.0,    127.9,  128.0,    -128.9,
                           -129.0, 255.5,   256.0,  -0.9,   32767.5, 32768.0, -32769.0, 65504.0,
                           65520., 70000.0, 1e10,   -1e10,  3e38,    -3e38,   1e-6,     3e-5,
                           1e-7,   1e-39,   2049.0, 2051.0, 1.0009765625, 2147483647.0,
                           2147483648.0, -2147483649.0, 9.3e18, -9.3e18,
                           std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity(),
                           std::numeric_limits<double>::quiet_NaN()};
  std::mt19937 rng(42);
  std::uniform_real_distribution<double> u(-300, 300);
  while (v.size() < 1037) {
    double x = u(rng);
    if (x != 0) v.push_back(x);
  }
  return Tensor::from_vector(v);
}

TEST(CudaPrimitives, CastMatchesCpuExactlyForEveryPair) {
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  const Tensor pool = cast_source_pool();
  for (DType from : kCastTypes) {
    // The source tensor is made by the CPU cast itself, so both sides read the same bits.
    Tensor src(from, pool.shape());
    C().cast(cpu(), pool, src);
    Tensor gsrc = to_gpu(src);
    for (DType to : kCastTypes) {
      Tensor want(to, pool.shape());
      C().cast(cpu(), src, want);
      Tensor out = gpu_tensor(to, pool.shape());
      G().cast(gpu(), gsrc, out);
      expect_exact(want, out, std::string("cast ") + dtype_name(from) + " -> " + dtype_name(to));
    }
  }
}

TEST(CudaPrimitives, CastOfEmptyAndOddSizes) {
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  for (int64_t n : {0, 1, 7, 15, 17, 33}) {
    Tensor x = random_host(DType::kFloat, Shape{n}, -100, 100, 5 + static_cast<uint32_t>(n));
    Tensor gx = to_gpu(x);
    for (DType to : {DType::kHalf, DType::kInt8, DType::kDouble, DType::kBool}) {
      Tensor want(to, Shape{n});
      C().cast(cpu(), x, want);
      Tensor out = gpu_tensor(to, Shape{n});
      G().cast(gpu(), gx, out);
      expect_exact(want, out, std::string("cast float32 -> ") + dtype_name(to) +
                                  " n=" + std::to_string(n));
    }
  }
}

// More than 2^31 elements: the 64-bit index paths of the contiguous kernel.
TEST(CudaPrimitives, CastBeyondTwoToThe31Elements) {
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  const int64_t n = (int64_t{1} << 31) + 17;
  try {
    Tensor src = gpu_tensor(DType::kUInt8, Shape{n});
    G().fill(gpu(), Tensor::scalar<uint8_t>(200), src);
    Tensor out = gpu_tensor(DType::kInt8, Shape{n});
    G().cast(gpu(), src, out);  // 200 -> int8 wraps to -56
    Tensor host = out.to_host();
    const int8_t* p = host.data<int8_t>();
    int64_t bad = 0;
    for (int64_t i = 0; i < n; ++i) bad += p[i] != -56;
    EXPECT_EQ(bad, 0);
  } catch (const ResourceExhaustedError&) {
    GTEST_SKIP() << "not enough GPU memory for 2 x 2 GiB";
  }
}

// ---- fill / copy ----

TEST(CudaPrimitives, FillMatchesCpu) {
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  const Tensor values[] = {
      Tensor::scalar<float>(3.25f),    Tensor::scalar<float>(0.0f),  // 0.0: the memset path
      Tensor::scalar<double>(-1.5),    Tensor::scalar<int32_t>(7),
      Tensor::scalar<int32_t>(-1),     // all-ones bytes: memset
      Tensor::scalar<int64_t>(-(int64_t{1} << 40) + 3),
      Tensor::scalar<uint8_t>(200),    Tensor::scalar<int16_t>(-3),
      Tensor::scalar<int8_t>(-5),      Tensor::scalar<bool>(true),
      Tensor::scalar<Half>(Half(1.5f)), Tensor::scalar<BFloat16>(BFloat16(2.5f)),
  };
  for (const Tensor& v : values) {
    for (int64_t n : {0, 1, 5, 1037, (1 << 20) + 3}) {
      Tensor want(v.dtype(), Shape{n});
      C().fill(cpu(), v, want);
      Tensor out = gpu_tensor(v.dtype(), Shape{n});
      G().fill(gpu(), v, out);
      expect_exact(want, out, std::string("fill ") + dtype_name(v.dtype()) +
                                  " n=" + std::to_string(n));
    }
  }
}

TEST(CudaPrimitives, CopyMatchesSource) {
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  for (DType dtype : {DType::kFloat, DType::kInt8, DType::kHalf}) {
    for (int64_t n : {0, 1, 1037}) {
      Tensor x = random_host(dtype, Shape{n}, -50, 50, 77);
      Tensor out = gpu_tensor(dtype, Shape{n});
      G().copy(gpu(), to_gpu(x), out);
      expect_exact(x, out, std::string("copy ") + dtype_name(dtype));
    }
  }
}

}  // namespace
}  // namespace kiln::kernels

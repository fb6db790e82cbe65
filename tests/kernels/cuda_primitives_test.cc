// Tests for the CUDA primitives (kernels/cuda/): each one is run on random inputs and compared
// with the CPU primitive of the same name, which is the reference. Exact equality where both
// devices must produce the same bits (casts, fills, copies, transposes, integer math, max),
// dtype-scaled tolerances for floating-point math whose rounding legitimately differs (libm vs
// CUDA math, summation order, FMA).
//
// Every test skips without a GPU. Plain C++ (no CUDA headers), so it builds everywhere.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/errors.h"
#include "core/gpu.h"
#include "core/shape.h"
#include "core/tensor.h"
#include "kernels/broadcast.h"
#include "kernels/cuda/cuda_primitives.h"
#include "kernels/primitives.h"

namespace kiln::kernels {
namespace {

// ---- devices and data movement ----

Device& gpu() {
  static Device* d = new Device(DeviceSpec::gpu(0), 0, 0);  // never destroyed: outlives tensors
  return *d;
}

Device& cpu() {
  static Device* d = new Device(DeviceSpec::cpu(0));
  return *d;
}

const Primitives& G() { return cuda_primitives(); }
const Primitives& C() { return cpu_primitives(); }

Tensor to_gpu(const Tensor& host) { return host.copy_to(gpu().allocator(), gpu().spec()); }
Tensor gpu_tensor(DType dtype, const Shape& shape) {
  return Tensor(dtype, shape, gpu().allocator(), gpu().spec());
}

// ---- host data ----

// Calls f(T{}) with the host C++ type of a non-string dtype.
template <typename F>
void visit(DType dtype, F&& f) {
  switch (dtype) {
    case DType::kFloat: return f(float{});
    case DType::kDouble: return f(double{});
    case DType::kInt32: return f(int32_t{});
    case DType::kUInt8: return f(uint8_t{});
    case DType::kInt16: return f(int16_t{});
    case DType::kInt8: return f(int8_t{});
    case DType::kInt64: return f(int64_t{});
    case DType::kBool: return f(bool{});
    case DType::kBFloat16: return f(BFloat16{});
    case DType::kHalf: return f(Half{});
    default: FAIL() << "unexpected dtype " << dtype_name(dtype);
  }
}

template <typename T>
T from_double(double v) {
  if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
    return T(static_cast<float>(v));
  } else {
    return static_cast<T>(v);
  }
}

template <typename T>
double to_double(T v) {
  if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
    return static_cast<double>(static_cast<float>(v));
  } else {
    return static_cast<double>(v);
  }
}

// A host tensor of uniform values in [lo, hi), never zero (a zero would hide an unwritten
// output); integer dtypes get integers in that range.
Tensor random_host(DType dtype, const Shape& shape, double lo, double hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  Tensor t(dtype, shape);
  visit(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.num_elements(); ++i) {
      T v;
      do {
        const double d = u(rng);
        v = from_double<T>(dtype_is_integer(dtype) ? std::floor(d) : d);
      } while (to_double(v) == 0);
      p[i] = v;
    }
  });
  return t;
}

std::vector<double> as_doubles(const Tensor& host) {
  std::vector<double> out(host.num_elements());
  visit(host.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = host.data<T>();
    for (int64_t i = 0; i < host.num_elements(); ++i) out[i] = to_double(p[i]);
  });
  return out;
}

bool is_floating(DType d) {
  return d == DType::kFloat || d == DType::kDouble || d == DType::kHalf || d == DType::kBFloat16;
}

// Relative and absolute tolerance for floating-point results that may differ in rounding.
double tol(DType dtype) {
  switch (dtype) {
    case DType::kFloat: return 1e-5;
    case DType::kDouble: return 1e-12;
    default: return 0;
  }
}

// Checks `actual` (any device) against the host tensor `expected`: same dtype and shape, and
// every element within atol + rtol * |expected| (NaN matches NaN, infinities must be equal).
// With rtol == atol == 0 the check is exact: bit for bit for integers and bools, value for
// value for floating types.
void expect_close(const Tensor& expected, const Tensor& actual, double rtol, double atol,
                  const std::string& what) {
  Tensor got = actual.to_host();
  ASSERT_EQ(got.dtype(), expected.dtype()) << what;
  ASSERT_EQ(got.shape(), expected.shape()) << what;
  const int64_t n = expected.num_elements();
  if (!is_floating(expected.dtype())) {
    const size_t size = dtype_size(expected.dtype());
    const auto* e = static_cast<const unsigned char*>(expected.raw_data());
    const auto* g = static_cast<const unsigned char*>(got.raw_data());
    int64_t bad = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (std::memcmp(e + i * size, g + i * size, size) == 0) continue;
      if (bad++ < 5)
        ADD_FAILURE() << what << ": element " << i << " expected "
                      << as_doubles(expected)[i] << " got " << as_doubles(got)[i];
    }
    EXPECT_EQ(bad, 0) << what;
    return;
  }
  const std::vector<double> e = as_doubles(expected), g = as_doubles(got);
  int64_t bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(e[i]) && std::isnan(g[i])) continue;
    if (e[i] == g[i]) continue;
    if (std::fabs(e[i] - g[i]) <= atol + rtol * std::fabs(e[i])) continue;
    if (bad++ < 5)
      ADD_FAILURE() << what << ": element " << i << " expected " << e[i] << " got " << g[i];
  }
  EXPECT_EQ(bad, 0) << what << " (" << bad << " of " << n << " elements differ)";
}

void expect_exact(const Tensor& expected, const Tensor& actual, const std::string& what) {
  expect_close(expected, actual, 0, 0, what);
}

std::string str(const Shape& s) { return s.to_string(); }

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

// ---- reduce ----

TEST(CudaPrimitives, ReduceMatchesCpu) {
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  const ReduceShape shapes[] = {
      {1, 1000, 1},  // full reduction
      {1, 1, 1},     {37, 129, 1},  // rows (contiguous segments)
      {1, 129, 37},  // columns (bias-gradient shape)
      {5, 17, 9},    // general
      {64, 3, 1},    {1, 5000, 2},
      {3, 0, 4},     // empty reductions: sum 0, mean NaN/0, max -inf/lowest
      {1, 0, 1},     {0, 5, 3},  // empty output
  };
  const ReduceOp ops[] = {ReduceOp::kSum, ReduceOp::kMean, ReduceOp::kMax};
  uint32_t seed = 300;
  for (const ReduceShape& s : shapes) {
    const Shape in_shape{s.outer, s.reduced, s.inner}, out_shape{s.outer, s.inner};
    for (DType dtype : {DType::kFloat, DType::kDouble, DType::kInt32, DType::kInt64}) {
      Tensor x = random_host(dtype, in_shape, -50, 50, seed++);
      Tensor gx = to_gpu(x);
      for (ReduceOp op : ops) {
        Tensor want(dtype, out_shape);
        C().reduce(cpu(), op, x, s, want);
        Tensor out = gpu_tensor(dtype, out_shape);
        G().reduce(gpu(), op, gx, s, out);
        // Sums of up to 5000 terms of magnitude <= 50, added in different orders.
        const double scale = op == ReduceOp::kSum ? 50.0 * s.reduced : 50.0;
        const double atol = op == ReduceOp::kMax ? 0 : tol(dtype) * scale;
        expect_close(want, out, op == ReduceOp::kMax ? 0 : tol(dtype), atol,
                     "reduce op " + std::to_string(static_cast<int>(op)) + " " +
                         dtype_name(dtype) + " [" + std::to_string(s.outer) + "," +
                         std::to_string(s.reduced) + "," + std::to_string(s.inner) + "]");
      }
    }
  }
}

TEST(CudaPrimitives, ReduceMaxPropagatesNaN) {
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  Tensor x = random_host(DType::kFloat, Shape{4, 100}, -5, 5, 9);
  x.data<float>()[150] = std::numeric_limits<float>::quiet_NaN();  // row 1
  Tensor out = gpu_tensor(DType::kFloat, Shape{4});
  G().reduce(gpu(), ReduceOp::kMax, to_gpu(x), ReduceShape{4, 100, 1}, out);
  std::vector<float> got = out.to_vector<float>();
  EXPECT_FALSE(std::isnan(got[0]));
  EXPECT_TRUE(std::isnan(got[1]));
  EXPECT_FALSE(std::isnan(got[2]));
}

TEST(CudaPrimitives, LargeFullReduceIsAccurate) {
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  const int64_t n = (int64_t{1} << 24) + 3;
  Tensor x = random_host(DType::kFloat, Shape{n}, 0.5, 1.5, 21);
  double sum = 0, mx = -1;
  for (float v : x.to_vector<float>()) sum += v, mx = std::max<double>(mx, v);
  Tensor gx = to_gpu(x);
  const ReduceShape s{1, n, 1};
  Tensor out = gpu_tensor(DType::kFloat, Shape{1});
  G().reduce(gpu(), ReduceOp::kSum, gx, s, out);
  EXPECT_NEAR(out.item<float>(), sum, 1e-5 * sum);
  G().reduce(gpu(), ReduceOp::kMean, gx, s, out);
  EXPECT_NEAR(out.item<float>(), sum / n, 1e-5 * sum / n);
  G().reduce(gpu(), ReduceOp::kMax, gx, s, out);
  EXPECT_EQ(out.item<float>(), static_cast<float>(mx));
  // Deterministic: the same bits on a second run.
  Tensor out2 = gpu_tensor(DType::kFloat, Shape{1});
  G().reduce(gpu(), ReduceOp::kSum, gx, s, out);
  G().reduce(gpu(), ReduceOp::kSum, gx, s, out2);
  EXPECT_EQ(out.item<float>(), out2.item<float>());
}

// ---- transpose ----

TEST(CudaPrimitives, TransposeMatchesCpu) {
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  struct Case { Shape shape; std::vector<int> perm; };
  const Case cases[] = {
      {{37, 65}, {1, 0}},                 // 2-D: tiled, partial tiles
      {{64, 128}, {1, 0}},                // 2-D: whole tiles
      {{3, 33, 70}, {0, 2, 1}},           // batched 2-D: tiled
      {{1, 5, 1, 7}, {3, 2, 1, 0}},       // size-1 dims dropped -> 2-D
      {{4, 5, 6}, {2, 0, 1}},             // generic
      {{2, 3, 4, 5}, {3, 1, 0, 2}},       // generic rank 4
      {{4, 5, 6}, {0, 1, 2}},             // identity: a copy
      {{6, 7, 8}, {1, 2, 0}},             // merges to 2-D
      {{2, 1, 3, 2, 1, 2, 3, 2}, {7, 2, 5, 0, 4, 6, 1, 3}},  // rank 8
      {{0, 3}, {1, 0}},                   // empty
      {{}, {}},                           // scalar
  };
  uint32_t seed = 500;
  for (const Case& c : cases) {
    std::vector<int64_t> out_dims;
    for (int p : c.perm) out_dims.push_back(c.shape.dim(p));
    const Shape out_shape(out_dims);
    for (DType dtype : {DType::kInt8, DType::kHalf, DType::kFloat, DType::kDouble}) {
      Tensor x = random_host(dtype, c.shape, -100, 100, seed++);
      Tensor want(dtype, out_shape);
      C().transpose(cpu(), x, c.perm, want);
      Tensor out = gpu_tensor(dtype, out_shape);
      G().transpose(gpu(), to_gpu(x), c.perm, out);
      expect_exact(want, out, "transpose " + str(c.shape) + " " + dtype_name(dtype));
    }
  }
}

// ---- matmul ----

// ||got - want||_F / ||want||_F.
double relative_frobenius(const std::vector<double>& want, const std::vector<double>& got) {
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    num += (got[i] - want[i]) * (got[i] - want[i]);
    den += want[i] * want[i];
  }
  return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}

Shape stored_shape(int64_t rows, int64_t cols, bool transposed) {
  return transposed ? Shape{cols, rows} : Shape{rows, cols};
}

TEST(CudaPrimitives, MatmulMatchesCpu) {
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  struct Mkn { int64_t m, k, n; };
  const Mkn sizes[] = {{1, 1, 1}, {7, 13, 5}, {33, 65, 17}, {64, 128, 32},
                       {0, 5, 3}, {4, 0, 3},  {3, 5, 0}};
  uint32_t seed = 700;
  for (DType dtype : {DType::kFloat, DType::kDouble}) {
    for (const Mkn& s : sizes) {
      for (int combo = 0; combo < 4; ++combo) {
        const bool ta = combo & 1, tb = combo & 2;
        Tensor a = random_host(dtype, stored_shape(s.m, s.k, ta), -1, 1, seed++);
        Tensor b = random_host(dtype, stored_shape(s.k, s.n, tb), -1, 1, seed++);
        Tensor want(dtype, Shape{s.m, s.n});
        C().matmul(cpu(), a, b, ta, tb, want);
        Tensor out = gpu_tensor(dtype, Shape{s.m, s.n});
        G().matmul(gpu(), to_gpu(a), to_gpu(b), ta, tb, out);
        const std::string what = std::string("matmul ") + dtype_name(dtype) + " " +
                                 std::to_string(s.m) + "x" + std::to_string(s.k) + "x" +
                                 std::to_string(s.n) + " ta=" + std::to_string(ta) +
                                 " tb=" + std::to_string(tb);
        Tensor got = out.to_host();
        ASSERT_EQ(got.shape(), want.shape()) << what;
        EXPECT_LT(relative_frobenius(as_doubles(want), as_doubles(got)),
                  dtype == DType::kFloat ? 1e-5 : 1e-12)
            << what;
        if (s.k == 0) expect_exact(want, out, what);  // exactly zero
      }
    }
  }
}

// Strict FP32 on a size where TF32 would show (its error is ~1e-3): checked against a float64
// product computed here, independent of the CPU primitive.
TEST(CudaPrimitives, MatmulLargeIsStrictFp32) {
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  const int64_t m = 512, k = 1024, n = 256;
  Tensor a = random_host(DType::kFloat, Shape{m, k}, -1, 1, 801);
  Tensor b = random_host(DType::kFloat, Shape{k, n}, -1, 1, 802);
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  std::vector<double> want(m * n, 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t p = 0; p < k; ++p) {
      const double av = pa[i * k + p];
      for (int64_t j = 0; j < n; ++j) want[i * n + j] += av * pb[p * n + j];
    }
  Tensor out = gpu_tensor(DType::kFloat, Shape{m, n});
  G().matmul(gpu(), to_gpu(a), to_gpu(b), false, false, out);
  EXPECT_LT(relative_frobenius(want, as_doubles(out.to_host())), 1e-5);
}

#if defined(KILN_HAVE_CUDA)
TEST(CudaPrimitives, CublasHandleIsCachedPerStream) {
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  void* h = cuda::cublas_handle(gpu());
  EXPECT_NE(h, nullptr);
  EXPECT_EQ(h, cuda::cublas_handle(gpu()));
  Device other(DeviceSpec::gpu(1), 0, 1);  // a second logical GPU: its own stream
  EXPECT_NE(h, cuda::cublas_handle(other));
}
#endif

// ---- softmax / sparse cross-entropy ----

TEST(CudaPrimitives, SoftmaxMatchesCpu) {
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  struct Case { Shape shape; double lo, hi; };
  const Case cases[] = {
      {{1, 1}, -10, 10},     {{7, 10}, -10, 10},      {{5, 32}, -10, 10},  // warp per row
      {{5, 33}, -10, 10},    {{8, 200}, -10, 10},     {{6, 300}, -10, 10},
      {{129, 1000}, -10, 10}, {{3, 1024}, -10, 10},
      {{5, 1025}, -10, 10},  {{3, 5000}, -10, 10},                              // block per row
      {{2, 3, 17}, -10, 10}, {{4, 50}, 990, 1010},  // large logits: needs max subtraction
      {{0, 10}, -1, 1},      {{3, 0}, -1, 1},
  };
  uint32_t seed = 900;
  for (const Case& c : cases) {
    for (DType dtype : {DType::kFloat, DType::kDouble}) {
      Tensor x = random_host(dtype, c.shape, c.lo, c.hi, seed++);
      Tensor want(dtype, c.shape);
      C().softmax(cpu(), x, want);
      Tensor out = gpu_tensor(dtype, c.shape);
      G().softmax(gpu(), to_gpu(x), out);
      expect_close(want, out, tol(dtype) * 10, tol(dtype) / 10,
                   "softmax " + str(c.shape) + " " + dtype_name(dtype));
    }
  }
}

TEST(CudaPrimitives, SparseXentMatchesCpu) {
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  struct Case { int64_t batch, classes; };
  const Case cases[] = {{1, 1}, {7, 10}, {9, 129}, {64, 1000}, {3, 3000}, {0, 5}};
  uint32_t seed = 1000;
  for (const Case& c : cases) {
    for (DType dtype : {DType::kFloat, DType::kDouble}) {
      for (DType label_type : {DType::kInt32, DType::kInt64}) {
        Tensor logits = random_host(dtype, Shape{c.batch, c.classes}, -10, 10, seed++);
        std::mt19937 rng(seed++);
        std::vector<int64_t> l(c.batch);
        for (auto& v : l) v = std::uniform_int_distribution<int64_t>(0, c.classes - 1)(rng);
        Tensor labels(label_type, Shape{c.batch});
        for (int64_t i = 0; i < c.batch; ++i) {
          if (label_type == DType::kInt32) labels.data<int32_t>()[i] = static_cast<int32_t>(l[i]);
          else labels.data<int64_t>()[i] = l[i];
        }
        Tensor want_loss(dtype, Shape{c.batch}), want_back(dtype, logits.shape());
        C().sparse_xent(cpu(), logits, labels, want_loss, want_back);
        Tensor loss = gpu_tensor(dtype, Shape{c.batch});
        Tensor back = gpu_tensor(dtype, logits.shape());
        G().sparse_xent(gpu(), to_gpu(logits), to_gpu(labels), loss, back);
        const std::string what = "sparse_xent [" + std::to_string(c.batch) + "," +
                                 std::to_string(c.classes) + "] " + dtype_name(dtype) + " " +
                                 dtype_name(label_type);
        expect_close(want_loss, loss, tol(dtype) * 10, tol(dtype), what + " loss");
        expect_close(want_back, back, tol(dtype) * 10, tol(dtype) / 10, what + " backprop");
      }
    }
  }
}

TEST(CudaPrimitives, SparseXentOutOfRangeLabelGivesNaNRow) {
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  const int64_t batch = 4;
  for (int32_t classes : {6, 2000}) {  // the warp-per-row and the block-per-row kernel
    Tensor logits = random_host(DType::kFloat, Shape{batch, classes}, -3, 3, 1234);
    Tensor labels = Tensor::from_vector<int32_t>({2, -1, classes, 0});  // rows 1, 2 invalid
    Tensor loss = gpu_tensor(DType::kFloat, Shape{batch});
    Tensor back = gpu_tensor(DType::kFloat, Shape{batch, classes});
    G().sparse_xent(gpu(), to_gpu(logits), to_gpu(labels), loss, back);
    std::vector<float> l = loss.to_vector<float>(), bp = back.to_vector<float>();
    for (int64_t r = 0; r < batch; ++r) {
      const bool bad = r == 1 || r == 2;
      EXPECT_EQ(std::isnan(l[r]), bad) << "classes " << classes << " row " << r;
      int64_t nans = 0;
      for (int64_t j = 0; j < classes; ++j) nans += std::isnan(bp[r * classes + j]);
      EXPECT_EQ(nans, bad ? classes : 0) << "classes " << classes << " row " << r;
    }
    // The valid rows agree with the CPU.
    Tensor good_labels = Tensor::from_vector<int32_t>({2, 0, 0, 0});
    Tensor want_loss(DType::kFloat, Shape{batch});
    Tensor want_back(DType::kFloat, Shape{batch, classes});
    C().sparse_xent(cpu(), logits, good_labels, want_loss, want_back);
    for (int64_t r : {0, 3})
      EXPECT_NEAR(l[r], want_loss.data<float>()[r], 1e-4) << "classes " << classes << " row " << r;
  }
}

}  // namespace
}  // namespace kiln::kernels

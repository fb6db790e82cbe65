// Shared helpers of the op test suite (tests/ops), in the spirit of ggml's test-backend-ops:
// random inputs from a seeded std::mt19937, double-precision references written with plain
// loops, and comparisons that print the first mismatch.
//
// Every test builds a graph with the public builders, runs it in a kiln::Session and compares
// with a reference computed here or in the test, never with the library's own helpers.
#pragma once

#include <gtest/gtest.h>
#include <kiln/kiln.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace kiln_test {

using kiln::DType;
using kiln::Graph;
using kiln::Output;
using kiln::Session;
using kiln::SessionOptions;
using kiln::Shape;
using kiln::Tensor;

// ---- shapes -------------------------------------------------------------------------------------

inline int64_t num_elements(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s.dims()) n *= d;
  return n;
}

// Row-major strides of `s`.
inline std::vector<int64_t> strides_of(const std::vector<int64_t>& dims) {
  std::vector<int64_t> st(dims.size(), 1);
  for (int i = static_cast<int>(dims.size()) - 2; i >= 0; --i) st[i] = st[i + 1] * dims[i + 1];
  return st;
}

// Multi-index of flat position `flat` in `dims`, as "[i,j,k]".
inline std::string index_string(const std::vector<int64_t>& dims, int64_t flat) {
  std::vector<int64_t> st = strides_of(dims);
  std::ostringstream os;
  os << "[";
  for (size_t d = 0; d < dims.size(); ++d) {
    int64_t i = dims[d] ? (flat / st[d]) % dims[d] : 0;
    os << (d ? "," : "") << i;
  }
  os << "]";
  return os.str();
}

// ---- 16-bit float references (written here, independent of kiln's Half/BFloat16) ------------

// IEEE binary16 bits of `f`, round to nearest even (finite inputs; overflow gives inf).
inline uint16_t ref_half_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  double a = std::fabs(static_cast<double>(f));
  if (std::isnan(a)) return sign | 0x7e00u;
  if (a >= 65520.0) return sign | 0x7c00u;  // rounds to infinity
  if (a < std::ldexp(1.0, -14)) {            // subnormal (or zero)
    double q = std::nearbyint(a / std::ldexp(1.0, -24));
    return sign | static_cast<uint16_t>(q);  // q == 1024 is the smallest normal: still right
  }
  int e;
  double m = std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  m *= 2;
  e -= 1;  // m in [1, 2)
  double q = std::nearbyint((m - 1.0) * 1024.0);
  if (q == 1024.0) { q = 0; e += 1; }
  if (e > 15) return sign | 0x7c00u;
  return sign | static_cast<uint16_t>(((e + 15) << 10) | static_cast<int>(q));
}

inline double ref_half_to_double(uint16_t h) {
  int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  double v;
  if (exp == 0) v = std::ldexp(static_cast<double>(man), -24);
  else if (exp == 31) v = man ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  else v = std::ldexp(1.0 + man / 1024.0, exp - 15);
  return sign ? -v : v;
}

// bfloat16 bits of `f`, round to nearest even (finite, non-NaN inputs).
inline uint16_t ref_bfloat16_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  uint32_t lsb = (u >> 16) & 1u;
  u += 0x7fffu + lsb;
  return static_cast<uint16_t>(u >> 16);
}

inline double ref_bfloat16_to_double(uint16_t b) {
  uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// ---- tensors from and to doubles ----------------------------------------------------------------

// A host tensor of `dtype` holding `values` (floats rounded to the dtype, ints rounded to nearest).
inline Tensor make_tensor(DType dtype, const Shape& shape, const std::vector<double>& values) {
  Tensor t(dtype, shape);
  EXPECT_EQ(static_cast<int64_t>(values.size()), t.num_elements());
  for (size_t i = 0; i < values.size(); ++i) {
    double v = values[i];
    switch (dtype) {
      case DType::kFloat: t.data<float>()[i] = static_cast<float>(v); break;
      case DType::kDouble: t.data<double>()[i] = v; break;
      case DType::kInt32: t.data<int32_t>()[i] = static_cast<int32_t>(std::llround(v)); break;
      case DType::kInt64: t.data<int64_t>()[i] = static_cast<int64_t>(std::llround(v)); break;
      case DType::kHalf: t.data<kiln::Half>()[i] = kiln::Half::from_bits(ref_half_bits(static_cast<float>(v))); break;
      case DType::kBFloat16:
        t.data<kiln::BFloat16>()[i] = kiln::BFloat16::from_bits(ref_bfloat16_bits(static_cast<float>(v)));
        break;
      default: ADD_FAILURE() << "make_tensor: unsupported dtype " << kiln::dtype_name(dtype); return t;
    }
  }
  return t;
}

// The elements of `t` (copied to the host) as doubles.
inline std::vector<double> to_doubles(const Tensor& t) {
  Tensor h = t.to_host();
  int64_t n = h.num_elements();
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    switch (h.dtype()) {
      case DType::kFloat: out[i] = h.data<float>()[i]; break;
      case DType::kDouble: out[i] = h.data<double>()[i]; break;
      case DType::kInt32: out[i] = h.data<int32_t>()[i]; break;
      case DType::kInt64: out[i] = static_cast<double>(h.data<int64_t>()[i]); break;
      case DType::kHalf: out[i] = ref_half_to_double(h.data<kiln::Half>()[i].bits); break;
      case DType::kBFloat16: out[i] = ref_bfloat16_to_double(h.data<kiln::BFloat16>()[i].bits); break;
      default: ADD_FAILURE() << "to_doubles: unsupported dtype " << kiln::dtype_name(h.dtype()); return out;
    }
  }
  return out;
}

// `n` values uniform in [lo, hi]; integers for integer dtypes. When `min_abs` > 0 the values are
// kept at least that far from 0 (divisors, logs), with a random sign when lo < 0.
inline std::vector<double> random_values(std::mt19937& gen, DType dtype, int64_t n, double lo = -2,
                                         double hi = 2, double min_abs = 0) {
  std::vector<double> v(static_cast<size_t>(n));
  bool integer = dtype == DType::kInt32 || dtype == DType::kInt64;
  for (auto& x : v) {
    for (;;) {
      if (integer) x = static_cast<double>(std::uniform_int_distribution<int64_t>(
                       static_cast<int64_t>(lo), static_cast<int64_t>(hi))(gen));
      else x = std::uniform_real_distribution<double>(lo, hi)(gen);
      if (std::fabs(x) >= min_abs) break;
    }
  }
  return v;
}

// A random host tensor; also returns its values (as stored, i.e. after rounding) in `values`.
inline Tensor random_tensor(std::mt19937& gen, DType dtype, const Shape& shape,
                            std::vector<double>* values = nullptr, double lo = -2, double hi = 2,
                            double min_abs = 0) {
  Tensor t = make_tensor(dtype, shape, random_values(gen, dtype, num_elements(shape), lo, hi, min_abs));
  if (values) *values = to_doubles(t);
  return t;
}

// ---- tolerances and comparisons -----------------------------------------------------------------

struct Tol {
  double rtol = 0;
  double atol = 0;
};

// Tolerance of one elementwise op computed in `dtype` against a double reference.
inline Tol default_tol(DType dtype) {
  switch (dtype) {
    case DType::kFloat: return {2e-6, 1e-6};
    case DType::kDouble: return {1e-13, 1e-14};
    case DType::kHalf: return {1e-3, 1e-4};
    case DType::kBFloat16: return {8e-3, 1e-3};
    default: return {0, 0};
  }
}

inline bool close(double actual, double expected, Tol tol) {
  if (std::isnan(expected)) return std::isnan(actual);
  if (std::isinf(expected)) return actual == expected;
  return std::fabs(actual - expected) <= tol.atol + tol.rtol * std::fabs(expected);
}

// True when `actual` (any numeric dtype, any device) has `dtype` and `shape` and its elements
// are within `tol` of `expected`; otherwise describes the first mismatch, the worst one and how
// many elements differ.
inline ::testing::AssertionResult AllClose(const Tensor& actual, DType dtype, const Shape& shape,
                                           const std::vector<double>& expected, Tol tol) {
  if (!actual.valid()) return ::testing::AssertionFailure() << "result is an empty Tensor";
  if (actual.dtype() != dtype)
    return ::testing::AssertionFailure() << "dtype " << kiln::dtype_name(actual.dtype())
                                         << ", expected " << kiln::dtype_name(dtype);
  if (actual.shape() != shape)
    return ::testing::AssertionFailure() << "shape " << actual.shape().to_string() << ", expected "
                                         << shape.to_string();
  if (static_cast<int64_t>(expected.size()) != num_elements(shape))
    return ::testing::AssertionFailure() << "test bug: " << expected.size()
                                         << " expected values for shape " << shape.to_string();
  std::vector<double> got = to_doubles(actual);
  int64_t bad = 0, first = -1, worst = -1;
  double worst_err = -1;
  for (size_t i = 0; i < got.size(); ++i) {
    if (close(got[i], expected[i], tol)) continue;
    ++bad;
    if (first < 0) first = static_cast<int64_t>(i);
    double err = std::fabs(got[i] - expected[i]);
    if (!(err <= worst_err)) { worst_err = err; worst = static_cast<int64_t>(i); }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  std::ostringstream os;
  os.precision(17);
  os << bad << " of " << got.size() << " elements differ (rtol " << tol.rtol << ", atol " << tol.atol
     << "); first at " << index_string(shape.dims(), first) << ": got " << got[first] << ", expected "
     << expected[first] << "; worst at " << index_string(shape.dims(), worst) << ": got " << got[worst]
     << ", expected " << expected[worst];
  return ::testing::AssertionFailure() << os.str();
}

// Same dtype, shape and bytes.
inline ::testing::AssertionResult BitEqual(const Tensor& actual, const Tensor& expected) {
  Tensor a = actual.to_host(), e = expected.to_host();
  if (a.dtype() != e.dtype())
    return ::testing::AssertionFailure() << "dtype " << kiln::dtype_name(a.dtype()) << " vs "
                                         << kiln::dtype_name(e.dtype());
  if (a.shape() != e.shape())
    return ::testing::AssertionFailure() << "shape " << a.shape().to_string() << " vs "
                                         << e.shape().to_string();
  size_t es = kiln::dtype_size(a.dtype());
  const auto* pa = static_cast<const unsigned char*>(a.raw_data());
  const auto* pe = static_cast<const unsigned char*>(e.raw_data());
  for (int64_t i = 0; i < a.num_elements(); ++i) {
    if (std::memcmp(pa + i * es, pe + i * es, es) != 0) {
      std::ostringstream os;
      os << "element " << index_string(a.shape().dims(), i) << " differs: bytes";
      for (size_t b = 0; b < es; ++b) os << " " << std::hex << int(pa[i * es + b]);
      os << " vs";
      for (size_t b = 0; b < es; ++b) os << " " << std::hex << int(pe[i * es + b]);
      return ::testing::AssertionFailure() << os.str();
    }
  }
  return ::testing::AssertionSuccess();
}

// Distance in units in the last place between two finite floats of the same sign convention.
inline int64_t ulp_distance(float a, float b) {
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  int64_t la = ia < 0 ? int64_t{INT32_MIN} - ia : ia;
  int64_t lb = ib < 0 ? int64_t{INT32_MIN} - ib : ib;
  return la > lb ? la - lb : lb - la;
}
inline int64_t ulp_distance(double a, double b) {
  int64_t ia, ib;
  std::memcpy(&ia, &a, 8);
  std::memcpy(&ib, &b, 8);
  // Map to a monotonic integer line (saturating is fine for test-sized distances).
  auto line = [](int64_t i) { return i < 0 ? std::numeric_limits<int64_t>::min() - i : i; };
  int64_t la = line(ia), lb = line(ib);
  return la > lb ? la - lb : lb - la;
}

// ---- references ---------------------------------------------------------------------------------

// numpy broadcasting, written independently of kiln::broadcast_shapes.
inline bool ref_broadcast_shape(const Shape& a, const Shape& b, Shape* out) {
  size_t r = std::max(a.dims().size(), b.dims().size());
  std::vector<int64_t> dims(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.dims().size() ? 1 : a.dims()[i - (r - a.dims().size())];
    int64_t db = i < r - b.dims().size() ? 1 : b.dims()[i - (r - b.dims().size())];
    if (da != db && da != 1 && db != 1) return false;
    dims[i] = da == 1 ? db : da;
  }
  *out = Shape(dims);
  return true;
}

// Flat index into a tensor of shape `s` (right-aligned under `out_dims`) for output multi-index.
inline int64_t broadcast_source(const std::vector<int64_t>& out_dims, int64_t flat, const Shape& s) {
  std::vector<int64_t> ost = strides_of(out_dims);
  std::vector<int64_t> sst = strides_of(s.dims());
  size_t off = out_dims.size() - s.dims().size();
  int64_t src = 0;
  for (size_t d = 0; d < s.dims().size(); ++d) {
    int64_t i = (flat / ost[d + off]) % out_dims[d + off];
    if (s.dims()[d] != 1) src += i * sst[d];
  }
  return src;
}

inline std::vector<double> ref_binary(const std::vector<double>& a, const Shape& sa,
                                      const std::vector<double>& b, const Shape& sb,
                                      const std::function<double(double, double)>& f, Shape* out_shape) {
  Shape out;
  EXPECT_TRUE(ref_broadcast_shape(sa, sb, &out)) << sa.to_string() << " vs " << sb.to_string();
  *out_shape = out;
  int64_t n = num_elements(out);
  std::vector<double> r(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    r[i] = f(a[broadcast_source(out.dims(), i, sa)], b[broadcast_source(out.dims(), i, sb)]);
  return r;
}

enum class RefReduce { kSum, kMean, kMax };

// Reduction of x (shape s) over `axes` (negative allowed; empty = all), plain loops.
inline std::vector<double> ref_reduce(const std::vector<double>& x, const Shape& s,
                                      std::vector<int64_t> axes, RefReduce op, bool keep_dims,
                                      Shape* out_shape) {
  int rank = static_cast<int>(s.dims().size());
  std::vector<bool> red(rank, axes.empty());
  for (int64_t a : axes) red[a < 0 ? a + rank : a] = true;
  std::vector<int64_t> out_dims, kept_dims;
  for (int d = 0; d < rank; ++d) {
    if (!red[d]) { out_dims.push_back(s.dims()[d]); kept_dims.push_back(s.dims()[d]); }
    else if (keep_dims) out_dims.push_back(1);
  }
  *out_shape = Shape(out_dims);
  int64_t n_out = 1;
  for (int64_t d : kept_dims) n_out *= d;
  std::vector<double> acc(static_cast<size_t>(n_out),
                          op == RefReduce::kMax ? -std::numeric_limits<double>::infinity() : 0.0);
  std::vector<int64_t> cnt(static_cast<size_t>(n_out), 0);
  std::vector<int64_t> st = strides_of(s.dims());
  std::vector<int64_t> kst = strides_of(kept_dims);
  int64_t n = num_elements(s);
  for (int64_t i = 0; i < n; ++i) {
    int64_t o = 0;
    for (int d = 0, k = 0; d < rank; ++d) {
      int64_t idx = (i / st[d]) % s.dims()[d];
      if (!red[d]) o += idx * kst[k++];
    }
    if (op == RefReduce::kMax) acc[o] = std::max(acc[o], x[i]);
    else acc[o] += x[i];
    ++cnt[o];
  }
  if (op == RefReduce::kMean)
    for (size_t o = 0; o < acc.size(); ++o)
      acc[o] = cnt[o] ? acc[o] / cnt[o] : std::numeric_limits<double>::quiet_NaN();
  return acc;
}

// C[m,n] = op(A) op(B) in double.
inline std::vector<double> ref_matmul(const std::vector<double>& a, const Shape& sa,
                                      const std::vector<double>& b, const Shape& sb, bool ta, bool tb,
                                      Shape* out_shape) {
  int64_t m = ta ? sa.dim(1) : sa.dim(0), k = ta ? sa.dim(0) : sa.dim(1);
  int64_t n = tb ? sb.dim(0) : sb.dim(1);
  *out_shape = Shape{m, n};
  std::vector<double> c(static_cast<size_t>(m * n), 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t p = 0; p < k; ++p) {
        double av = ta ? a[p * sa.dim(1) + i] : a[i * sa.dim(1) + p];
        double bv = tb ? b[j * sb.dim(1) + p] : b[p * sb.dim(1) + j];
        s += av * bv;
      }
      c[i * n + j] = s;
    }
  return c;
}

// ---- sessions and errors ------------------------------------------------------------------------

inline SessionOptions cpu_only() {
  SessionOptions o;
  o.gpu_devices = 0;
  return o;
}

// Runs `fetch` in a fresh CPU-only session and returns the value on the host.
inline Tensor run_cpu(Graph& g, Output fetch, const kiln::FeedList& feeds = {}) {
  Session s(g, cpu_only());
  return s.run(fetch, feeds).to_host();
}

// True when `message` mentions `shape` in one of the usual spellings: "[2,3]", "[2, 3]", "(2, 3)".
inline bool mentions_shape(const std::string& message, const Shape& shape) {
  std::string compact = "[", spaced = "[", tuple = "(";
  for (size_t i = 0; i < shape.dims().size(); ++i) {
    std::string d = std::to_string(shape.dims()[i]);
    compact += (i ? "," : "") + d;
    spaced += (i ? ", " : "") + d;
    tuple += (i ? ", " : "") + d;
  }
  compact += "]";
  spaced += "]";
  tuple += shape.dims().size() == 1 ? ",)" : ")";
  return message.find(compact) != std::string::npos || message.find(spaced) != std::string::npos ||
         message.find(tuple) != std::string::npos ||
         (shape.dims().size() == 1 && message.find("(" + std::to_string(shape.dims()[0]) + ")") != std::string::npos);
}

// Runs `f`, expecting exception E whose message contains every string of `needles`.
template <typename E, typename F>
::testing::AssertionResult ThrowsWith(F&& f, const std::vector<std::string>& needles) {
  try {
    f();
  } catch (const E& e) {
    std::string msg = e.what();
    for (const auto& n : needles)
      if (msg.find(n) == std::string::npos)
        return ::testing::AssertionFailure() << "message \"" << msg << "\" lacks \"" << n << "\"";
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a different exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

inline const char* dname(DType d) { return kiln::dtype_name(d); }

}  // namespace kiln_test

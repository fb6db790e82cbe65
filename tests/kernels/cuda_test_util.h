// Shared helpers for the CUDA primitive tests: each CUDA primitive is compared with the CPU
// primitive of the same name on random inputs. Exact equality where both devices must produce
// the same bits (casts, fills, copies, transposes, integer math, max), dtype-scaled tolerances
// for floating-point math whose rounding legitimately differs. Every test skips without a GPU.
// Plain C++ (no CUDA headers), so it builds everywhere.
#pragma once

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

namespace kiln::kernels::test_util {

// ---- devices and data movement ----

inline Device& gpu() {
  static Device* d = new Device(DeviceSpec::gpu(0), 0, 0);  // never destroyed: outlives tensors
  return *d;
}

inline Device& cpu() {
  static Device* d = new Device(DeviceSpec::cpu(0));
  return *d;
}

inline const Primitives& G() { return cuda_primitives(); }
inline const Primitives& C() { return cpu_primitives(); }

inline Tensor to_gpu(const Tensor& host) { return host.copy_to(gpu().allocator(), gpu().spec()); }
inline Tensor gpu_tensor(DType dtype, const Shape& shape) {
  return Tensor(dtype, shape, gpu().allocator(), gpu().spec());
}

// ---- host data ----

// Calls f(T{}) with the host C++ type of a non-string dtype.
template <typename F>
inline void visit(DType dtype, F&& f) {
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
inline T from_double(double v) {
  if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
    return T(static_cast<float>(v));
  } else {
    return static_cast<T>(v);
  }
}

template <typename T>
inline double to_double(T v) {
  if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
    return static_cast<double>(static_cast<float>(v));
  } else {
    return static_cast<double>(v);
  }
}

// A host tensor of uniform values in [lo, hi), never zero (a zero would hide an unwritten
// output); integer dtypes get integers in that range.
inline Tensor random_host(DType dtype, const Shape& shape, double lo, double hi, uint32_t seed) {
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

inline std::vector<double> as_doubles(const Tensor& host) {
  std::vector<double> out(host.num_elements());
  visit(host.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = host.data<T>();
    for (int64_t i = 0; i < host.num_elements(); ++i) out[i] = to_double(p[i]);
  });
  return out;
}

inline bool is_floating(DType d) {
  return d == DType::kFloat || d == DType::kDouble || d == DType::kHalf || d == DType::kBFloat16;
}

// Relative and absolute tolerance for floating-point results that may differ in rounding.
inline double tol(DType dtype) {
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
inline void expect_close(const Tensor& expected, const Tensor& actual, double rtol, double atol,
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

inline void expect_exact(const Tensor& expected, const Tensor& actual, const std::string& what) {
  expect_close(expected, actual, 0, 0, what);
}

inline std::string str(const Shape& s) { return s.to_string(); }

}  // namespace kiln::kernels::test_util

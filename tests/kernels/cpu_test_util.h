// Shared helpers for the CPU primitive tests: seeded random tensors and double references.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "core/device.h"
#include "core/tensor.h"
#include "kernels/broadcast.h"
#include "kernels/cpu/cpu_primitives.h"
#include "kernels/primitives.h"
namespace kiln::kernels::test_util {

inline Device& dev() {
  static Device d(DeviceSpec::cpu(0));
  return d;
}
inline const Primitives& P() { return cpu_primitives(); }

template <typename... Ts, typename F>
void for_each_type(F&& f) {
  (f.template operator()<Ts>(), ...);
}

template <typename T>
constexpr bool is_16bit_float = std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;

template <typename T>
inline double as_double(T v) {
  if constexpr (is_16bit_float<T>) return static_cast<float>(v);
  else return static_cast<double>(v);
}

// Uniform values in [lo, hi] (integers for integer T).
template <typename T>
inline Tensor random_tensor(const Shape& shape, std::mt19937& gen, double lo, double hi) {
  Tensor t(DTypeOf<T>::value, shape);
  T* p = t.data<T>();
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    if constexpr (std::is_floating_point_v<T>) {
      p[i] = static_cast<T>(std::uniform_real_distribution<double>(lo, hi)(gen));
    } else {
      p[i] = static_cast<T>(std::uniform_int_distribution<int64_t>(
          static_cast<int64_t>(lo), static_cast<int64_t>(hi))(gen));
    }
  }
  return t;
}

template <typename T>
inline std::vector<double> values(const Tensor& t) {
  std::vector<double> out;
  for (T v : t.to_vector<T>()) out.push_back(as_double(v));
  return out;
}

// Row-major multi-index of flat index i.
inline std::vector<int64_t> unravel(int64_t i, const std::vector<int64_t>& dims) {
  std::vector<int64_t> idx(dims.size());
  for (int d = static_cast<int>(dims.size()) - 1; d >= 0; --d) {
    idx[d] = i % dims[d];
    i /= dims[d];
  }
  return idx;
}

template <typename T>
inline double eps() {
  return std::numeric_limits<T>::epsilon();
}

inline bool same_value(double got, double want) {
  if (std::isnan(want)) return std::isnan(got);
  return got == want && std::signbit(got) == std::signbit(want);
}
}  // namespace kiln::kernels::test_util

// Shared helpers for the random-number tests: ULP error against exact values.
// Must be compiled like the kernels: -ffp-contract=off, no -ffast-math.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "kernels/random/distributions.h"
#include "kernels/random/philox.h"

namespace kiln::random::test_util {

// Error of `got` in units of the last place of the exact value `ref`
// (float ulp: 2^(exponent-23); double ulp: 2^(exponent-52)).
inline double UlpErrFloat(float got, double ref) {
  if (ref == 0.0) return got == 0.0f ? 0.0 : INFINITY;
  int e;
  std::frexp(ref, &e);
  const double ulp = std::ldexp(1.0, std::max(e - 24, -149));
  return std::fabs(static_cast<double>(got) - ref) / ulp;
}
inline double UlpErrDouble(double got, long double ref) {
  if (ref == 0.0L) return got == 0.0 ? 0.0 : INFINITY;
  int e;
  std::frexp(ref, &e);
  const long double ulp = std::ldexp(1.0L, std::max(e - 53, -1074));
  return static_cast<double>(std::fabs(static_cast<long double>(got) - ref) /
                             ulp);
}
// Distance in representable floats between two finite floats.
inline std::int64_t UlpDist(float a, float b) {
  auto ord = [](float f) {
    std::int32_t i;
    std::memcpy(&i, &f, 4);
    return i < 0 ? static_cast<std::int64_t>(INT32_MIN) - i
                 : static_cast<std::int64_t>(i);
  };
  return std::llabs(ord(a) - ord(b));
}


}  // namespace kiln::random::test_util

// Writing one Philox group of a random tensor: shared by the CPU loop and the CUDA kernel, so
// both produce element i from group i / per_group with the same code. `n` bounds the last group.
#pragma once

#include <cstdint>

#include "kernels/host_device.h"
#include "kernels/primitives.h"
#include "kernels/random/distributions.h"

namespace kiln::kernels {

template <typename T>
struct RandomTraits;
template <>
struct RandomTraits<float> {
  static constexpr int kPerGroup = random::kFloatsPerGroup;
};
template <>
struct RandomTraits<double> {
  static constexpr int kPerGroup = random::kDoublesPerGroup;
};

template <typename T>
KILN_HD inline void random_group_values(RandomDist dist, const random::Philox4x32& gen,
                                        const random::PhiloxCounter& base, uint64_t group,
                                        T* vals) {
  if constexpr (sizeof(T) == 4) {
    if (dist == RandomDist::kUniform) random::uniform_float_group(gen, base, group, vals);
    else if (dist == RandomDist::kNormal) random::normal_float_group(gen, base, group, vals);
    else random::truncated_normal_float_group(gen, base, group, vals);
  } else {
    if (dist == RandomDist::kUniform) random::uniform_double_group(gen, base, group, vals);
    else if (dist == RandomDist::kNormal) random::normal_double_group(gen, base, group, vals);
    else random::truncated_normal_double_group(gen, base, group, vals);
  }
}

// Writes the elements of `group` (those below n) into out.
template <typename T>
KILN_HD inline void random_fill_group(RandomDist dist, const random::Philox4x32& gen,
                                      const random::PhiloxCounter& base, uint64_t group, T* out,
                                      int64_t n) {
  constexpr int kPer = RandomTraits<T>::kPerGroup;
  T vals[kPer] = {};
  random_group_values(dist, gen, base, group, vals);
  int64_t first = static_cast<int64_t>(group) * kPer;
  for (int j = 0; j < kPer; ++j)
    if (first + j < n) out[first + j] = vals[j];
}

}  // namespace kiln::kernels

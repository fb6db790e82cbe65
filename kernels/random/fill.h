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

// The values of one group for a distribution fixed at compile time (the CUDA kernels are
// instantiated per distribution, so e.g. the normal kernel carries no truncated-normal loop).
template <RandomDist kDist, typename T>
KILN_HD inline void random_group_values(const random::Philox4x32& gen,
                                        const random::PhiloxCounter& base, uint64_t group,
                                        T* vals) {
  constexpr bool kUniform = kDist == RandomDist::kUniform;
  constexpr bool kNormal = kDist == RandomDist::kNormal;
  if constexpr (sizeof(T) == 4) {
    if constexpr (kUniform) random::uniform_float_group(gen, base, group, vals);
    else if constexpr (kNormal) random::normal_float_group(gen, base, group, vals);
    else random::truncated_normal_float_group(gen, base, group, vals);
  } else {
    if constexpr (kUniform) random::uniform_double_group(gen, base, group, vals);
    else if constexpr (kNormal) random::normal_double_group(gen, base, group, vals);
    else random::truncated_normal_double_group(gen, base, group, vals);
  }
}

template <typename T>
KILN_HD inline void random_group_values(RandomDist dist, const random::Philox4x32& gen,
                                        const random::PhiloxCounter& base, uint64_t group,
                                        T* vals) {
  constexpr RandomDist kU = RandomDist::kUniform, kN = RandomDist::kNormal;
  if (dist == kU) random_group_values<kU>(gen, base, group, vals);
  else if (dist == kN) random_group_values<kN>(gen, base, group, vals);
  else random_group_values<RandomDist::kTruncatedNormal>(gen, base, group, vals);
}

// Writes the elements of `group` (those below n) into out.
template <RandomDist kDist, typename T>
KILN_HD inline void random_fill_group(const random::Philox4x32& gen,
                                      const random::PhiloxCounter& base, uint64_t group, T* out,
                                      int64_t n) {
  constexpr int kPer = RandomTraits<T>::kPerGroup;
  T vals[kPer] = {};
  random_group_values<kDist>(gen, base, group, vals);
  int64_t first = static_cast<int64_t>(group) * kPer;
  for (int j = 0; j < kPer; ++j)
    if (first + j < n) out[first + j] = vals[j];
}

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

#if defined(__CUDACC__)
// The partial last group (n not a multiple of the group size), written element-wise by thread 0
// before its loop. Out of line and ahead of the loop on purpose: placed after the loop (or
// inlined), it made ptxas keep the 18 Philox round keys in per-thread registers for both uses
// (40 instead of 25 registers in the float normal kernel) instead of uniform registers.
template <typename T, RandomDist kDist>
__device__ __noinline__ void random_fill_tail(random::Philox4x32 gen, random::PhiloxCounter base,
                                              uint64_t group, T* out, int64_t n) {
  random_fill_group<kDist, T>(gen, base, group, out, n);
}

// The CUDA fill: each thread produces whole groups in a grid-stride loop (so the values do not
// depend on the launch shape), one 16-byte store per full group (out is 256-byte aligned and
// groups are 16 bytes). One kernel per (T, distribution): with the distribution a template
// parameter, the normal kernel does not carry the truncated-normal retry loop.
template <typename T, RandomDist kDist>
__global__ void random_fill_kernel(random::Philox4x32 gen, random::PhiloxCounter base, T* out,
                                   int64_t n, uint64_t groups) {
  constexpr int kPer = RandomTraits<T>::kPerGroup;
  const uint64_t stride = static_cast<uint64_t>(gridDim.x) * blockDim.x;
  const uint64_t full = static_cast<uint64_t>(n) / kPer;
  uint64_t g = blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x;
  if (g == 0 && full < groups) random_fill_tail<T, kDist>(gen, base, full, out, n);
  for (; g < full; g += stride) {
    T vals[kPer];
    random_group_values<kDist>(gen, base, g, vals);
    if constexpr (sizeof(T) == 4)
      reinterpret_cast<float4*>(out)[g] = make_float4(vals[0], vals[1], vals[2], vals[3]);
    else
      reinterpret_cast<double2*>(out)[g] = make_double2(vals[0], vals[1]);
  }
}
#endif

}  // namespace kiln::kernels

// CUDA random fill: each thread produces whole Philox groups (grid-stride), with the same group
// functions as the CPU, so the values do not depend on the launch shape.
#include "core/cuda_check.h"
#include "kernels/cuda/cuda_primitives.h"
#include "kernels/random/fill.h"

namespace kiln::kernels::cuda {

namespace {

template <typename T>
__global__ void random_kernel(RandomDist dist, random::Philox4x32 gen, random::PhiloxCounter base,
                              T* out, int64_t n, uint64_t groups) {
  constexpr int kPer = RandomTraits<T>::kPerGroup;
  uint64_t stride = static_cast<uint64_t>(gridDim.x) * blockDim.x;
  for (uint64_t g = blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x; g < groups;
       g += stride) {
    int64_t first = static_cast<int64_t>(g) * kPer;
    if (first + kPer <= n) {
      // A full group: one 16-byte store (out is 256-byte aligned and groups are 16 bytes).
      T vals[kPer];
      random_group_values(dist, gen, base, g, vals);
      if constexpr (sizeof(T) == 4)
        reinterpret_cast<float4*>(out)[g] = make_float4(vals[0], vals[1], vals[2], vals[3]);
      else
        reinterpret_cast<double2*>(out)[g] = make_double2(vals[0], vals[1]);
    } else {
      random_fill_group<T>(dist, gen, base, g, out, n);
    }
  }
}

template <typename T>
void launch(Device& device, RandomDist dist, RandomSeed seed, Tensor& out) {
  const int64_t n = out.num_elements();
  if (n == 0) return;
  constexpr int kPer = RandomTraits<T>::kPerGroup;
  const uint64_t groups = static_cast<uint64_t>((n + kPer - 1) / kPer);
  const int threads = 256;
  uint64_t blocks = (groups + threads - 1) / threads;
  if (blocks > 132 * 32) blocks = 132 * 32;  // grid-stride beyond ~32 blocks per SM
  random_kernel<T><<<static_cast<unsigned>(blocks), threads, 0,
                     static_cast<cudaStream_t>(device.stream())>>>(
      dist, random::make_philox(seed.key), random::make_counter(seed.counter_lo, seed.counter_hi),
      out.data<T>(), n, groups);
  KILN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void random(Device& device, RandomDist dist, RandomSeed seed, Tensor& out) {
  gpu::set_device(device.gpu_ordinal());
  switch (out.dtype()) {
    case DType::kFloat: launch<float>(device, dist, seed, out); break;
    case DType::kDouble: launch<double>(device, dist, seed, out); break;
    default:
      throw InvalidArgumentError(std::string("random ops produce float32 or float64, not ") +
                                 dtype_name(out.dtype()));
  }
}

}  // namespace kiln::kernels::cuda

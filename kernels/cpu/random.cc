// CPU random fill: one Philox group at a time, the same group functions the CUDA kernel uses.
#include "kernels/cpu/cpu_primitives.h"
#include "kernels/random/fill.h"

namespace kiln::kernels::cpu {

namespace {

template <typename T>
void fill(RandomDist dist, RandomSeed seed, Tensor& out) {
  const random::Philox4x32 gen = random::make_philox(seed.key);
  const random::PhiloxCounter base = random::make_counter(seed.counter_lo, seed.counter_hi);
  const int64_t n = out.num_elements();
  constexpr int kPer = RandomTraits<T>::kPerGroup;
  const uint64_t groups = static_cast<uint64_t>((n + kPer - 1) / kPer);
  T* p = out.data<T>();
  for (uint64_t g = 0; g < groups; ++g) random_fill_group<T>(dist, gen, base, g, p, n);
}

}  // namespace

void random(Device&, RandomDist dist, RandomSeed seed, Tensor& out) {
  switch (out.dtype()) {
    case DType::kFloat: fill<float>(dist, seed, out); break;
    case DType::kDouble: fill<double>(dist, seed, out); break;
    default:
      throw InvalidArgumentError(std::string("random ops produce float32 or float64, not ") +
                                 dtype_name(out.dtype()));
  }
}

}  // namespace kiln::kernels::cpu

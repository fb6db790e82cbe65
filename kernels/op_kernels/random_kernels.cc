// RandomStandardNormal, RandomUniform, TruncatedNormal: TF1's stateful random ops. The seed attrs
// select the Philox key and stream; each execution reserves fresh counter groups from the
// session, so two runs draw different values and two sessions (or a CPU and a GPU) given the
// same seeds draw the same ones. seed == seed2 == 0 asks for a nondeterministic seed.
#include <mutex>
#include <random>

#include "kernels/op_kernels/kernel_util.h"
#include "kernels/op_kernels/op_kernels.h"

namespace kiln::kernels {

namespace {

uint64_t random_seed_source() {
  static std::mutex mu;
  static std::mt19937_64 gen{std::random_device{}()};
  std::lock_guard<std::mutex> lock(mu);
  return gen();
}

template <RandomDist kDist>
void random_kernel(OpKernelContext& ctx) {
  Shape shape = shape_from_input(ctx, 0);
  DType dtype = ctx.attr<DType>("dtype");
  if (dtype != DType::kFloat && dtype != DType::kDouble)
    throw InvalidArgumentError(ctx.message(std::string("dtype must be float32 or float64, got ") +
                                           dtype_name(dtype)));
  Tensor out = ctx.allocate_output(0, dtype, shape);
  int64_t seed = ctx.attr<int64_t>("seed"), seed2 = ctx.attr<int64_t>("seed2");
  RandomSeed s;
  if (seed == 0 && seed2 == 0) {
    s.key = random_seed_source();
    s.counter_hi = random_seed_source();
  } else {
    s.key = static_cast<uint64_t>(seed);
    s.counter_hi = static_cast<uint64_t>(seed2);
  }
  uint64_t groups = random_groups(kDist, dtype, shape.num_elements());
  s.counter_lo = ctx.session_state().reserve_random(&ctx.node(), groups);
  if (shape.num_elements() > 0) prims(ctx).random(ctx.device(), kDist, s, out);
}

}  // namespace

void add_random_kernels(KernelList& list) {
  list.push_back({"RandomStandardNormal", {random_kernel<RandomDist::kNormal>, {0}}});
  list.push_back({"RandomUniform", {random_kernel<RandomDist::kUniform>, {0}}});
  list.push_back({"TruncatedNormal", {random_kernel<RandomDist::kTruncatedNormal>, {0}}});
}

}  // namespace kiln::kernels

// CUDA primitives of the backward passes and the fused optimizer updates (kernels/primitives.h:
// activation_grad, apply_gradient_descent, apply_momentum, apply_adam).
//
// Contract: as kernels/cuda/cuda_primitives.h says for every CUDA primitive (current device set,
// work enqueued on device.stream(), nothing launched for empty tensors, typed errors). Each
// primitive is one grid-stride kernel over the elements, applying the functor of
// kernels/training_functors.h that the CPU primitives apply too. Every element is written by
// exactly one thread with no reduction, so the results do not depend on the launch shape: the
// updates are deterministic run to run.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "core/cuda_check.h"
#include "core/errors.h"
#include "core/gpu.h"
#include "kernels/cuda/cuda_primitives.h"
#include "kernels/training_functors.h"

namespace kiln::kernels::cuda {
namespace {

constexpr int kThreads = 256;

cudaStream_t stream_of(const Device& device) { return static_cast<cudaStream_t>(device.stream()); }

unsigned blocks_for(const Device& device, int64_t n) {
  const int64_t want = (n + kThreads - 1) / kThreads;
  const int64_t cap = int64_t{gpu::multiprocessor_count(device.gpu_ordinal())} * 32;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min(want, cap)));
}

template <typename T, typename F>
__global__ void zip_kernel(F f, const T* x, const T* dy, T* out, int64_t n) {
  for (int64_t i = int64_t{blockIdx.x} * kThreads + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * kThreads)
    out[i] = f(x[i], dy[i]);
}

template <typename T>
__global__ void gd_kernel(functors::GradientDescentUpdate<T> f, T* var, const T* delta, int64_t n) {
  for (int64_t i = int64_t{blockIdx.x} * kThreads + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * kThreads)
    f(var[i], delta[i]);
}

template <typename T>
__global__ void momentum_kernel(functors::MomentumUpdate<T> f, T* var, T* accum, const T* grad,
                                int64_t n) {
  for (int64_t i = int64_t{blockIdx.x} * kThreads + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * kThreads)
    f(var[i], accum[i], grad[i]);
}

template <typename T>
__global__ void adam_kernel(functors::AdamUpdate<T> f, T* var, T* m, T* v, const T* grad, int64_t n) {
  for (int64_t i = int64_t{blockIdx.x} * kThreads + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * kThreads)
    f(var[i], m[i], v[i], grad[i]);
}

void check_operands(const char* what, const Tensor& like, std::initializer_list<const Tensor*> others) {
  for (const Tensor* t : others)
    if (t->dtype() != like.dtype() || t->num_elements() != like.num_elements())
      throw InvalidArgumentError(std::string("CUDA ") + what + ": operand " + t->debug_string() +
                                 " does not match " + like.debug_string());
  if (like.dtype() != DType::kFloat && like.dtype() != DType::kDouble)
    throw InvalidArgumentError(std::string("CUDA ") + what + " does not support dtype " +
                               dtype_name(like.dtype()));
}

// Calls f with a T* tag for float32/float64 (checked by check_operands).
template <typename F>
void dispatch(DType dtype, F f) {
  if (dtype == DType::kFloat) f(static_cast<float*>(nullptr));
  else f(static_cast<double*>(nullptr));
}

template <typename T, typename F>
void launch_zip(const Device& device, F f, const Tensor& x, const Tensor& dy, Tensor& out) {
  const int64_t n = x.num_elements();
  zip_kernel<T><<<blocks_for(device, n), kThreads, 0, stream_of(device)>>>(
      f, x.data<T>(), dy.data<T>(), out.data<T>(), n);
}

}  // namespace

void activation_grad(Device& device, ActivationGrad op, const Tensor& x, const Tensor& dy, Tensor& out) {
  check_operands("activation_grad", x, {&dy, &out});
  if (x.num_elements() == 0) return;
  gpu::set_device(device.gpu_ordinal());
  dispatch(x.dtype(), [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    switch (op) {
      case ActivationGrad::kRelu: return launch_zip<T>(device, functors::ReluGrad{}, x, dy, out);
      case ActivationGrad::kSigmoid: return launch_zip<T>(device, functors::SigmoidGrad{}, x, dy, out);
      case ActivationGrad::kTanh: return launch_zip<T>(device, functors::TanhGrad{}, x, dy, out);
      case ActivationGrad::kSqrt: return launch_zip<T>(device, functors::SqrtGrad{}, x, dy, out);
    }
  });
  KILN_CUDA_CHECK(cudaGetLastError());
}

void apply_gradient_descent(Device& device, Tensor& var, double alpha, const Tensor& delta) {
  check_operands("apply_gradient_descent", var, {&delta});
  const int64_t n = var.num_elements();
  if (n == 0) return;
  gpu::set_device(device.gpu_ordinal());
  dispatch(var.dtype(), [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    gd_kernel<T><<<blocks_for(device, n), kThreads, 0, stream_of(device)>>>(
        functors::GradientDescentUpdate<T>{static_cast<T>(alpha)}, var.data<T>(), delta.data<T>(), n);
  });
  KILN_CUDA_CHECK(cudaGetLastError());
}

void apply_momentum(Device& device, Tensor& var, Tensor& accum, double lr, const Tensor& grad,
                    double momentum, bool use_nesterov) {
  check_operands("apply_momentum", var, {&accum, &grad});
  const int64_t n = var.num_elements();
  if (n == 0) return;
  gpu::set_device(device.gpu_ordinal());
  dispatch(var.dtype(), [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    functors::MomentumUpdate<T> f{static_cast<T>(lr), static_cast<T>(momentum), use_nesterov};
    momentum_kernel<T><<<blocks_for(device, n), kThreads, 0, stream_of(device)>>>(
        f, var.data<T>(), accum.data<T>(), grad.data<T>(), n);
  });
  KILN_CUDA_CHECK(cudaGetLastError());
}

void apply_adam(Device& device, Tensor& var, Tensor& m, Tensor& v, const AdamScalars& s,
                const Tensor& grad) {
  check_operands("apply_adam", var, {&m, &v, &grad});
  const int64_t n = var.num_elements();
  if (n == 0) return;
  gpu::set_device(device.gpu_ordinal());
  dispatch(var.dtype(), [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    functors::AdamUpdate<T> f{
        functors::adam_alpha<T>(static_cast<T>(s.lr), static_cast<T>(s.beta1_power),
                                static_cast<T>(s.beta2_power)),
        static_cast<T>(s.beta1), static_cast<T>(s.beta2), static_cast<T>(s.epsilon), s.use_nesterov};
    adam_kernel<T><<<blocks_for(device, n), kThreads, 0, stream_of(device)>>>(
        f, var.data<T>(), m.data<T>(), v.data<T>(), grad.data<T>(), n);
  });
  KILN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace kiln::kernels::cuda

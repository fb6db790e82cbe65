// CPU primitives of the backward passes and the fused optimizer updates (kernels/primitives.h:
// activation_grad, apply_gradient_descent, apply_momentum, apply_adam).
//
// Contract: every tensor is a host tensor of one dtype (float32 or float64) and one element
// count; the updates write var and its slots in place. The per-element math is the shared
// functors of kernels/training_functors.h, so the CUDA primitives compute the same expressions.
// Plain loops: the compiler vectorizes them and they keep the evaluation order fixed, which the
// bit-identical resume of a training run relies on.
//
// The updates run with denormals flushed to zero (as TensorFlow runs its CPU kernels): Adam's
// moments and momentum accumulators of entries whose gradient stays 0 (dead ReLUs) decay
// geometrically into the denormal range, where x86 arithmetic is ~100x slower; without the
// flush a long run slows down step after step.
#include <string>

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

#include "kernels/cpu/cpu_primitives.h"
#include "kernels/training_functors.h"

namespace kiln::kernels::cpu {
namespace {

// Sets flush-to-zero and denormals-are-zero for its lifetime on this thread (x86 MXCSR).
class FlushDenormals {
 public:
#if defined(__SSE2__)
  FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | 0x8040u); }  // FTZ | DAZ
  ~FlushDenormals() { _mm_setcsr(saved_); }

 private:
  unsigned saved_;
#endif
};

void check_operands(const char* what, const Tensor& like, std::initializer_list<const Tensor*> others) {
  for (const Tensor* t : others)
    if (t->dtype() != like.dtype() || t->num_elements() != like.num_elements())
      throw InvalidArgumentError(std::string("CPU ") + what + ": operand " + t->debug_string() +
                                 " does not match " + like.debug_string());
}

template <typename T, typename F>
void zip(F f, const Tensor& x, const Tensor& dy, Tensor& out) {
  const T* px = x.data<T>();
  const T* pd = dy.data<T>();
  T* po = out.data<T>();
  const int64_t n = x.num_elements();
  for (int64_t i = 0; i < n; ++i) po[i] = f(px[i], pd[i]);
}

template <typename T>
void activation_grad_typed(ActivationGrad op, const Tensor& x, const Tensor& dy, Tensor& out) {
  switch (op) {
    case ActivationGrad::kRelu: return zip<T>(functors::ReluGrad{}, x, dy, out);
    case ActivationGrad::kSigmoid: return zip<T>(functors::SigmoidGrad{}, x, dy, out);
    case ActivationGrad::kTanh: return zip<T>(functors::TanhGrad{}, x, dy, out);
    case ActivationGrad::kSqrt: return zip<T>(functors::SqrtGrad{}, x, dy, out);
  }
  throw InvalidArgumentError("CPU activation_grad: unknown op " + std::to_string(static_cast<int>(op)));
}

template <typename T>
void gd_typed(Tensor& var, double alpha, const Tensor& delta) {
  const functors::GradientDescentUpdate<T> f{static_cast<T>(alpha)};
  T* pv = var.data<T>();
  const T* pd = delta.data<T>();
  const int64_t n = var.num_elements();
  for (int64_t i = 0; i < n; ++i) f(pv[i], pd[i]);
}

template <typename T>
void momentum_typed(Tensor& var, Tensor& accum, double lr, const Tensor& grad, double momentum,
                    bool nesterov) {
  const functors::MomentumUpdate<T> f{static_cast<T>(lr), static_cast<T>(momentum), nesterov};
  T* pv = var.data<T>();
  T* pa = accum.data<T>();
  const T* pg = grad.data<T>();
  const int64_t n = var.num_elements();
  for (int64_t i = 0; i < n; ++i) f(pv[i], pa[i], pg[i]);
}

template <typename T>
void adam_typed(Tensor& var, Tensor& m, Tensor& v, const AdamScalars& s, const Tensor& grad) {
  const functors::AdamUpdate<T> f{
      functors::adam_alpha<T>(static_cast<T>(s.lr), static_cast<T>(s.beta1_power),
                              static_cast<T>(s.beta2_power)),
      static_cast<T>(s.beta1), static_cast<T>(s.beta2), static_cast<T>(s.epsilon), s.use_nesterov};
  T* pv = var.data<T>();
  T* pm = m.data<T>();
  T* pw = v.data<T>();
  const T* pg = grad.data<T>();
  const int64_t n = var.num_elements();
  for (int64_t i = 0; i < n; ++i) f(pv[i], pm[i], pw[i], pg[i]);
}

}  // namespace

void activation_grad(Device&, ActivationGrad op, const Tensor& x, const Tensor& dy, Tensor& out) {
  check_operands("activation_grad", x, {&dy, &out});
  switch (x.dtype()) {
    case DType::kFloat: return activation_grad_typed<float>(op, x, dy, out);
    case DType::kDouble: return activation_grad_typed<double>(op, x, dy, out);
    default: detail::unsupported_dtype("activation_grad", x.dtype());
  }
}

void apply_gradient_descent(Device&, Tensor& var, double alpha, const Tensor& delta) {
  check_operands("apply_gradient_descent", var, {&delta});
  FlushDenormals flush;
  switch (var.dtype()) {
    case DType::kFloat: return gd_typed<float>(var, alpha, delta);
    case DType::kDouble: return gd_typed<double>(var, alpha, delta);
    default: detail::unsupported_dtype("apply_gradient_descent", var.dtype());
  }
}

void apply_momentum(Device&, Tensor& var, Tensor& accum, double lr, const Tensor& grad,
                    double momentum, bool use_nesterov) {
  check_operands("apply_momentum", var, {&accum, &grad});
  FlushDenormals flush;
  switch (var.dtype()) {
    case DType::kFloat: return momentum_typed<float>(var, accum, lr, grad, momentum, use_nesterov);
    case DType::kDouble: return momentum_typed<double>(var, accum, lr, grad, momentum, use_nesterov);
    default: detail::unsupported_dtype("apply_momentum", var.dtype());
  }
}

void apply_adam(Device&, Tensor& var, Tensor& m, Tensor& v, const AdamScalars& s, const Tensor& grad) {
  check_operands("apply_adam", var, {&m, &v, &grad});
  FlushDenormals flush;
  switch (var.dtype()) {
    case DType::kFloat: return adam_typed<float>(var, m, v, s, grad);
    case DType::kDouble: return adam_typed<double>(var, m, v, s, grad);
    default: detail::unsupported_dtype("apply_adam", var.dtype());
  }
}

}  // namespace kiln::kernels::cpu

// Elementwise math of the backward passes and the fused optimizer updates, shared by the CPU
// (kernels/cpu/training.cc) and CUDA (kernels/cuda/training.cu) primitives so both devices
// evaluate the same expression in the same order. Formulas are TensorFlow's documented ones
// (kernels/primitives.h states them); the update functors change their reference arguments in
// place, one element at a time.
#pragma once

#include <cmath>

#include "kernels/host_device.h"

namespace kiln::kernels::functors {

// ReluGrad(gradients, features): the gradient where the feature was positive, else 0.
struct ReluGrad {
  template <typename T> KILN_HD T operator()(T x, T dy) const { return x > T(0) ? dy : T(0); }
};
// SigmoidGrad(y, dy) = dy * y * (1 - y).
struct SigmoidGrad {
  template <typename T> KILN_HD T operator()(T y, T dy) const { return dy * (y * (T(1) - y)); }
};
// TanhGrad(y, dy) = dy * (1 - y * y).
struct TanhGrad {
  template <typename T> KILN_HD T operator()(T y, T dy) const { return dy * (T(1) - y * y); }
};
// SqrtGrad(y, dy) = dy * 0.5 / y.
struct SqrtGrad {
  template <typename T> KILN_HD T operator()(T y, T dy) const { return dy * T(0.5) / y; }
};

template <typename T>
struct GradientDescentUpdate {
  T alpha;
  KILN_HD void operator()(T& var, T delta) const { var -= delta * alpha; }
};

template <typename T>
struct MomentumUpdate {
  T lr, momentum;
  bool nesterov;
  KILN_HD void operator()(T& var, T& accum, T grad) const {
    accum = accum * momentum + grad;
    if (nesterov) var -= grad * lr + accum * momentum * lr;
    else var -= accum * lr;
  }
};

template <typename T>
struct AdamUpdate {
  T alpha;  // lr * sqrt(1 - beta2_power) / (1 - beta1_power), computed once per step
  T beta1, beta2, epsilon;
  bool nesterov;
  KILN_HD void operator()(T& var, T& m, T& v, T grad) const {
    m += (grad - m) * (T(1) - beta1);
    v += (grad * grad - v) * (T(1) - beta2);
    T denom = ::sqrt(v) + epsilon;
    if (nesterov) var -= (grad * (T(1) - beta1) + beta1 * m) * alpha / denom;
    else var -= (m * alpha) / denom;
  }
};

// Adam's step size from the host-side scalars, in T as TF computes it.
template <typename T>
T adam_alpha(T lr, T beta1_power, T beta2_power) {
  using std::sqrt;
  return lr * sqrt(T(1) - beta2_power) / (T(1) - beta1_power);
}

}  // namespace kiln::kernels::functors

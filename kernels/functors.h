// Elementwise math shared by the CPU (Eigen) and CUDA kernels: one functor per op, callable
// from host and device code, so both devices compute the same formula.
#pragma once

#include <cmath>

#include "kernels/host_device.h"

namespace kiln::kernels::functors {

struct Neg { template <typename T> KILN_HD T operator()(T x) const { return -x; } };
struct Square { template <typename T> KILN_HD T operator()(T x) const { return x * x; } };
struct Sqrt { template <typename T> KILN_HD T operator()(T x) const { return ::sqrt(x); } };
struct Exp { template <typename T> KILN_HD T operator()(T x) const { return ::exp(x); } };
struct Log { template <typename T> KILN_HD T operator()(T x) const { return ::log(x); } };
struct Relu { template <typename T> KILN_HD T operator()(T x) const { return x > T(0) ? x : T(0); } };
struct Tanh { template <typename T> KILN_HD T operator()(T x) const { return ::tanh(x); } };
// 1 / (1 + exp(-x)), written so neither tail overflows.
struct Sigmoid {
  template <typename T> KILN_HD T operator()(T x) const {
    if (x >= T(0)) return T(1) / (T(1) + ::exp(-x));
    T e = ::exp(x);
    return e / (T(1) + e);
  }
};
struct Identity { template <typename T> KILN_HD T operator()(T x) const { return x; } };

struct Add { template <typename T> KILN_HD T operator()(T a, T b) const { return a + b; } };
struct Sub { template <typename T> KILN_HD T operator()(T a, T b) const { return a - b; } };
struct Mul { template <typename T> KILN_HD T operator()(T a, T b) const { return a * b; } };
// RealDiv; integer operands truncate (callers reject integer division by zero on the CPU).
struct Div { template <typename T> KILN_HD T operator()(T a, T b) const { return a / b; } };
// Maximum propagates NaN from either side, as TF's does.
struct Max {
  template <typename T> KILN_HD T operator()(T a, T b) const {
    if (a != a) return a;
    if (b != b) return b;
    return a > b ? a : b;
  }
};

}  // namespace kiln::kernels::functors

// Device compute primitives: the few functions that differ between CPU (Eigen) and CUDA
// (custom kernels, cuBLAS, CUB). Op kernels (kernels/op_kernels) validate inputs, work out
// shapes and allocate outputs once, device-independently, then call the primitive table of the
// device the node runs on. Every primitive:
//  - receives outputs already allocated on `device` with their final shapes,
//  - runs on the device's stream (CUDA) and may return before the work is done,
//  - throws kiln errors (InvalidArgumentError for bad values, InternalError for CUDA failures),
//  - may be given an `out` that aliases an input of the same shape (elementwise in-place updates).
// CPU and GPU agree bit for bit on integer results, casts, fills and random bits; floating-point
// math agrees to rounding.
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/device.h"
#include "core/tensor.h"
#include "kernels/broadcast.h"

namespace kiln::kernels {

enum class UnaryOp { kNeg, kSquare, kSqrt, kExp, kLog, kRelu, kSigmoid, kTanh, kIdentity };
enum class BinaryOp { kAdd, kSub, kMul, kDiv, kMax };
enum class ReduceOp { kSum, kMean, kMax };
enum class RandomDist { kUniform, kNormal, kTruncatedNormal };
// Backward passes of activations (TF's ReluGrad, SigmoidGrad, TanhGrad, SqrtGrad); see
// kernels/training_functors.h for the formulas.
enum class ActivationGrad { kRelu, kSigmoid, kTanh, kSqrt };

// The scalar inputs of ApplyAdam, read on the host. lr_t is derived from them in the update's
// own dtype, as TensorFlow does on the device.
struct AdamScalars {
  double beta1_power = 0, beta2_power = 0, lr = 0, beta1 = 0, beta2 = 0, epsilon = 0;
  bool use_nesterov = false;
};

// A reduction of x viewed as [outer, reduced, inner] (row-major) into out [outer, inner].
struct ReduceShape {
  int64_t outer = 1;
  int64_t reduced = 1;
  int64_t inner = 1;
};

// Philox key and starting counter of one random op execution.
struct RandomSeed {
  uint64_t key = 0;       // seed attr (Philox key words 0/1)
  uint64_t counter_hi = 0;  // seed2 attr (counter words 2/3)
  uint64_t counter_lo = 0;  // first group of this execution (counter words 0/1)
};

// What a reduction over zero elements yields, on every device: 0 for sums, NaN (floats) or 0
// (ints) for means, -inf (floats) or lowest() (ints) for max, as TensorFlow does.
template <typename T>
T empty_reduce_result(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return T(0);
    case ReduceOp::kMean:
      if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::quiet_NaN();
      return T(0);
    case ReduceOp::kMax:
      if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<T>::infinity();
      return std::numeric_limits<T>::lowest();
  }
  return T(0);
}

struct Primitives {
  // out = op(x); same shape; float32/float64 (Neg/Square: int32/int64 too).
  void (*unary)(Device& device, UnaryOp op, const Tensor& x, Tensor& out);
  // out = a op b with numpy broadcasting described by `b` (see kernels/broadcast.h);
  // float32/float64/int32/int64. Integer kDiv truncates; integer division by zero throws on the
  // CPU and gives an unspecified value on the GPU; lowest / -1 wraps on both.
  void (*binary)(Device& device, BinaryOp op, const Tensor& a, const Tensor& b,
                 const BroadcastPlan& plan, Tensor& out);
  // Element conversion between any two dtypes except strings (float->int truncates toward 0 and
  // saturates at the target's range, NaN->0; nonzero->true for bool; 16-bit floats round to
  // nearest even).
  void (*cast)(Device& device, const Tensor& x, Tensor& out);
  // Fills `out` with the single value in `value` (a host tensor of out's dtype; any dtype,
  // strings on the CPU only).
  void (*fill)(Device& device, const Tensor& value, Tensor& out);
  // out[o, i] = reduce_j x[o, j, i]; kMean divides by `reduced` (integer division for ints);
  // kMax of an empty reduction gives -inf for floats and lowest() for ints; kMean of an empty
  // reduction gives NaN for floats and 0 for ints. float32/float64/int32/int64.
  void (*reduce)(Device& device, ReduceOp op, const Tensor& x, ReduceShape shape, Tensor& out);
  // Copies x permuted so that out's dimension d is x's dimension perm[d] (out preallocated);
  // at most 8 dimensions after merging the ones that stay adjacent (GPU).
  void (*transpose)(Device& device, const Tensor& x, const std::vector<int>& perm, Tensor& out);
  // out = op(a) @ op(b) for rank-2 float32/float64 (int32/int64 on CPU only).
  void (*matmul)(Device& device, const Tensor& a, const Tensor& b, bool transpose_a,
                 bool transpose_b, Tensor& out);
  // Row-wise softmax of logits viewed as [rows, cols] (cols = last dimension; rank 0 is 1x1).
  void (*softmax)(Device& device, const Tensor& logits, Tensor& out);
  // loss[b] = logsumexp(logits[b]) - logits[b, labels[b]], backprop = softmax - onehot.
  // Labels int32/int64. CPU throws InvalidArgumentError for a label outside [0, classes);
  // the GPU writes NaN for that row, as TensorFlow's GPU kernel does.
  void (*sparse_xent)(Device& device, const Tensor& logits, const Tensor& labels, Tensor& loss,
                      Tensor& backprop);
  // Fills float32/float64 `out` from Philox4x32-10 with the per-element counter mapping of
  // kernels/random/distributions.h, so CPU and GPU agree bit for bit on the uniform bits.
  void (*random)(Device& device, RandomDist dist, RandomSeed seed, Tensor& out);
  // Copies src into dst (same dtype and element count, both on `device`; any dtype, strings on
  // the CPU only).
  void (*copy)(Device& device, const Tensor& src, Tensor& dst);

  // out = the activation's backward pass from `x` (kRelu: the features; otherwise the forward
  // output y) and the incoming gradient `dy`; all three the same shape, float32/float64.
  void (*activation_grad)(Device& device, ActivationGrad op, const Tensor& x, const Tensor& dy,
                          Tensor& out);
  // TF's fused optimizer updates, in place on `var` and its slots (all one dtype and element
  // count, float32/float64; scalars converted to that dtype first):
  //   gradient descent  var -= alpha * delta
  //   momentum          accum = accum * momentum + grad;
  //                     var -= lr * accum   (nesterov: var -= grad * lr + accum * momentum * lr)
  //   adam              lr_t = lr * sqrt(1 - beta2_power) / (1 - beta1_power);
  //                     m += (grad - m) * (1 - beta1); v += (grad^2 - v) * (1 - beta2);
  //                     var -= lr_t * m / (sqrt(v) + epsilon)
  //                     (nesterov: var -= lr_t * (grad * (1 - beta1) + beta1 * m) / (sqrt(v) + epsilon))
  void (*apply_gradient_descent)(Device& device, Tensor& var, double alpha, const Tensor& delta);
  void (*apply_momentum)(Device& device, Tensor& var, Tensor& accum, double lr, const Tensor& grad,
                         double momentum, bool use_nesterov);
  void (*apply_adam)(Device& device, Tensor& var, Tensor& m, Tensor& v, const AdamScalars& s,
                     const Tensor& grad);
};

const Primitives& cpu_primitives();
// Throws FailedPreconditionError in a build without CUDA.
const Primitives& cuda_primitives();
inline const Primitives& primitives_for(const Device& device) {
  return device.is_gpu() ? cuda_primitives() : cpu_primitives();
}

// Philox groups one execution of `dist` over `num_elements` elements of `dtype` consumes (the
// amount a stateful random op advances its counter by).
uint64_t random_groups(RandomDist dist, DType dtype, int64_t num_elements);

}  // namespace kiln::kernels

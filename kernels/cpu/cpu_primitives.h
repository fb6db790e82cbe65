// The CPU (Eigen) implementations of the device compute primitives of kernels/primitives.h.
//
// Contract: each function has exactly the signature and behaviour documented for the matching
// Primitives member; kernels/cpu/primitives_table.cc collects them into cpu_primitives().
// They run synchronously on the calling thread, read and write host memory only, and throw
// InvalidArgumentError naming the dtype for a dtype the primitive does not support.
// Declared here (rather than kept file-local) so tests can call them directly.
#pragma once

#include <string>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/errors.h"
#include "core/tensor.h"
#include "kernels/broadcast.h"
#include "kernels/primitives.h"

namespace kiln::kernels::cpu {

void unary(Device& device, UnaryOp op, const Tensor& x, Tensor& out);    // elementwise.cc
void binary(Device& device, BinaryOp op, const Tensor& a, const Tensor& b,
            const BroadcastPlan& plan, Tensor& out);                      // elementwise.cc
void fill(Device& device, const Tensor& value, Tensor& out);             // elementwise.cc
void copy(Device& device, const Tensor& src, Tensor& dst);               // elementwise.cc
void cast(Device& device, const Tensor& x, Tensor& out);                 // cast.cc
void reduce(Device& device, ReduceOp op, const Tensor& x, ReduceShape shape,
            Tensor& out);                                                 // reduce.cc
void transpose(Device& device, const Tensor& x, const std::vector<int>& perm,
               Tensor& out);                                              // reduce.cc
void matmul(Device& device, const Tensor& a, const Tensor& b, bool transpose_a,
            bool transpose_b, Tensor& out);                               // matmul.cc
void softmax(Device& device, const Tensor& logits, Tensor& out);         // softmax.cc
void sparse_xent(Device& device, const Tensor& logits, const Tensor& labels, Tensor& loss,
                 Tensor& backprop);                                       // softmax.cc
void random(Device& device, RandomDist dist, RandomSeed seed, Tensor& out);  // random.cc
void activation_grad(Device& device, ActivationGrad op, const Tensor& x, const Tensor& dy,
                     Tensor& out);                                        // training.cc
void apply_gradient_descent(Device& device, Tensor& var, double alpha,
                            const Tensor& delta);                         // training.cc
void apply_momentum(Device& device, Tensor& var, Tensor& accum, double lr, const Tensor& grad,
                    double momentum, bool use_nesterov);                  // training.cc
void apply_adam(Device& device, Tensor& var, Tensor& m, Tensor& v, const AdamScalars& s,
                const Tensor& grad);                                      // training.cc

namespace detail {
// The one error every CPU primitive raises for a dtype it has no implementation for.
[[noreturn]] inline void unsupported_dtype(const char* primitive, DType dtype) {
  throw InvalidArgumentError(std::string("CPU ") + primitive + " does not support dtype " +
                             dtype_name(dtype));
}
}  // namespace detail

}  // namespace kiln::kernels::cpu

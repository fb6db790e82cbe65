// The CUDA implementations of the device compute primitives of kernels/primitives.h.
//
// Contract: each function has exactly the signature and behaviour documented for the matching
// Primitives member; kernels/cuda/primitives_table.cc collects them into cuda_primitives().
// Every function:
//  - makes the device's GPU current (gpu::set_device) and enqueues its work on device.stream(),
//    returning before the work is done (no synchronization);
//  - takes tensors in device memory of that GPU (fill's `value` is a host tensor);
//  - launches nothing for zero-element tensors;
//  - throws InvalidArgumentError for an unsupported dtype or mismatched tensors, and
//    InternalError (ResourceExhaustedError for out-of-memory) naming the failing CUDA/cuBLAS
//    expression and file:line.
// Differences from the CPU primitives, as in TensorFlow's GPU kernels: integer division by
// zero does not throw (the quotient is unspecified), and sparse_xent writes NaN for a row whose
// label is out of range instead of throwing.
//
// Plain C++ header: no CUDA types, so .cc files and tests can include it.
#pragma once

#include <vector>

#include "core/device.h"
#include "core/tensor.h"
#include "kernels/broadcast.h"
#include "kernels/primitives.h"

namespace kiln::kernels::cuda {

void unary(Device& device, UnaryOp op, const Tensor& x, Tensor& out);    // elementwise.cu
void binary(Device& device, BinaryOp op, const Tensor& a, const Tensor& b,
            const BroadcastPlan& plan, Tensor& out);                      // elementwise.cu
void cast(Device& device, const Tensor& x, Tensor& out);                 // elementwise.cu
void fill(Device& device, const Tensor& value, Tensor& out);             // elementwise.cu
void copy(Device& device, const Tensor& src, Tensor& dst);               // elementwise.cu
void reduce(Device& device, ReduceOp op, const Tensor& x, ReduceShape shape,
            Tensor& out);                                                 // reduce.cu
void transpose(Device& device, const Tensor& x, const std::vector<int>& perm,
               Tensor& out);                                              // reduce.cu
void softmax(Device& device, const Tensor& logits, Tensor& out);         // reduce.cu
void sparse_xent(Device& device, const Tensor& logits, const Tensor& labels, Tensor& loss,
                 Tensor& backprop);                                       // reduce.cu
void matmul(Device& device, const Tensor& a, const Tensor& b, bool transpose_a,
            bool transpose_b, Tensor& out);                               // matmul.cc
void random(Device& device, RandomDist dist, RandomSeed seed, Tensor& out);  // random.cu
void activation_grad(Device& device, ActivationGrad op, const Tensor& x, const Tensor& dy,
                     Tensor& out);                                        // training.cu
void apply_gradient_descent(Device& device, Tensor& var, double alpha,
                            const Tensor& delta);                         // training.cu
void apply_momentum(Device& device, Tensor& var, Tensor& accum, double lr, const Tensor& grad,
                    double momentum, bool use_nesterov);                  // training.cu
void apply_adam(Device& device, Tensor& var, Tensor& m, Tensor& v, const AdamScalars& s,
                const Tensor& grad);                                      // training.cu

// The cublasHandle_t (as void*) that matmul uses for `device`: one per (GPU ordinal, stream),
// created on first use, bound to device.stream(), strict FP32 math, never destroyed. Exposed so
// benchmarks can call cuBLAS directly under identical conditions. Like the device itself, a
// handle must be used by one host thread at a time.
void* cublas_handle(Device& device);  // matmul.cc

}  // namespace kiln::kernels::cuda

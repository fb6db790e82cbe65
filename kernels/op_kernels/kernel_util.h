// Internal helpers for op kernels.
#pragma once

#include <cstdint>
#include <vector>

#include "core/kernel.h"
#include "kernels/primitives.h"

namespace kiln::kernels {

inline const Primitives& prims(OpKernelContext& ctx) { return primitives_for(ctx.device()); }

// Values of an int32/int64 tensor (host or device) as int64.
std::vector<int64_t> read_int_vector(OpKernelContext& ctx, const Tensor& t, const char* what);

// A copy of host tensor `host` in the kernel's device memory (no copy on a CPU device).
Tensor to_device(OpKernelContext& ctx, const Tensor& host);

// A shape from an int vector input, rejecting negative dimensions.
Shape shape_from_input(OpKernelContext& ctx, int input);

// The backward pass of an activation: out = grad op of (x, dy), where input `x_input` is x (the
// features for ReluGrad, the forward output otherwise) and the other input is dy. Both must have
// the same shape.
void activation_grad_kernel(OpKernelContext& ctx, ActivationGrad op, int x_input);

}  // namespace kiln::kernels

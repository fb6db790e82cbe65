// The device-independent op kernels: each validates its inputs, works out the output shape,
// allocates and calls the primitive table of the device the node runs on. The same list is
// registered for the CPU and (when built) for CUDA.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/kernel.h"

namespace kiln::kernels {

using KernelList = std::vector<std::pair<std::string, KernelDef>>;

void add_array_kernels(KernelList& list);
void add_state_kernels(KernelList& list);
void add_math_kernels(KernelList& list);
void add_nn_kernels(KernelList& list);
void add_random_kernels(KernelList& list);
void add_training_kernels(KernelList& list);

// Every builtin op kernel.
KernelList builtin_op_kernels();

}  // namespace kiln::kernels

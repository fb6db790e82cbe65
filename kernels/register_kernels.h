// Kernel registration, explicit and flat. Op kernels are written once against the primitive
// tables (kernels/primitives.h) and registered for each device type that has primitives.
#pragma once

namespace kiln {
void RegisterCpuKernels();
// No-op in a build without CUDA.
void RegisterCudaKernels();
}  // namespace kiln

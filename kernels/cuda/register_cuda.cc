// CUDA builds: every builtin op kernel is also registered for GPU devices; the kernels reach the
// CUDA primitives through primitives_for(device).
#include "kernels/op_kernels/op_kernels.h"
#include "kernels/register_kernels.h"

namespace kiln {

void RegisterCudaKernels() {
  for (auto& [op, def] : kernels::builtin_op_kernels())
    KernelRegistry::global().add(op, DeviceType::kGPU, def);
}

}  // namespace kiln

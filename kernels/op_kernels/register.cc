#include "kernels/op_kernels/op_kernels.h"
#include "kernels/register_kernels.h"

namespace kiln {

namespace kernels {
KernelList builtin_op_kernels() {
  KernelList list;
  add_array_kernels(list);
  add_state_kernels(list);
  add_math_kernels(list);
  add_nn_kernels(list);
  add_random_kernels(list);
  add_training_kernels(list);
  return list;
}
}  // namespace kernels

void RegisterCpuKernels() {
  for (auto& [op, def] : kernels::builtin_op_kernels())
    KernelRegistry::global().add(op, DeviceType::kCPU, def);
}

}  // namespace kiln

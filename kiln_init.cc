// The one place that knows every registration function; core calls EnsureRegistered() from the
// Graph and Session constructors so user programs never have to.
#include <mutex>

#include "core/op_registry.h"
#include "kernels/register_kernels.h"
#include "ops/register_ops.h"

namespace kiln {

void EnsureRegistered() {
  static std::once_flag once;
  std::call_once(once, [] {
    RegisterBuiltinOps();
    RegisterCpuKernels();
    RegisterCudaKernels();
  });
}

}  // namespace kiln

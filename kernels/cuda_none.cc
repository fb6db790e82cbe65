// Builds without CUDA: no GPU primitives and no GPU kernels.
#include "core/errors.h"
#include "kernels/primitives.h"
#include "kernels/register_kernels.h"

namespace kiln {

namespace kernels {
const Primitives& cuda_primitives() {
  throw FailedPreconditionError("kiln was built without CUDA: no GPU kernels");
}
}  // namespace kernels

void RegisterCudaKernels() {}

}  // namespace kiln

#include "kernels/primitives.h"
#include "kernels/random/distributions.h"

namespace kiln::kernels {

uint64_t random_groups(RandomDist, DType dtype, int64_t num_elements) {
  // Truncated normals retry in a separate part of the counter space (see distributions.h), so
  // every distribution advances by one group per kFloatsPerGroup / kDoublesPerGroup elements.
  uint64_t per = dtype == DType::kDouble ? random::kDoublesPerGroup : random::kFloatsPerGroup;
  return (static_cast<uint64_t>(num_elements) + per - 1) / per;
}

}  // namespace kiln::kernels

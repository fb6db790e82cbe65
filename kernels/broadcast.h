// Numpy broadcasting reduced to the fewest dimensions: adjacent dimensions that broadcast the
// same way are merged, so most binary ops become one of the fast cases (same shape, scalar
// operand) and the general case walks at most kMaxBroadcastRank dimensions with per-operand
// strides (0 where an operand is broadcast). Shared by CPU and CUDA code.
#pragma once

#include <cstdint>

#include "kernels/host_device.h"

namespace kiln {
class Shape;
}

namespace kiln::kernels {

inline constexpr int kMaxBroadcastRank = 8;

struct BroadcastPlan {
  enum Kind { kSameShape, kScalarA, kScalarB, kGeneral };
  Kind kind = kSameShape;
  int rank = 0;
  int64_t num_elements = 0;
  int64_t out_dims[kMaxBroadcastRank] = {};
  int64_t a_strides[kMaxBroadcastRank] = {};
  int64_t b_strides[kMaxBroadcastRank] = {};

  // Element offsets into a and b of flat output element i (general case).
  KILN_HD void offsets(int64_t i, int64_t* a_off, int64_t* b_off) const {
    int64_t ao = 0, bo = 0;
    for (int d = rank - 1; d >= 0; --d) {
      int64_t idx = i % out_dims[d];
      i /= out_dims[d];
      ao += idx * a_strides[d];
      bo += idx * b_strides[d];
    }
    *a_off = ao;
    *b_off = bo;
  }
};

// Throws InvalidArgumentError when the shapes do not broadcast (or the merged rank exceeds
// kMaxBroadcastRank).
BroadcastPlan make_broadcast_plan(const Shape& a, const Shape& b);

}  // namespace kiln::kernels

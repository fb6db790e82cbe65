#include "kernels/broadcast.h"

#include <vector>

#include "core/errors.h"
#include "core/shape.h"

namespace kiln::kernels {

BroadcastPlan make_broadcast_plan(const Shape& a, const Shape& b) {
  Shape out = broadcast_shapes(a, b);  // throws naming both shapes
  BroadcastPlan plan;
  plan.num_elements = out.num_elements();
  if (a == b) { plan.kind = BroadcastPlan::kSameShape; return plan; }
  if (a.num_elements() == 1 && b == out) { plan.kind = BroadcastPlan::kScalarA; return plan; }
  if (b.num_elements() == 1 && a == out) { plan.kind = BroadcastPlan::kScalarB; return plan; }
  plan.kind = BroadcastPlan::kGeneral;
  // Align ranks, then merge runs of dimensions where each operand is either broadcast
  // throughout or present throughout.
  int rank = out.rank();
  std::vector<int64_t> da(rank, 1), db(rank, 1);
  for (int i = 0; i < a.rank(); ++i) da[rank - a.rank() + i] = a.dim(i);
  for (int i = 0; i < b.rank(); ++i) db[rank - b.rank() + i] = b.dim(i);
  std::vector<int64_t> dims;
  std::vector<bool> a_bcast, b_bcast;
  for (int i = 0; i < rank; ++i) {
    int64_t d = out.dim(i);
    if (d == 1) continue;  // size-1 output dims contribute nothing
    bool ab = da[i] == 1, bb = db[i] == 1;
    if (!dims.empty() && a_bcast.back() == ab && b_bcast.back() == bb) {
      dims.back() *= d;
    } else {
      dims.push_back(d);
      a_bcast.push_back(ab);
      b_bcast.push_back(bb);
    }
  }
  if (dims.empty()) dims.push_back(1), a_bcast.push_back(false), b_bcast.push_back(false);
  if (static_cast<int>(dims.size()) > kMaxBroadcastRank)
    throw InvalidArgumentError("Broadcasting " + a.to_string() + " with " + b.to_string() +
                               " needs more than " + std::to_string(kMaxBroadcastRank) +
                               " merged dimensions");
  plan.rank = static_cast<int>(dims.size());
  int64_t sa = 1, sb = 1;
  for (int d = plan.rank - 1; d >= 0; --d) {
    plan.out_dims[d] = dims[d];
    plan.a_strides[d] = a_bcast[d] ? 0 : sa;
    plan.b_strides[d] = b_bcast[d] ? 0 : sb;
    if (!a_bcast[d]) sa *= dims[d];
    if (!b_bcast[d]) sb *= dims[d];
  }
  return plan;
}

}  // namespace kiln::kernels

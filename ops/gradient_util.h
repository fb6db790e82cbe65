// Internal helpers shared by the gradient functions of the op families (ops/gradients.h): the
// shape bookkeeping of broadcasting and reductions. When shapes are fully known at build time
// they emit constants and only the ops that do work; otherwise they compute shapes at run time
// with Shape / Size / BroadcastGradientArgs, as TF's gradients do.
#pragma once

#include <utility>

#include "core/graph.h"

namespace kiln::ops_internal {

// x's shape as an int32 vector: a Const when known at build time, else a Shape op.
Output shape_of(Output x, const std::string& name = "Shape");

// The gradients of the operands x and y of a broadcasting binary op, from gx and gy shaped like
// the broadcast result: each summed over the axes its operand was broadcast along and reshaped
// to the operand's shape. An invalid gx or gy stays invalid.
std::pair<Output, Output> unbroadcast(Output x, Output y, Output gx, Output gy);

// The gradient of a Sum (mean = false) or Mean (mean = true) node `op` over constant axes: the
// incoming `grad` (divided by the number of reduced elements for Mean), reshaped with the
// reduced axes kept as size 1 and broadcast back to the input's shape. UnimplementedError when
// the axes are not a Const or the input's rank is unknown.
Output reduction_grad(Node* op, Output grad, bool mean);

}  // namespace kiln::ops_internal

// TF1's global step: an int64 scalar variable "global_step", initialized to 0, in the
// `variables` and `global_step` collections and not trainable. Optimizer::minimize increments it
// once per training step, so it is saved and restored with the model and a resumed run knows
// where it stopped.
#pragma once

#include <optional>

#include "core/graph.h"
#include "ops/variables.h"

namespace kiln {

// The graph's global step, or nullopt when it has none. InvalidArgumentError when the
// `global_step` collection holds something other than one int64 scalar variable.
std::optional<Variable> get_global_step(const Graph& g);
// The graph's global step, created at the root name scope on first use.
Variable get_or_create_global_step(Graph& g);

}  // namespace kiln

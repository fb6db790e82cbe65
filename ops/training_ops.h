// TF's fused optimizer update ops: ApplyGradientDescent, ApplyMomentum, ApplyAdam. Each takes
// its variable and slot variables by reference (the VariableV2 outputs, Variable::ref()), runs
// where the variable lives, updates them in place and outputs the variable's new value. The
// update formulas are TF's (kernels/primitives.h spells them out); the scalar hyper-parameters
// are scalar tensors of the variable's dtype.
#pragma once

#include <string>

#include "core/graph.h"

namespace kiln {

Output apply_gradient_descent(Output var, Output alpha, Output delta, bool use_locking = false,
                              const std::string& name = "ApplyGradientDescent");
Output apply_momentum(Output var, Output accum, Output lr, Output grad, Output momentum,
                      bool use_locking = false, bool use_nesterov = false,
                      const std::string& name = "ApplyMomentum");
Output apply_adam(Output var, Output m, Output v, Output beta1_power, Output beta2_power, Output lr,
                  Output beta1, Output beta2, Output epsilon, Output grad, bool use_locking = false,
                  bool use_nesterov = false, const std::string& name = "ApplyAdam");

void RegisterTrainingOps();

}  // namespace kiln

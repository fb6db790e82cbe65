#include "ops/register_ops.h"

#include "ops/array_ops.h"
#include "ops/io_ops.h"
#include "ops/math_ops.h"
#include "ops/nn_ops.h"
#include "ops/random_ops.h"
#include "ops/state_ops.h"
#include "ops/training_ops.h"

namespace kiln {

void RegisterBuiltinOps() {
  RegisterArrayOps();
  RegisterStateOps();
  RegisterMathOps();
  RegisterNnOps();
  RegisterRandomOps();
  RegisterTrainingOps();
  RegisterIoOps();
}

}  // namespace kiln

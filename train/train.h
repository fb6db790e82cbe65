// Training in one include: the global step and the optimizers of train/.
#pragma once

#include "ops/gradients.h"
#include "ops/training_ops.h"
#include "train/adam.h"
#include "train/global_step.h"
#include "train/gradient_descent.h"
#include "train/momentum.h"
#include "train/optimizer.h"

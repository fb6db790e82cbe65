// kiln: the whole public API in one include.
#pragma once

#include <filesystem>

#include "core/device_spec.h"
#include "core/dtype.h"
#include "core/errors.h"
#include "core/gpu.h"
#include "core/graph.h"
#include "core/session.h"
#include "core/shape.h"
#include "core/tensor.h"
#include "io/checkpoint_reader.h"
#include "io/meta_graph.h"
#include "io/saver.h"
#include "ops/array_ops.h"
#include "ops/math_ops.h"
#include "ops/nn_ops.h"
#include "ops/random_ops.h"
#include "ops/state_ops.h"
#include "ops/variables.h"
#include "train/train.h"

namespace kiln {
// tf.train.NewCheckpointReader: kiln::CheckpointReader reader("save/model.ckpt").
using io::CheckpointReader;
// File-system helpers for programs (kiln::fs::exists("save/model.meta")).
namespace fs = std::filesystem;
}  // namespace kiln

// Random ops (RandomStandardNormal, RandomUniform, TruncatedNormal) and TF's composite builders.
// Seeds follow TF1: with neither a graph seed (Graph::set_random_seed) nor an op seed the values
// differ on every session; with either, they are reproducible. Each run of a random op draws
// fresh values (the op keeps a counter per session). Values come from Philox4x32-10 with a
// per-element counter mapping, so CPU and GPU give the same numbers for the same seeds.
#pragma once

#include <optional>
#include <string>

#include "core/graph.h"

namespace kiln {

struct RandomOptions {
  double mean = 0.0;    // random_normal / truncated_normal
  double stddev = 1.0;
  double minval = 0.0;  // random_uniform
  double maxval = 1.0;
  DType dtype = DType::kFloat;
  std::optional<int64_t> seed{};
};

// RandomStandardNormal -> Mul (stddev) -> Add (mean), named "random_normal/..." as in TF.
Output random_normal(Graph& g, const Shape& shape, RandomOptions options = {},
                     const std::string& name = "random_normal");
Output truncated_normal(Graph& g, const Shape& shape, RandomOptions options = {},
                        const std::string& name = "truncated_normal");
Output random_uniform(Graph& g, const Shape& shape, RandomOptions options = {},
                      const std::string& name = "random_uniform");

void RegisterRandomOps();

}  // namespace kiln

// tf.train.GradientDescentOptimizer: var -= learning_rate * grad, one ApplyGradientDescent per
// variable ("GradientDescent/update_w/ApplyGradientDescent"). No slots.
#pragma once

#include "train/optimizer.h"

namespace kiln {

struct GradientDescentOptions {
  double learning_rate = 0.01;
  bool use_locking = false;
  std::string name = "GradientDescent";
};

class GradientDescentOptimizer : public Optimizer {
 public:
  explicit GradientDescentOptimizer(GradientDescentOptions options = {});

 protected:
  Operation apply_dense(Output grad, const Variable& var) override;

 private:
  GradientDescentOptions options_;
};

}  // namespace kiln

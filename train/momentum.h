// tf.train.MomentumOptimizer: accum = accum * momentum + grad; var -= lr * accum (Nesterov:
// var -= lr * grad + lr * momentum * accum), one ApplyMomentum per variable. Slot "momentum",
// the variable "<var>/Momentum".
#pragma once

#include "train/optimizer.h"

namespace kiln {

struct MomentumOptions {
  double learning_rate = 0.01;
  double momentum = 0.9;
  bool use_nesterov = false;
  bool use_locking = false;
  std::string name = "Momentum";
};

class MomentumOptimizer : public Optimizer {
 public:
  explicit MomentumOptimizer(MomentumOptions options = {});

 protected:
  void create_slots(const std::vector<Variable>& vars) override;
  Operation apply_dense(Output grad, const Variable& var) override;

 private:
  MomentumOptions options_;
};

}  // namespace kiln

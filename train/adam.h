// tf.train.AdamOptimizer (Kingma & Ba), on TF's fused ApplyAdam:
//   lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
//   m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g^2
//   var -= lr_t * m / (sqrt(v) + epsilon)
// Slots "m" and "v" are the variables "<var>/Adam" and "<var>/Adam_1"; beta1^t and beta2^t live
// in the non-slot variables "beta1_power" and "beta2_power" (initialized to beta1 and beta2,
// placed with the first variable), multiplied by beta1 and beta2 after every step's updates.
#pragma once

#include <optional>

#include "train/optimizer.h"

namespace kiln {

struct AdamOptions {
  double learning_rate = 0.001;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
  bool use_nesterov = false;
  bool use_locking = false;
  std::string name = "Adam";
};

class AdamOptimizer : public Optimizer {
 public:
  explicit AdamOptimizer(AdamOptions options = {});

  // beta1_power / beta2_power; NotFoundError before the first apply_gradients.
  Variable beta1_power() const;
  Variable beta2_power() const;

 protected:
  void create_slots(const std::vector<Variable>& vars) override;
  Operation apply_dense(Output grad, const Variable& var) override;
  Operation finish(Graph& g, const std::vector<Operation>& updates, const std::string& name) override;

 private:
  AdamOptions options_;
  std::optional<Variable> beta1_power_, beta2_power_;
};

}  // namespace kiln

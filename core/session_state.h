// What a session owns besides its devices: variable values and the per-node state of stateful
// kernels (random generators). Two sessions over one graph have independent state, as in TF1.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/device_spec.h"
#include "core/tensor.h"

namespace kiln {

class Node;

// One variable's value in one session. `mu` guards value/initialized for assignments.
struct VariableState {
  std::string name;
  DeviceSpec device;
  std::mutex mu;
  Tensor value;
  bool initialized = false;
};

class SessionState {
 public:
  // The variable named `name`, created (uninitialized) on first use.
  VariableState& variable(const std::string& name, DeviceSpec device);
  // nullptr when the session has never seen the variable.
  VariableState* find_variable(const std::string& name);
  std::vector<std::string> variable_names() const;

  // The device copy of a Const node's value on `device`, made by `make` on first use: a GPU
  // graph uploads each constant once per session, not once per run.
  Tensor cached_constant(const Node* node, DeviceSpec device, const std::function<Tensor()>& make);

  // Reserves `count` Philox counter groups for a stateful random node; returns the first.
  // Successive runs of the same node continue the stream instead of repeating it.
  uint64_t reserve_random(const Node* node, uint64_t count);

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<VariableState>> variables_;
  std::map<const Node*, uint64_t> random_offsets_;
  std::map<std::pair<const Node*, DeviceSpec>, Tensor> constants_;
};

}  // namespace kiln

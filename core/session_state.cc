#include "core/session_state.h"

#include <vector>

namespace kiln {

VariableState& SessionState::variable(const std::string& name, DeviceSpec device) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = variables_[name];
  if (!slot) {
    slot = std::make_unique<VariableState>();
    slot->name = name;
    slot->device = device;
  }
  return *slot;
}

VariableState* SessionState::find_variable(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = variables_.find(name);
  return it == variables_.end() ? nullptr : it->second.get();
}

std::vector<std::string> SessionState::variable_names() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> names;
  for (const auto& [name, v] : variables_) names.push_back(name);
  return names;
}

Tensor SessionState::cached_constant(const Node* node, DeviceSpec device,
                                     const std::function<Tensor()>& make) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = constants_.find({node, device});
    if (it != constants_.end()) return it->second;
  }
  Tensor t = make();  // outside the lock: may copy to a device
  std::lock_guard<std::mutex> lock(mu_);
  return constants_.emplace(std::make_pair(node, device), t).first->second;
}

uint64_t SessionState::reserve_random(const Node* node, uint64_t count) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t& offset = random_offsets_[node];
  uint64_t first = offset;
  offset += count;
  return first;
}

}  // namespace kiln

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

uint64_t SessionState::reserve_random(const Node* node, uint64_t count) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t& offset = random_offsets_[node];
  uint64_t first = offset;
  offset += count;
  return first;
}

}  // namespace kiln

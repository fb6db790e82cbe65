// Internal: an execution plan, the pruned and placed subgraph one run() signature needs, in
// topological order, with every edge resolved to a value slot.
#pragma once

#include <string>
#include <vector>

#include "core/device.h"
#include "core/graph.h"
#include "core/kernel.h"

namespace kiln {

struct PlanStep {
  const Node* node = nullptr;
  KernelFn kernel = nullptr;
  Device* device = nullptr;
  std::vector<int> input_slots;
  std::vector<bool> input_is_ref;  // the op takes this input by reference
  std::vector<bool> input_on_host; // the kernel reads this input in host memory
  int output_base = 0;             // slots output_base .. output_base + num_outputs - 1
  int num_outputs = 0;
  std::vector<int> successors;     // steps waiting on this one (data or control)
  int num_predecessors = 0;
};

struct Plan {
  uint64_t graph_version = 0;
  std::vector<PlanStep> steps;
  int num_slots = 0;
  std::vector<int> fetch_slots;
  std::vector<int> feed_slots;
  std::vector<int> slot_uses;       // consuming steps per slot; fetched slots are never freed
  std::vector<Device*> gpu_devices; // streams to wait for at the end of a run
  bool single_device = true;
};

// Runs a plan; feeds are already checked and in slot order.
class Executor {
 public:
  Executor(const Plan& plan, SessionState& state) : plan_(plan), state_(state) {}
  std::vector<Value> run(std::vector<Tensor> feeds);

 private:
  void run_step(const PlanStep& step, std::vector<Value>& values);
  void run_sequential(std::vector<Value>& values);
  void run_parallel(std::vector<Value>& values);

  const Plan& plan_;
  SessionState& state_;
};

// Rethrows `e` as the same error type with `suffix` appended to its message.
[[noreturn]] void rethrow_with_suffix(const Error& e, const std::string& suffix);

// Reads a variable reference as a tensor; FailedPreconditionError when uninitialized.
Tensor read_variable(VariableState& var);

}  // namespace kiln

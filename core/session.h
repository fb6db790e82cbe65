// Session: runs a graph on a set of devices, as tf.Session.
//
// run(fetches, feeds, targets) executes only the subgraph the fetches and targets need (fed
// tensors cut it), with plans cached per fetch/feed/target signature. Variable values live in
// the session: two sessions over one graph hold independent values. Each node is placed once per
// session: its requested device, else /gpu:0 when the session has a GPU, else /cpu:0; ops that
// use a variable by reference run on the variable's device; ops without a kernel for the chosen
// device fall back to /cpu:0 unless their device was requested explicitly and soft placement is
// off. Nodes on different devices run concurrently on the devices' workers; a plan on a single
// device runs on the calling thread. run() returns after all GPU work it queued has finished;
// fetched tensors stay on the device that produced them (use to_host() or print them).
#pragma once

#include <map>
#include <unordered_map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/device.h"
#include "core/graph.h"
#include "core/session_state.h"
#include "core/tensor.h"

namespace kiln {

struct SessionOptions {
  int cpu_devices = 1;   // logical CPU devices /cpu:0 .. /cpu:N-1
  int gpu_devices = -1;  // -1: one per CUDA device; 0: none; more than physical: logical GPUs
  // As TF1: a node explicitly placed on a device the session lacks is an error; true moves it
  // to the default device instead.
  bool allow_soft_placement = false;
  bool log_device_placement = false;  // prints "node -> device" when a node is first placed
};

using FeedList = std::vector<std::pair<Output, Tensor>>;

struct Plan;

class Session {
 public:
  explicit Session(Graph& graph, SessionOptions options = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  std::vector<Tensor> run(const std::vector<Output>& fetches, const FeedList& feeds = {},
                          const std::vector<Operation>& targets = {});
  Tensor run(const Output& fetch, const FeedList& feeds = {});
  void run(const Operation& target, const FeedList& feeds = {});
  void run(const std::vector<Operation>& targets, const FeedList& feeds = {});
  // By name: "x:0" fetches a tensor, "init" (no ":") runs an operation and yields an empty Tensor.
  std::vector<Tensor> run(const std::vector<std::string>& fetches,
                          const std::map<std::string, Tensor>& feeds = {},
                          const std::vector<std::string>& targets = {});

  Graph& graph() { return graph_; }
  DeviceSet& devices() { return *devices_; }
  SessionState& state() { return state_; }
  // The device `node` runs on in this session (placing it if needed).
  Device& device_for(const Node* node);

  // The variable methods below may be called from several threads at once, and during run()
  // (each locks the variable it touches; save_async and the threaded restore rely on it).
  // A variable's current value; FailedPreconditionError when uninitialized, NotFoundError when
  // `name` is not a variable of the graph.
  Tensor variable_value(const std::string& name);
  // Replaces a variable's value (copied onto the variable's device); used by restore.
  void set_variable_value(const std::string& name, const Tensor& value);
  // As set_variable_value, but takes `value`'s buffer without a copy when it already lives in
  // the variable device's memory and nobody else holds it (a freshly read checkpoint tensor):
  // restoring then needs no memory beyond the tensor being restored.
  void adopt_variable_value(const std::string& name, Tensor value);
  bool variable_initialized(const std::string& name);

 private:
  std::shared_ptr<const Plan> plan_for(const std::vector<Output>& fetches,
                                       const FeedList& feeds,
                                       const std::vector<Operation>& targets);
  std::shared_ptr<Plan> build_plan(const std::vector<Output>& fetches, const FeedList& feeds,
                                   const std::vector<Operation>& targets);
  Device& place(const Node* node);
  VariableState& variable_state(const Node* variable_node);

  Graph& graph_;
  SessionOptions options_;
  std::unique_ptr<DeviceSet> devices_;
  SessionState state_;
  std::mutex mu_;  // guards plans_ and placement_
  std::map<std::string, std::shared_ptr<Plan>> plans_;
  std::unordered_map<const Node*, Device*> placement_;
  friend class Executor;
};

}  // namespace kiln

#include "core/session.h"

#include <algorithm>
#include <iostream>
#include <queue>
#include <set>

#include "core/op_registry.h"
#include "core/plan.h"

namespace kiln {

Session::Session(Graph& graph, SessionOptions options)
    : graph_(graph), options_(options) {
  EnsureRegistered();
  devices_ = std::make_unique<DeviceSet>(options.cpu_devices, options.gpu_devices);
}

Session::~Session() {
  // Let queued GPU work finish before tensors are returned to the caching allocators.
  for (const auto& d : devices_->all()) {
    try {
      d->synchronize();
    } catch (const Error& e) {
      std::cerr << "kiln: error while closing session: " << e.what() << "\n";
    }
  }
}

namespace {

bool touches_strings(const Node* node) {
  for (int i = 0; i < node->num_outputs(); ++i)
    if (node->output_type(i) == DType::kString) return true;
  for (const Output& in : node->inputs())
    if (in.dtype() == DType::kString) return true;
  return false;
}

std::string feed_shape_message(const Output& out, const Tensor& t) {
  return "Cannot feed value of shape " + t.shape().to_tuple_string() + " and dtype " +
         dtype_name(t.dtype()) + " for Tensor '" + out.name() + "', which has shape " +
         out.shape().to_tuple_string() + " and dtype " + dtype_name(out.dtype());
}

}  // namespace

Device& Session::place(const Node* node) {
  auto it = placement_.find(node);
  if (it != placement_.end()) return *it->second;
  const OpDef* def = OpRegistry::global().find(node->op());
  Device* device = nullptr;
  // Ops that take a variable by reference run where the variable lives (TF colocates them).
  if (def && !def->ref_inputs.empty()) {
    const Output& ref = node->inputs().at(def->ref_inputs.front());
    device = &place(ref.node);
  }
  bool explicit_request = !node->requested_device().empty();
  if (!device) {
    if (explicit_request) {
      DeviceSpec spec = DeviceSpec::parse(node->requested_device());
      device = devices_->find(spec);
      if (!device) {
        if (!options_.allow_soft_placement)
          throw InvalidArgumentError("Cannot assign a device for operation " + node->name() +
                                     ": Operation was explicitly assigned to " +
                                     spec.to_string() + " but available devices are [ " +
                                     devices_->available_names() + " ]");
        device = &devices_->default_device();
      }
    } else {
      device = &devices_->default_device();
    }
  }
  if (device->is_gpu() && touches_strings(node)) device = &devices_->get(DeviceSpec::cpu(0));
  // Integer constants are shapes and axes far more often than data: keep them on the host (TF
  // keeps int32 in host memory too), so GPU kernels read them without a device round trip.
  // int32 constants live in host memory even under a GPU device scope (TF does the same), int64
  // ones when nobody asked for a device.
  if (device->is_gpu() && node->op() == "Const" &&
      (node->output_type(0) == DType::kInt32 ||
       (!explicit_request && node->output_type(0) == DType::kInt64)))
    device = &devices_->get(DeviceSpec::cpu(0));
  if (!KernelRegistry::global().find(node->op(), device->spec().type)) {
    Device& cpu = devices_->get(DeviceSpec::cpu(0));
    bool can_fall_back = device->is_gpu() && (!explicit_request || options_.allow_soft_placement) &&
                         KernelRegistry::global().find(node->op(), DeviceType::kCPU);
    if (!def)  // imported from a GraphDef: fine until something needs it
      throw UnimplementedError("Op type not registered '" + node->op() + "': kiln does not " +
                               "implement it, and node '" + node->name() +
                               "' is needed to compute the fetches");
    if (!can_fall_back)
      throw InvalidArgumentError("No kernel registered for op " + node->op() + " (node '" +
                                 node->name() + "') on " + device->spec().to_string());
    device = &cpu;
  }
  if (options_.log_device_placement)
    std::cerr << node->name() << ": (" << node->op() << "): " << device->spec().full_name() << "\n";
  placement_[node] = device;
  return *device;
}

Device& Session::device_for(const Node* node) {
  std::lock_guard<std::mutex> lock(mu_);
  return place(node);
}

std::shared_ptr<Plan> Session::build_plan(const std::vector<Output>& fetches,
                                          const FeedList& feeds,
                                          const std::vector<Operation>& targets) {
  std::set<std::pair<const Node*, int>> fed;
  for (const auto& [out, t] : feeds) fed.insert({out.node, out.index});

  // Walk back from the fetches and targets; fed outputs cut the walk.
  std::vector<const Node*> needed;
  std::vector<char> seen(graph_.num_nodes(), 0);
  std::vector<const Node*> stack;
  auto need = [&](const Node* n) {
    if (!seen[n->id()]) { seen[n->id()] = 1; stack.push_back(n); }
  };
  for (const Output& f : fetches)
    if (!fed.count({f.node, f.index})) need(f.node);
  for (const Operation& t : targets) need(t.node);
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    needed.push_back(n);
    for (const Output& in : n->inputs())
      if (!fed.count({in.node, in.index})) need(in.node);
    for (const Node* c : n->control_inputs()) need(c);
  }

  // Kahn's algorithm over the needed nodes, in node-id order for determinism.
  std::sort(needed.begin(), needed.end(), [](const Node* a, const Node* b) { return a->id() < b->id(); });
  std::vector<int> step_of(graph_.num_nodes(), -1);
  for (size_t i = 0; i < needed.size(); ++i) step_of[needed[i]->id()] = static_cast<int>(i);
  std::vector<std::vector<int>> succ(needed.size());
  std::vector<int> indegree(needed.size(), 0);
  for (size_t i = 0; i < needed.size(); ++i) {
    const Node* n = needed[i];
    std::set<int> preds;
    for (const Output& in : n->inputs())
      if (!fed.count({in.node, in.index}) && step_of[in.node->id()] >= 0) preds.insert(step_of[in.node->id()]);
    for (const Node* c : n->control_inputs()) preds.insert(step_of[c->id()]);
    for (int p : preds) { succ[p].push_back(static_cast<int>(i)); ++indegree[i]; }
  }
  std::vector<int> order;
  // The ready node of smallest id first (a min-heap: sorting the ready list at every pop made
  // plans of graphs with thousands of independent nodes, e.g. initializers, quadratic).
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  std::vector<int> deg = indegree;
  for (size_t i = 0; i < needed.size(); ++i)
    if (deg[i] == 0) ready.push(static_cast<int>(i));
  while (!ready.empty()) {
    int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int s : succ[i])
      if (--deg[s] == 0) ready.push(s);
  }
  if (order.size() != needed.size()) {
    std::string names;
    int listed = 0;
    for (size_t i = 0; i < needed.size() && listed < 5; ++i)
      if (deg[i] > 0) { names += (listed++ ? ", " : "") + needed[i]->name(); }
    throw InvalidArgumentError("Graph is invalid, contains a cycle with " +
                               std::to_string(needed.size() - order.size()) +
                               " nodes, including: " + names);
  }

  auto plan = std::make_shared<Plan>();
  plan->graph_version = graph_.version();
  std::vector<int> position(needed.size());
  for (size_t k = 0; k < order.size(); ++k) position[order[k]] = static_cast<int>(k);
  // Slots: every output of every planned node, then one slot per fed output. A fed output has
  // its own slot even when its producer runs for another reason (a control dependency, another
  // output): readers see the fed value and the producer's result goes elsewhere.
  std::map<std::pair<const Node*, int>, int> slot_of;
  int next_slot = 0;
  for (int i : order) {
    const Node* n = needed[i];
    for (int k = 0; k < n->num_outputs(); ++k) slot_of[{n, k}] = next_slot++;
  }
  std::map<std::pair<const Node*, int>, int> fed_slot_of;
  for (const auto& [out, t] : feeds) {
    std::pair<const Node*, int> key(out.node, out.index);
    if (!fed_slot_of.count(key)) fed_slot_of[key] = next_slot++;
    plan->feed_slots.push_back(fed_slot_of[key]);
  }
  auto read_slot = [&](const Node* node, int index) {
    auto fed_it = fed_slot_of.find({node, index});
    return fed_it != fed_slot_of.end() ? fed_it->second : slot_of.at({node, index});
  };
  plan->num_slots = next_slot;
  plan->slot_uses.assign(next_slot, 0);
  std::set<Device*> devices_used;
  for (int i : order) {
    const Node* n = needed[i];
    PlanStep step;
    step.node = n;
    step.device = &place(n);
    devices_used.insert(step.device);
    const KernelDef* kdef = KernelRegistry::global().find(n->op(), step.device->spec().type);
    step.kernel = kdef->fn;
    const OpDef* def = OpRegistry::global().find(n->op());
    for (size_t k = 0; k < n->inputs().size(); ++k) {
      const Output& in = n->inputs()[k];
      int slot = read_slot(in.node, in.index);
      step.input_slots.push_back(slot);
      ++plan->slot_uses[slot];
      bool is_ref = def && std::find(def->ref_inputs.begin(), def->ref_inputs.end(),
                                     static_cast<int>(k)) != def->ref_inputs.end();
      step.input_is_ref.push_back(is_ref);
      step.input_on_host.push_back(std::find(kdef->host_inputs.begin(), kdef->host_inputs.end(),
                                             static_cast<int>(k)) != kdef->host_inputs.end());
    }
    if (n->num_outputs() > 0) step.output_base = slot_of.at({n, 0});
    step.num_outputs = n->num_outputs();
    for (int s : succ[i]) step.successors.push_back(position[s]);
    step.num_predecessors = indegree[i];
    plan->steps.push_back(std::move(step));
  }
  for (const Output& f : fetches) {
    int slot = read_slot(f.node, f.index);
    plan->fetch_slots.push_back(slot);
    plan->slot_uses[slot] = 1 << 30;  // never freed early
  }
  for (int s = 0; s < next_slot; ++s)
    if (plan->slot_uses[s] == 0) plan->slot_uses[s] = 1 << 30;  // unread outputs die with the run
  for (Device* d : devices_used)
    if (d->is_gpu()) plan->gpu_devices.push_back(d);
  // Nodes run on the calling thread in topological order unless several CPU devices have work:
  // GPU kernels are asynchronous anyway, so only logical CPUs gain from their own workers.
  int cpu_devices_used = 0;
  for (Device* d : devices_used)
    if (!d->is_gpu()) ++cpu_devices_used;
  plan->single_device = cpu_devices_used <= 1;
  return plan;
}

std::shared_ptr<const Plan> Session::plan_for(const std::vector<Output>& fetches,
                                              const FeedList& feeds,
                                              const std::vector<Operation>& targets) {
  std::string key;
  key.reserve(64);
  for (const Output& f : fetches) key += std::to_string(f.node->id()) + ":" + std::to_string(f.index) + ",";
  key += "|";
  for (const auto& [o, t] : feeds) key += std::to_string(o.node->id()) + ":" + std::to_string(o.index) + ",";
  key += "|";
  for (const Operation& t : targets) key += std::to_string(t.node->id()) + ",";
  std::lock_guard<std::mutex> lock(mu_);
  auto it = plans_.find(key);
  if (it != plans_.end() && it->second->graph_version == graph_.version()) return it->second;
  auto plan = build_plan(fetches, feeds, targets);
  plans_[key] = plan;
  return plan;
}

std::vector<Tensor> Session::run(const std::vector<Output>& fetches, const FeedList& feeds,
                                 const std::vector<Operation>& targets) {
  auto check_output = [this](const Output& o, const char* what) {
    if (!o.node || o.node->graph() != &graph_)
      throw InvalidArgumentError(std::string(what) + " " + o.name() + " is not an element of this graph");
    if (o.index < 0 || o.index >= o.node->num_outputs())
      throw InvalidArgumentError(std::string(what) + " " + o.name() + ": operation '" +
                                 o.node->name() + "' has " + std::to_string(o.node->num_outputs()) +
                                 " outputs");
  };
  for (const Output& f : fetches) check_output(f, "Fetch");
  for (const Operation& t : targets)
    if (!t.node || t.node->graph() != &graph_)
      throw InvalidArgumentError("Target operation is not an element of this graph");
  std::vector<Tensor> feed_values;
  feed_values.reserve(feeds.size());
  for (const auto& [out, t] : feeds) {
    check_output(out, "Feed");
    if (!t.valid()) throw InvalidArgumentError("Feed for '" + out.name() + "' is an empty tensor");
    if (t.dtype() != out.dtype() || !out.shape().compatible_with(t.shape()))
      throw InvalidArgumentError(feed_shape_message(out, t));
    feed_values.push_back(t);
  }
  auto plan = plan_for(fetches, feeds, targets);
  Executor executor(*plan, state_);
  std::vector<Value> values = executor.run(std::move(feed_values));
  std::vector<Tensor> out;
  out.reserve(values.size());
  for (Value& v : values) {
    Tensor t = v.ref ? read_variable(*v.ref) : std::move(v.tensor);
    v = Value();
    // As TF1 hands back copies, a fetched host tensor never aliases a variable, a constant of the
    // graph or another fetch: writing into it through data<T>() cannot change the session's
    // state. Device tensors are returned as they are (no host code writes into them by
    // accident, and a copy would cost a device round trip per fetch).
    if (t.valid() && t.on_host() && !t.buffer_is_unique()) t = t.clone();
    out.push_back(std::move(t));
  }
  return out;
}

Tensor Session::run(const Output& fetch, const FeedList& feeds) {
  return run(std::vector<Output>{fetch}, feeds, {})[0];
}

void Session::run(const Operation& target, const FeedList& feeds) {
  run(std::vector<Output>{}, feeds, {target});
}

void Session::run(const std::vector<Operation>& targets, const FeedList& feeds) {
  run(std::vector<Output>{}, feeds, targets);
}

std::vector<Tensor> Session::run(const std::vector<std::string>& fetches,
                                 const std::map<std::string, Tensor>& feeds,
                                 const std::vector<std::string>& targets) {
  std::vector<Output> fetch_outputs;
  std::vector<Operation> ops;
  std::vector<int> fetch_index;  // -1: an operation fetched by name
  for (const std::string& f : fetches) {
    if (f.find(':') == std::string::npos) {
      ops.push_back(graph_.get_operation_by_name(f));
      fetch_index.push_back(-1);
    } else {
      fetch_index.push_back(static_cast<int>(fetch_outputs.size()));
      fetch_outputs.push_back(graph_.get_tensor_by_name(f));
    }
  }
  for (const std::string& t : targets) ops.push_back(graph_.get_operation_by_name(t));
  FeedList feed_list;
  for (const auto& [name, t] : feeds) feed_list.emplace_back(graph_.get_tensor_by_name(name), t);
  std::vector<Tensor> values = run(fetch_outputs, feed_list, ops);
  std::vector<Tensor> out;
  for (int i : fetch_index) out.push_back(i < 0 ? Tensor() : values[i]);
  return out;
}

VariableState& Session::variable_state(const Node* node) {
  Device& device = device_for(node);
  std::string name = node->attrs().get_or<std::string>("shared_name", "");
  return state_.variable(name.empty() ? node->name() : name, device.spec());
}

namespace {
const Node* find_variable_node(Graph& g, const std::string& name) {
  const Node* n = g.find_node(name);
  if (!n || !is_variable_op(n->op()))
    throw NotFoundError("'" + name + "' is not a variable of the graph");
  return n;
}
}  // namespace

Tensor Session::variable_value(const std::string& name) {
  return read_variable(variable_state(find_variable_node(graph_, name)));
}

bool Session::variable_initialized(const std::string& name) {
  VariableState& v = variable_state(find_variable_node(graph_, name));
  std::lock_guard<std::mutex> lock(v.mu);
  return v.initialized;
}

void Session::set_variable_value(const std::string& name, const Tensor& value) {
  const Node* node = find_variable_node(graph_, name);
  Device& device = device_for(node);
  VariableState& v = variable_state(node);
  // Always a copy: the caller keeps its tensor, the variable gets its own buffer.
  Tensor placed = value.copy_to(device.allocator(), device.spec());
  std::lock_guard<std::mutex> lock(v.mu);
  v.value = placed;
  v.initialized = true;
}

void Session::adopt_variable_value(const std::string& name, Tensor value) {
  const Node* node = find_variable_node(graph_, name);
  Device& device = device_for(node);
  if (value.allocator() != device.allocator() || !value.buffer_is_unique()) {
    set_variable_value(name, value);
    return;
  }
  VariableState& v = variable_state(node);
  Tensor placed = value.relabeled(device.spec());
  value = Tensor();  // the variable holds the only reference
  std::lock_guard<std::mutex> lock(v.mu);
  v.value = std::move(placed);
  v.initialized = true;
}

}  // namespace kiln

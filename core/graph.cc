#include "core/graph.h"

#include <algorithm>
#include <cctype>

#include "core/device_spec.h"
#include "core/op_registry.h"

namespace kiln {

const std::string Graph::kEmpty;

std::string Output::name() const {
  return node ? node->name() + ":" + std::to_string(index) : "<invalid>";
}
DType Output::dtype() const { return node->output_type(index); }
Shape Output::shape() const { return node->output_shape(index); }
Graph* Output::graph() const { return node ? node->graph() : nullptr; }
bool Output::operator<(const Output& o) const {
  if (node != o.node) return (node ? node->id() : -1) < (o.node ? o.node->id() : -1);
  return index < o.index;
}

const std::string& Operation::name() const { return node->name(); }

void Node::rethrow_attr_error(const Error& e) const {
  std::string msg = op_ + " node '" + name_ + "': " + e.what();
  if (e.code() == ErrorCode::kNotFound) throw NotFoundError(msg);
  throw InvalidArgumentError(msg);
}

Graph::Graph() { EnsureRegistered(); }
Graph::~Graph() = default;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

void check_node_name(const std::string& name) {
  // TF's rule for op names: [A-Za-z0-9.][A-Za-z0-9_.\-/>]*
  auto ok_first = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.'; };
  auto ok_rest = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' ||
           c == '/' || c == '>';
  };
  bool ok = !name.empty() && ok_first(name[0]) && std::all_of(name.begin() + 1, name.end(), ok_rest);
  if (!ok) throw InvalidArgumentError("'" + name + "' is not a valid node name");
}

}  // namespace

std::string Graph::unique_name(const std::string& base, bool mark_as_used) {
  std::string scope = current_name_scope();
  std::string name = scope + base;
  std::string key = lower(name);
  int i = names_in_use_.count(key) ? names_in_use_[key] : 0;
  if (mark_as_used) names_in_use_[key] = i + 1;
  if (i > 0) {
    std::string base_key = key;
    while (names_in_use_.count(key)) key = base_key + "_" + std::to_string(i++);
    if (mark_as_used) names_in_use_[key] = 1;
    name += "_" + std::to_string(i - 1);
  }
  return name;
}

std::string Graph::current_name_scope() const {
  return name_stack_.empty() || name_stack_.back().empty() ? "" : name_stack_.back() + "/";
}

Graph::Scope Graph::name_scope(const std::string& name) {
  std::string scope;
  if (name.empty()) scope = "";
  else if (name.back() == '/') scope = name.substr(0, name.size() - 1);
  else scope = unique_name(name);
  name_stack_.push_back(scope);
  return Scope([this] { name_stack_.pop_back(); });
}

Graph::Scope Graph::device(const std::string& device) {
  if (!device.empty()) DeviceSpec::parse(device);  // reject garbage at build time
  device_stack_.push_back(device);
  return Scope([this] { device_stack_.pop_back(); });
}

Graph::Scope Graph::control_dependencies(const std::vector<Operation>& ops) {
  std::vector<Node*> nodes;
  for (const Operation& op : ops) {
    if (!op.node) throw InvalidArgumentError("control_dependencies got an empty operation");
    if (op.node->graph() != this)
      throw InvalidArgumentError("Control dependency '" + op.node->name() +
                                 "' is not an element of this graph");
    nodes.push_back(op.node);
  }
  control_stack_.push_back(std::move(nodes));
  return Scope([this] { control_stack_.pop_back(); });
}

Node* Graph::create(NodeSpec spec) {
  const OpDef* def = OpRegistry::global().find(spec.op);
  if (!def && !spec.fallback_outputs) throw NotFoundError("Op type not registered '" + spec.op + "'");
  std::string name;
  if (spec.exact_name) {
    check_node_name(spec.name);
    if (by_name_.count(spec.name))
      throw InvalidArgumentError("Duplicate node name in graph: '" + spec.name + "'");
    name = spec.name;
    for (size_t slash = name.find('/'); slash != std::string::npos; slash = name.find('/', slash + 1))
      names_in_use_[lower(name.substr(0, slash))] = std::max(names_in_use_[lower(name.substr(0, slash))], 1);
    names_in_use_[lower(name)] = std::max(names_in_use_[lower(name)], 1);
  } else {
    name = unique_name(spec.name.empty() ? spec.op : spec.name, false);
    check_node_name(name);
  }
  int n_in = static_cast<int>(spec.inputs.size());
  if (def && (n_in < def->min_inputs || (def->max_inputs >= 0 && n_in > def->max_inputs)))
    throw InvalidArgumentError(spec.op + " node '" + name + "' takes " +
                               std::to_string(def->min_inputs) +
                               (def->max_inputs == def->min_inputs ? "" : "+") + " inputs, got " +
                               std::to_string(n_in));
  for (const Output& in : spec.inputs) {
    if (!in.node) throw InvalidArgumentError(spec.op + " node '" + name + "' got an empty input");
    if (in.node->graph() != this)
      throw InvalidArgumentError("Tensor " + in.name() + " used by '" + name +
                                 "' must be from the same graph");
    if (in.index < 0 || in.index >= in.node->num_outputs())
      throw InvalidArgumentError("Node '" + in.node->name() + "' has no output " +
                                 std::to_string(in.index));
  }
  if (def)
    for (const auto& [attr, value] : def->attr_defaults)
      if (!spec.attrs.has(attr)) spec.attrs.set(attr, value);
  std::string device = spec.device ? *spec.device : current_device();
  if (!device.empty()) DeviceSpec::parse(device);

  std::vector<DType> output_types;
  std::vector<Shape> output_shapes;
  auto use_fallback = [&] {
    for (const auto& [dtype, shape] : *spec.fallback_outputs) {
      output_types.push_back(dtype);
      output_shapes.push_back(shape);
    }
  };
  if (!def) {
    use_fallback();
  } else {
    try {
      InferenceContext ctx(spec, name);
      def->infer(ctx);
      for (DType t : ctx.output_types())
        if (t == DType::kInvalid)
          throw InternalError("Shape function of " + spec.op + " left an output unset");
      output_types = ctx.output_types();
      output_shapes = ctx.output_shapes();
    } catch (const Error&) {
      if (!spec.fallback_outputs) throw;
      use_fallback();
    }
  }

  auto node = std::make_unique<Node>();
  node->graph_ = this;
  node->id_ = static_cast<int>(nodes_.size());
  node->name_ = name;
  node->op_ = spec.op;
  node->device_ = device;
  node->inputs_ = std::move(spec.inputs);
  node->attrs_ = std::move(spec.attrs);
  node->output_types_ = std::move(output_types);
  node->output_shapes_ = std::move(output_shapes);
  auto add_control = [&node](Node* dep) {
    if (std::find(node->control_inputs_.begin(), node->control_inputs_.end(), dep) ==
        node->control_inputs_.end())
      node->control_inputs_.push_back(dep);
  };
  for (Node* dep : spec.control_inputs) {
    if (!dep || dep->graph() != this)
      throw InvalidArgumentError("Control input of '" + name + "' is not in this graph");
    add_control(dep);
  }
  for (const auto& frame : control_stack_)
    for (Node* dep : frame) add_control(dep);
  if (!spec.exact_name) unique_name(spec.name.empty() ? spec.op : spec.name, true);
  Node* raw = node.get();
  nodes_.push_back(std::move(node));
  by_name_[name] = raw;
  ++version_;
  return raw;
}

void Graph::add_control_input(Node* node, Node* dependency) {
  if (!node || !dependency || node->graph() != this || dependency->graph() != this)
    throw InvalidArgumentError("add_control_input needs two nodes of this graph");
  node->control_inputs_.push_back(dependency);
  ++version_;
}

Node* Graph::find_node(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

Output Graph::get_tensor_by_name(const std::string& name) const {
  size_t colon = name.rfind(':');
  if (colon == std::string::npos)
    throw InvalidArgumentError("The name '" + name +
                               "' looks like an (invalid) Operation name, not a Tensor. Tensor "
                               "names must be of the form \"<op_name>:<output_index>\".");
  std::string op = name.substr(0, colon);
  std::string idx = name.substr(colon + 1);
  if (idx.empty() || idx.size() > 9 ||
      !std::all_of(idx.begin(), idx.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
    throw InvalidArgumentError("The name '" + name + "' has an invalid output index");
  Node* node = find_node(op);
  if (!node)
    throw NotFoundError("The name '" + name + "' refers to a Tensor which does not exist. The "
                        "operation, '" + op + "', does not exist in the graph.");
  int i = std::stoi(idx);
  if (i >= node->num_outputs())
    throw NotFoundError("The name '" + name + "' refers to a Tensor which does not exist. The "
                        "operation, '" + op + "', exists but only has " +
                        std::to_string(node->num_outputs()) + " outputs.");
  return Output(node, i);
}

Operation Graph::get_operation_by_name(const std::string& name) const {
  if (name.find(':') != std::string::npos)
    throw InvalidArgumentError("The name '" + name +
                               "' appears to refer to a Tensor, not an Operation.");
  Node* node = find_node(name);
  if (!node) throw NotFoundError("The name '" + name + "' refers to an Operation not in the graph.");
  return Operation(node);
}

void Graph::add_to_collection(const std::string& name, CollectionItem item) {
  collections_[name].push_back(std::move(item));
}

const std::vector<CollectionItem>& Graph::get_collection(const std::string& name) const {
  static const std::vector<CollectionItem> kNone;
  auto it = collections_.find(name);
  return it == collections_.end() ? kNone : it->second;
}

std::vector<std::string> Graph::collection_keys() const {
  std::vector<std::string> keys;
  for (const auto& [k, v] : collections_) keys.push_back(k);
  return keys;
}

std::vector<VariableRecord> Graph::variables(const std::string& collection) const {
  std::vector<VariableRecord> out;
  for (const auto& item : get_collection(collection))
    if (const auto* v = std::get_if<VariableRecord>(&item)) out.push_back(*v);
  return out;
}

std::pair<int64_t, int64_t> Graph::seeds_for_op(std::optional<int64_t> op_seed) const {
  constexpr int64_t kDefaultGraphSeed = 87654321;
  int64_t seed = 0, seed2 = 0;
  if (seed_) {
    seed = *seed_;
    seed2 = op_seed ? *op_seed : static_cast<int64_t>(nodes_.size());
  } else if (op_seed) {
    seed = kDefaultGraphSeed;
    seed2 = *op_seed;
  } else {
    return {0, 0};  // both zero: the kernel draws a nondeterministic seed
  }
  // TF truncates both seeds into [0, 2^31 - 1) (Python's modulo: never negative).
  constexpr int64_t kMaxInt32 = 2147483647;
  auto truncate = [](int64_t v) { return ((v % kMaxInt32) + kMaxInt32) % kMaxInt32; };
  seed = truncate(seed);
  seed2 = truncate(seed2);
  if (seed == 0 && seed2 == 0) seed2 = kMaxInt32;  // (0, 0) means "random": avoid it
  return {seed, seed2};
}

}  // namespace kiln

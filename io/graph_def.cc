#include "io/graph_def.h"

#include <algorithm>
#include <set>

#include "core/device_spec.h"
#include "core/errors.h"
#include "io/attr_proto.h"
#include "io/proto/graph.pb.h"

namespace kiln::io {

namespace {

// GraphDef.versions.producer: a TF1-era producer every TF 1.x/2.x accepts (TF 1.15 writes 134;
// observed TF1 graphs carry 24-26). Our graphs use no op semantics newer than that.
constexpr int kGraphDefProducer = 26;

std::string input_string(const Output& in) {
  return in.index == 0 ? in.node->name() : in.node->name() + ":" + std::to_string(in.index);
}

struct InputRef {
  std::string node;
  int index = 0;
  bool control = false;
};

// The highest output index an input may name. The importer makes room for every output up to
// the highest index a consumer uses (fallback_outputs, for ops it cannot infer), so without a
// bound "x:2000000000", a few bytes of file, would cost gigabytes. No real op has this many.
constexpr int kMaxOutputIndex = 65535;

InputRef parse_input(const std::string& s, const std::string& consumer) {
  InputRef ref;
  if (s.empty()) throw InvalidArgumentError("Node '" + consumer + "' has an empty input");
  if (s[0] == '^') {
    ref.control = true;
    ref.node = s.substr(1);
    return ref;
  }
  size_t colon = s.rfind(':');
  ref.node = s;
  if (colon != std::string::npos) {
    std::string idx = s.substr(colon + 1);
    if (!idx.empty() && std::all_of(idx.begin(), idx.end(), ::isdigit)) {
      ref.node = s.substr(0, colon);
      int64_t value = 0;
      for (char c : idx) {
        value = value * 10 + (c - '0');
        if (value > kMaxOutputIndex)
          throw InvalidArgumentError("Node '" + consumer + "': input '" + s +
                                     "' names output index " + idx + ", above kiln's limit of " +
                                     std::to_string(kMaxOutputIndex));
      }
      ref.index = static_cast<int>(value);
    }
  }
  return ref;
}

// What an imported node's outputs are when kiln cannot infer them: the count the graph implies,
// dtypes from the node's own dtype attrs, shapes from `_output_shapes`.
std::vector<std::pair<DType, Shape>> fallback_outputs(const AttrMap& attrs, int count) {
  std::vector<Shape> shapes = attrs.get_or<std::vector<Shape>>("_output_shapes", {});
  std::vector<DType> types;
  for (const char* list_attr : {"dtypes", "Tout", "out_types", "output_types"})
    if (const AttrValue* v = attrs.find(list_attr))
      if (const auto* list = std::get_if<std::vector<DType>>(v)) types = *list;
  DType single = DType::kInvalid;
  for (const char* attr : {"T", "dtype", "out_type", "DstT", "dt", "Tout"})
    if (const AttrValue* v = attrs.find(attr))
      if (const auto* t = std::get_if<DType>(v)) { single = *t; break; }
  int n = std::max<int>({count, static_cast<int>(shapes.size()), static_cast<int>(types.size())});
  std::vector<std::pair<DType, Shape>> out;
  for (int i = 0; i < n; ++i)
    out.emplace_back(i < static_cast<int>(types.size()) ? types[i] : single,
                     i < static_cast<int>(shapes.size()) ? shapes[i] : Shape::unknown());
  return out;
}

}  // namespace

void graph_to_graph_def(const Graph& graph, kiln::GraphDef* def,
                        const GraphDefExportOptions& options) {
  def->Clear();
  def->mutable_versions()->set_producer(kGraphDefProducer);
  for (const auto& node : graph.nodes()) {
    kiln::NodeDef* nd = def->add_node();
    nd->set_name(node->name());
    nd->set_op(node->op());
    for (const Output& in : node->inputs()) nd->add_input(input_string(in));
    for (const Node* c : node->control_inputs()) nd->add_input("^" + c->name());
    if (!options.clear_devices) nd->set_device(node->requested_device());
    auto& attrs = *nd->mutable_attr();
    for (const auto& [name, value] : node->attrs().values()) {
      if (name == "_output_shapes" && options.add_shapes) continue;
      attr_to_proto(value, &attrs[name]);
    }
    if (options.add_shapes) {
      std::vector<Shape> shapes;
      for (int i = 0; i < node->num_outputs(); ++i) shapes.push_back(node->output_shape(i));
      // kiln types a resource handle as the variable's value; TF's handle is a scalar.
      if (node->op() == "VarHandleOp") shapes.assign(node->num_outputs(), Shape{});
      attr_to_proto(shapes, &attrs["_output_shapes"]);
    }
  }
}

std::map<std::string, Node*> import_graph_def(Graph& graph, const kiln::GraphDef& def,
                                              const GraphDefImportOptions& options) {
  const int n = def.node_size();
  std::map<std::string, int> index_of;
  for (int i = 0; i < n; ++i) {
    const std::string& name = def.node(i).name();
    if (!index_of.emplace(name, i).second)
      throw InvalidArgumentError("GraphDef has two nodes named '" + name + "'");
  }
  // Resolve inputs, count the outputs each node must have, and order the nodes so that every
  // node comes after its inputs (Kahn's algorithm, keeping the file's order among ready nodes).
  std::vector<std::vector<InputRef>> inputs(n);
  std::vector<int> outputs_needed(n, 0);
  std::vector<std::vector<int>> consumers(n);
  std::vector<int> pending(n, 0);
  for (int i = 0; i < n; ++i) {
    const kiln::NodeDef& nd = def.node(i);
    for (const std::string& s : nd.input()) {
      InputRef ref = parse_input(s, nd.name());
      auto it = index_of.find(ref.node);
      if (it == index_of.end())
        throw InvalidArgumentError("Node '" + nd.name() + "': input '" + s +
                                   "' names no node of the GraphDef");
      if (!ref.control)
        outputs_needed[it->second] = std::max(outputs_needed[it->second], ref.index + 1);
      consumers[it->second].push_back(i);
      ++pending[i];
      inputs[i].push_back(std::move(ref));
    }
  }
  // Smallest file index first among ready nodes, so a sorted GraphDef keeps its own order.
  std::set<int> ready;
  for (int i = 0; i < n; ++i)
    if (pending[i] == 0) ready.insert(i);
  std::vector<int> order;
  while (!ready.empty()) {
    int i = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(i);
    for (int c : consumers[i])
      if (--pending[c] == 0) ready.insert(c);
  }
  if (static_cast<int>(order.size()) != n) {
    for (int i = 0; i < n; ++i)
      if (pending[i] > 0)
        throw InvalidArgumentError("GraphDef has a cycle through node '" + def.node(i).name() +
                                   "' (kiln does not import control flow such as while loops)");
  }

  const std::string prefix = options.prefix.empty() ? "" : options.prefix + "/";
  std::map<std::string, Node*> created;
  for (int i : order) {
    const kiln::NodeDef& nd = def.node(i);
    Graph::NodeSpec spec;
    spec.op = nd.op();
    spec.name = prefix + nd.name();
    spec.exact_name = true;
    for (const InputRef& ref : inputs[i]) {
      Node* src = created.at(ref.node);
      if (ref.control) {
        spec.control_inputs.push_back(src);
      } else {
        if (ref.index >= src->num_outputs())
          throw InvalidArgumentError("Node '" + nd.name() + "': input '" + ref.node + ":" +
                                     std::to_string(ref.index) + "' does not exist (" + src->op() +
                                     " node '" + ref.node + "' has " +
                                     std::to_string(src->num_outputs()) + " outputs)");
        spec.inputs.emplace_back(src, ref.index);
      }
    }
    for (const auto& [name, value] : nd.attr())
      spec.attrs.set(name, attr_from_proto(value, "Node '" + nd.name() + "' attr '" + name + "': "));
    // No device in the file (or cleared): the importer's device scope applies. A device kiln
    // cannot name (a TPU, a job without a device) is dropped the same way.
    if (!options.clear_devices && !nd.device().empty()) {
      try {
        DeviceSpec::parse(nd.device());
        spec.device = nd.device();
      } catch (const InvalidArgumentError&) {
      }
    }
    spec.fallback_outputs = fallback_outputs(spec.attrs, outputs_needed[i]);
    created[nd.name()] = graph.create(std::move(spec));
  }
  return created;
}

}  // namespace kiln::io

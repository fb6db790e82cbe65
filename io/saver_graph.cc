#include "io/saver_graph.h"

#include <map>
#include <optional>
#include <set>

#include "core/device_spec.h"
#include "core/errors.h"
#include "core/op_registry.h"
#include "ops/op_util.h"

namespace kiln::io {

namespace {

using ops_internal::make_const;
using ops_internal::scope_name;

Node* add_node(Graph& g, const std::string& op, const std::string& name, std::vector<Output> inputs,
               AttrMap attrs = {}, std::vector<Node*> control = {},
               std::optional<std::string> device = std::nullopt, bool exact_name = false) {
  Graph::NodeSpec spec;
  spec.op = op;
  spec.name = name;
  spec.inputs = std::move(inputs);
  spec.attrs = std::move(attrs);
  spec.control_inputs = std::move(control);
  spec.device = std::move(device);
  spec.exact_name = exact_name;
  return g.create(std::move(spec));
}

Output string_vector(Graph& g, const std::vector<std::string>& values, const std::string& name) {
  return make_const(g, Tensor::of_strings(values, Shape{static_cast<int64_t>(values.size())}), name);
}

Output string_scalar(Graph& g, const std::string& value, const std::string& name) {
  return make_const(g, Tensor::of_strings({value}, Shape{}), name);
}

Output int32_scalar(Graph& g, int32_t value, const std::string& name) {
  Tensor t(DType::kInt32, Shape{});
  *t.data<int32_t>() = value;
  return make_const(g, t, name);
}

AttrMap attrs_with(std::initializer_list<std::pair<const char*, AttrValue>> list) {
  AttrMap a;
  for (const auto& [k, v] : list) a.set(k, v);
  return a;
}

using Group = std::vector<std::pair<std::string, Variable>>;

// SaveV2 of one group into `prefix`, then "control_dependency", an Identity of `prefix` that
// runs after the save. Returns the Identity.
Output add_save(Graph& g, Output prefix, const Group& vars, const std::optional<std::string>& device) {
  std::vector<std::string> names, slices;
  std::vector<Output> inputs{prefix};
  std::vector<DType> dtypes;
  for (const auto& [key, var] : vars) {
    names.push_back(key);
    slices.emplace_back();
    dtypes.push_back(var.dtype());
  }
  Node* save;
  {
    auto dev = g.device(device.value_or(""));
    auto scope = g.name_scope("SaveV2");
    inputs.push_back(string_vector(g, names, "tensor_names"));
    inputs.push_back(string_vector(g, slices, "shape_and_slices"));
    for (const auto& [key, var] : vars) inputs.push_back(var.ref());
    save = add_node(g, "SaveV2", scope_name(g), inputs, attrs_with({{"dtypes", dtypes}}), {},
                    std::nullopt, true);
  }
  return add_node(g, "Identity", "control_dependency", {prefix},
                  attrs_with({{"T", DType::kString},
                              {"_class", std::vector<std::string>{"loc:@" + prefix.node->name()}}}),
                  {save}, device)
      ->output(0);
}

// RestoreV2 of one group from `prefix` and an Assign per variable. Returns the Assigns.
std::vector<Node*> add_restore(Graph& g, Output prefix, const Group& vars, bool reshape) {
  std::vector<std::string> names, slices;
  std::vector<DType> dtypes;
  for (const auto& [key, var] : vars) {
    names.push_back(key);
    slices.emplace_back();
    dtypes.push_back(var.dtype());
  }
  Node* restore;
  {
    auto dev = g.device("/device:CPU:0");
    auto scope = g.name_scope("RestoreV2");
    Output tn = string_vector(g, names, "tensor_names");
    Output ss = string_vector(g, slices, "shape_and_slices");
    restore = add_node(g, "RestoreV2", scope_name(g), {prefix, tn, ss},
                       attrs_with({{"dtypes", dtypes}}), {}, std::nullopt, true);
  }
  std::vector<Node*> assigns;
  for (size_t k = 0; k < vars.size(); ++k) {
    const Variable& var = vars[k].second;
    const std::string& var_device = var.op().node->requested_device();
    Output value = restore->output(static_cast<int>(k));
    if (reshape && var.shape().fully_defined()) {
      std::vector<int64_t> dims = var.shape().dims();
      Output shape = ops_internal::int_vector_const(g, dims, "Reshape/shape");
      value = add_node(g, "Reshape", "Reshape", {value, shape},
                       attrs_with({{"T", var.dtype()}, {"Tshape", DType::kInt32}}))->output(0);
    }
    assigns.push_back(add_node(
        g, "Assign", "Assign", {var.ref(), value},
        attrs_with({{"T", var.dtype()},
                    {"_class", std::vector<std::string>{"loc:@" + var.name()}},
                    {"use_locking", true},
                    {"validate_shape", !reshape}}),
        {}, var_device));
  }
  return assigns;
}

}  // namespace

SaverGraphNames build_saver_graph(Graph& g, const std::string& scope_base,
                                  const std::vector<std::pair<std::string, Variable>>& vars,
                                  bool sharded, bool reshape, const std::string& default_filename,
                                  const std::string& temp_suffix) {
  // Under the caller's name scope (as TF's name_scope(name, "save")), on no device.
  auto scope = g.name_scope(scope_base);
  const std::string prefix = g.current_name_scope();
  auto no_device = g.device("");
  SaverGraphNames names;
  Output filename = string_scalar(g, default_filename.empty() ? "model" : default_filename, "Const");
  names.filename_tensor_name = filename.name();
  names.restore_op_name = prefix + "restore_all";

  if (!sharded) {
    names.save_tensor_name = add_save(g, filename, vars, std::nullopt).name();
    std::vector<Node*> assigns = add_restore(g, filename, vars, reshape);
    add_node(g, "NoOp", "restore_all", {}, {}, assigns);
    return names;
  }

  // One group per requested device, in device order ("" first: no device asked for).
  std::map<std::string, Group> groups;
  for (const auto& entry : vars) {
    const std::string& dev = entry.second.op().node->requested_device();
    groups[dev.empty() ? "" : DeviceSpec::parse(dev).to_string()].push_back(entry);
  }
  const int n = static_cast<int>(groups.size());
  Output tmp;
  {
    auto s = g.name_scope("StringJoin");
    Output part = string_scalar(g, temp_suffix + "/part", "inputs_1");
    tmp = add_node(g, "StringJoin", scope_name(g), {filename, part},
                   attrs_with({{"N", int64_t{2}}, {"separator", std::string()}}), {}, std::nullopt,
                   true)->output(0);
  }
  Output num_shards = int32_scalar(g, n, "num_shards");
  std::vector<Output> shard_prefixes;
  std::vector<Node*> restore_shards;
  int i = 0;
  for (const auto& [device, group] : groups) {
    std::optional<std::string> dev = device.empty() ? std::nullopt : std::optional(device);
    Output shard_file;
    {
      auto d = g.device(device);
      auto s = g.name_scope("ShardedFilename");
      Output shard = int32_scalar(g, i, "shard");
      shard_file = add_node(g, "ShardedFilename", scope_name(g), {tmp, shard, num_shards}, {}, {},
                            std::nullopt, true)->output(0);
    }
    shard_prefixes.push_back(add_save(g, shard_file, group, dev));
    std::vector<Node*> assigns = add_restore(g, filename, group, reshape);
    restore_shards.push_back(add_node(g, "NoOp", "restore_shard", {}, {}, assigns, dev));
    ++i;
  }
  Node* merge;
  {
    auto d = g.device("/device:CPU:0");
    auto s = g.name_scope("MergeV2Checkpoints");
    Output packed = add_node(g, "Pack", "checkpoint_prefixes", shard_prefixes,
                             attrs_with({{"N", static_cast<int64_t>(shard_prefixes.size())},
                                         {"T", DType::kString},
                                         {"axis", int64_t{0}}}))->output(0);
    merge = add_node(g, "MergeV2Checkpoints", scope_name(g), {packed, filename},
                     attrs_with({{"delete_old_dirs", true}}), {}, std::nullopt, true);
  }
  names.save_tensor_name =
      add_node(g, "Identity", "Identity", {filename},
               attrs_with({{"T", DType::kString}}), {merge}, "/device:CPU:0")->output(0).name();
  add_node(g, "NoOp", "restore_all", {}, {}, restore_shards);
  return names;
}

namespace {

Node* find_op(const Graph& g, const std::string& name, const char* what) {
  std::string op_name = name.substr(0, name.rfind(':') == std::string::npos ? name.size() : name.rfind(':'));
  if (Node* n = g.find_node(op_name)) return n;
  throw NotFoundError("The SaverDef's " + std::string(what) + " '" + name +
                      "' is not in the graph");
}

// Follows Identity/Reshape/RefIdentity/ReadVariableOp back to the producing output.
Output through_identities(Output out) {
  while (out.node && (out.node->op() == "Identity" || out.node->op() == "Reshape" ||
                      out.node->op() == "RefIdentity" || out.node->op() == "ReadVariableOp") &&
         !out.node->inputs().empty())
    out = out.node->inputs()[0];
  return out;
}

std::vector<std::string> const_strings(const Output& out, const Node* user) {
  Output src = through_identities(out);
  if (!src.node || src.node->op() != "Const")
    throw InvalidArgumentError("Node '" + user->name() + "': its tensor names come from '" +
                               (src.node ? src.node->name() : "?") + "', not a constant");
  const Tensor& t = src.node->attr<Tensor>("value");
  if (t.dtype() != DType::kString)
    throw InvalidArgumentError("Node '" + user->name() + "': tensor names are not strings");
  return std::vector<std::string>(t.data<std::string>(), t.data<std::string>() + t.num_elements());
}

bool is_variable_node(const Node* n) { return n && is_variable_op(n->op()); }

// Every node reachable from `start` through data and control inputs.
std::vector<Node*> ancestors(Node* start) {
  std::vector<Node*> out, stack{start};
  std::set<Node*> seen{start};
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    out.push_back(n);
    auto visit = [&](Node* m) {
      if (m && seen.insert(m).second) stack.push_back(m);
    };
    for (const Output& in : n->inputs()) visit(in.node);
    for (Node* c : n->control_inputs()) visit(c);
  }
  return out;
}

}  // namespace

std::vector<std::pair<std::string, Node*>> saver_variables(const Graph& g,
                                                           const SaverGraphNames& names) {
  std::map<std::string, Node*> found;
  auto record = [&](const std::string& key, Node* var) {
    auto [it, inserted] = found.emplace(key, var);
    if (!inserted && it->second != var)
      throw InvalidArgumentError("The saver restores checkpoint key '" + key +
                                 "' into two variables: " + it->second->name() + " and " +
                                 var->name());
  };
  if (!names.restore_op_name.empty()) {
    for (Node* n : ancestors(find_op(g, names.restore_op_name, "restore_op_name"))) {
      if ((n->op() != "Assign" && n->op() != "AssignVariableOp") || n->inputs().size() != 2)
        continue;
      Output target = through_identities(n->inputs()[0]);
      Output value = through_identities(n->inputs()[1]);
      if (!is_variable_node(target.node) || !value.node) continue;
      const std::string& op = value.node->op();
      if (op == "RestoreV2") {
        auto keys = const_strings(value.node->inputs().at(1), value.node);
        if (value.index < static_cast<int>(keys.size())) record(keys[value.index], target.node);
      } else if (op == "Restore" || op == "RestoreSlice") {
        auto keys = const_strings(value.node->inputs().at(1), value.node);
        if (!keys.empty()) record(keys[0], target.node);
      }
    }
  }
  if (found.empty() && !names.save_tensor_name.empty()) {
    for (Node* n : ancestors(find_op(g, names.save_tensor_name, "save_tensor_name"))) {
      const std::string& op = n->op();
      if (op != "SaveV2" && op != "SaveSlices" && op != "Save") continue;
      const size_t first = op == "Save" ? 2 : 3;  // Save(filename, tensor_names, data...)
      auto keys = const_strings(n->inputs().at(1), n);
      for (size_t k = 0; k < keys.size() && first + k < n->inputs().size(); ++k) {
        Output v = through_identities(n->inputs()[first + k]);
        if (is_variable_node(v.node)) record(keys[k], v.node);
      }
    }
  }
  return std::vector<std::pair<std::string, Node*>>(found.begin(), found.end());
}

}  // namespace kiln::io

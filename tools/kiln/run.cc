// kiln run GRAPH.meta [--checkpoint PREFIX|DIR] [--feed NAME=VALUES]... --fetch NAME...
//               [--json] [--device /cpu:0]
//
// Imports a MetaGraphDef (kiln's or TensorFlow's), restores a checkpoint into it (a directory
// means its latest checkpoint), feeds tensors and prints the fetched ones: "NAME (dtype) [shape]"
// then numpy's text, or with --json {"fetches":[{"name","dtype","shape","values"}]} as
// `kiln inspect --json`. Names without ":k" mean output 0; a fetch naming an op without outputs
// runs it (printed as "NAME: ran").
//
// Feeds: a JSON literal (--feed x:0=[[1],[2]]) or @file.npy, converted to the tensor's dtype.
// A value whose shape does not match the tensor's static shape but whose elements fill it in
// exactly one way (e.g. [1,2,3] for shape (?, 1)) is reshaped to it, so a column can be typed as
// a list.
//
// --device pins every node to one device (the graph's own devices are ignored); otherwise nodes
// keep the devices the file asks for and fall back to another device when that one is missing
// (soft placement), so a graph saved on a GPU machine runs on a CPU-only one.
#include <filesystem>
#include <iostream>
#include <memory>

#include "core/device_spec.h"
#include "core/errors.h"
#include "core/session.h"
#include "io/checkpoint_management.h"
#include "io/meta_graph.h"
#include "tools/kiln/common.h"
#include "tools/kiln/feeds.h"
#include "tools/kiln/values.h"

namespace kiln::cli {

namespace {

struct RunOptions {
  std::string graph;
  std::string checkpoint;
  std::vector<std::string> feeds;
  std::vector<std::string> fetches;
  bool json = false;
  std::string device;
};

std::string python_list(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.dims().size(); ++i) s += (i ? ", " : "") + std::to_string(shape.dims()[i]);
  return s + "]";
}

std::string tensor_name(const std::string& name) {
  return name.find(':') == std::string::npos ? name + ":0" : name;
}

// `value` reshaped to `shape` when they disagree but the elements fill it one way only.
Tensor fit_shape(const Tensor& value, const Shape& shape) {
  if (shape.unknown_rank() || shape.compatible_with(value.shape())) return value;
  int64_t known = 1;
  int unknown = 0;
  for (int64_t d : shape.dims()) {
    if (d < 0) ++unknown;
    else known *= d;
  }
  const int64_t n = value.num_elements();
  std::vector<int64_t> dims = shape.dims();
  if (unknown > 1 || known == 0 || n % known != 0 || (unknown == 0 && n != known)) return value;
  for (int64_t& d : dims)
    if (d < 0) d = n / known;
  return value.reshaped(Shape(dims));
}

std::string resolve_checkpoint(const std::string& arg) {
  if (std::filesystem::is_directory(arg)) {
    if (auto latest = latest_checkpoint(arg)) return *latest;
    throw Failure("No checkpoint found in directory " + arg + " (no usable `checkpoint` file)");
  }
  return arg;
}

int run_graph(const RunOptions& o) {
  Graph g;
  MetaGraphImportOptions mo;
  std::unique_ptr<Graph::Scope> pin;
  if (!o.device.empty()) {
    mo.clear_devices = true;
    pin = std::make_unique<Graph::Scope>(g.device(o.device));
  }
  Saver saver = import_meta_graph(g, o.graph, mo);
  pin.reset();

  SessionOptions so;
  so.allow_soft_placement = true;
  // As many logical CPUs as the graph names (a TF graph sharded over /cpu:0../cpu:2 restores
  // per device, as it was saved).
  for (const auto& node : g.nodes()) {
    if (node->requested_device().empty()) continue;
    DeviceSpec spec = DeviceSpec::parse(node->requested_device());
    if (spec.type == DeviceType::kCPU) so.cpu_devices = std::max(so.cpu_devices, spec.index + 1);
  }
  Session sess(g, so);
  if (!o.checkpoint.empty()) saver.restore(sess, resolve_checkpoint(o.checkpoint));

  FeedList feeds;
  for (const std::string& f : o.feeds) {
    size_t eq = f.find('=');
    if (eq == std::string::npos || eq == 0)
      throw Failure("--feed takes NAME=VALUES (a JSON literal or @file.npy), got '" + f + "'");
    Output target = g.get_tensor_by_name(tensor_name(f.substr(0, eq)));
    std::string what = "--feed " + target.name();
    Tensor value = parse_feed_value(f.substr(eq + 1), target.dtype(), what);
    feeds.emplace_back(target, fit_shape(value, target.shape()));
  }
  std::vector<Output> fetches;
  std::vector<std::string> names;
  std::vector<Operation> targets;
  for (const std::string& name : o.fetches) {
    if (name.find(':') == std::string::npos) {
      Operation op = g.get_operation_by_name(name);
      if (op.node->num_outputs() == 0) {
        targets.push_back(op);
        continue;
      }
    }
    fetches.push_back(g.get_tensor_by_name(tensor_name(name)));
    names.push_back(tensor_name(name));
  }
  std::vector<Tensor> results = sess.run(fetches, feeds, targets);

  if (o.json) {
    std::cout << "{\"fetches\":[";
    for (size_t i = 0; i < results.size(); ++i) {
      Tensor t = results[i].to_host();
      nlohmann::ordered_json j;
      j["name"] = names[i];
      j["dtype"] = dtype_python_name(t.dtype());
      j["shape"] = t.shape().dims();
      j["values"] = json_values(t);
      std::cout << (i ? ",\n" : "\n")
                << j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    }
    std::cout << "\n]}\n";
  } else {
    for (size_t i = 0; i < results.size(); ++i) {
      Tensor t = results[i].to_host();
      std::cout << names[i] << " (" << dtype_python_name(t.dtype()) << ") " << python_list(t.shape())
                << "\n" << numpy_text(t) << "\n";
    }
    for (const Operation& op : targets) std::cout << op.name() << ": ran\n";
  }
  return 0;
}

}  // namespace

void add_run(CLI::App& app, int* status) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* sub = app.add_subcommand(
      "run", "Import a MetaGraphDef (.meta), restore a checkpoint, feed tensors and print fetches");
  sub->add_option("graph", o->graph, "The .meta file (binary or text MetaGraphDef)")->required();
  sub->add_option("--checkpoint", o->checkpoint,
                  "Checkpoint prefix to restore (or a directory: its latest checkpoint)");
  sub->add_option("--feed", o->feeds, "NAME=VALUES: a JSON literal ([[1,2]], 3.5, \"s\") or @file.npy; repeat for more")
      ->allow_extra_args(false);
  sub->add_option("--fetch", o->fetches, "Tensor (y:0) or op to run; repeat for more")
      ->required()
      ->allow_extra_args(false);
  sub->add_flag("--json", o->json, "JSON output: {\"fetches\":[{\"name\",\"dtype\",\"shape\",\"values\"}]}");
  sub->add_option("--device", o->device, "Run every node on this device (/cpu:0, /gpu:0)");
  sub->callback([o, status] { *status = run_graph(*o); });
}

}  // namespace kiln::cli

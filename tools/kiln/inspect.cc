// kiln inspect PREFIX: what TF's inspect_checkpoint prints, or JSON.
//
//   (no flag)            the reader's debug string, a blank line, "# Total number of params: N"
//   --all-tensor-names   "tensor: NAME (float32) [2, 3]" per tensor, then the total
//   --all-tensors        the same, each followed by its values as numpy prints them
//   --tensor NAME        that tensor's line and values, then the total; a missing name is
//                        "Tensor NAME not found in checkpoint" on stderr and exit 1
//   --json               {"tensors":[{"name","dtype","shape"[,"values"]}]} instead, one tensor
//                        per line; "values" (flat, row-major) only with --tensor/--all-tensors
//
// A tensor whose dtype kiln cannot hold (complex64, ...) shows "<not readable by kiln: ...>"
// (text) or "unreadable": "..." (JSON) instead of its values.
#include <iostream>
#include <memory>

#include "core/errors.h"
#include "tools/kiln/common.h"
#include "tools/kiln/values.h"

namespace kiln::cli {

namespace {

struct InspectOptions {
  std::string prefix;
  std::string tensor;
  bool all_tensors = false;
  bool all_tensor_names = false;
  bool json = false;
};

// Python's str of a list of ints: "[]", "[3]", "[2, 3]".
std::string python_list(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.dims().size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape.dims()[i]);
  }
  return s + "]";
}

int64_t total_params(const io::CheckpointReader& reader) {
  int64_t total = 0;
  for (const auto& [name, shape] : reader.variable_to_shape_map()) total += shape.num_elements();
  return total;
}

void print_text_tensor(const io::CheckpointReader& reader, const std::string& name,
                       bool values) {
  std::cout << "tensor: " << name << " (" << dtype_python_name(reader.dtype(name)) << ") "
            << python_list(reader.shape(name)) << "\n";
  if (!values) return;
  try {
    std::cout << numpy_text(reader.get_tensor(name)) << "\n";
  } catch (const UnimplementedError& e) {
    std::cout << "<not readable by kiln: " << e.what() << ">\n";
  }
}

void print_json_tensor(const io::CheckpointReader& reader, const std::string& name, bool values,
                       bool first) {
  nlohmann::ordered_json t;
  t["name"] = name;
  t["dtype"] = dtype_python_name(reader.dtype(name));
  t["shape"] = reader.shape(name).dims();
  if (values) {
    try {
      t["values"] = json_values(reader.get_tensor(name));
    } catch (const UnimplementedError& e) {
      t["unreadable"] = e.what();
    }
  }
  // Names are arbitrary bytes: invalid UTF-8 is replaced rather than failing the dump.
  std::cout << (first ? "\n" : ",\n")
            << t.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

int run_inspect(const InspectOptions& o) {
  auto reader = open_checkpoint(o.prefix);
  if (!o.tensor.empty() && !reader->has_tensor(o.tensor))
    throw Failure("Tensor " + o.tensor + " not found in checkpoint");
  bool values = o.all_tensors || !o.tensor.empty();
  if (o.json) {
    std::vector<std::string> names = o.tensor.empty()
                                         ? reader->tensor_names()
                                         : std::vector<std::string>{o.tensor};
    std::cout << "{\"tensors\":[";
    for (size_t i = 0; i < names.size(); ++i) print_json_tensor(*reader, names[i], values, i == 0);
    std::cout << "\n]}\n";
    return 0;
  }
  if (!o.tensor.empty()) {
    print_text_tensor(*reader, o.tensor, true);
  } else if (o.all_tensors || o.all_tensor_names) {
    for (const auto& name : reader->tensor_names()) print_text_tensor(*reader, name, o.all_tensors);
  } else {
    std::cout << reader->debug_string() << "\n";
  }
  std::cout << "# Total number of params: " << total_params(*reader) << "\n";
  return 0;
}

}  // namespace

void add_inspect(CLI::App& app, int* status) {
  auto o = std::make_shared<InspectOptions>();
  CLI::App* sub = app.add_subcommand(
      "inspect", "Print a checkpoint's tensors (names, dtypes, shapes, values) like TF's "
                 "inspect_checkpoint, or as JSON");
  sub->add_option("prefix", o->prefix, "Checkpoint prefix, e.g. train/model.ckpt-1000")->required();
  auto* tensor = sub->add_option("--tensor,--tensor-name", o->tensor, "Print only this tensor, with its values");
  auto* all = sub->add_flag("--all-tensors", o->all_tensors, "Print every tensor with its values");
  auto* names = sub->add_flag("--all-tensor-names", o->all_tensor_names,
                              "Print every tensor's name, dtype and shape");
  names->excludes(all);
  tensor->excludes(all)->excludes(names);
  sub->add_flag("--json", o->json,
                "JSON output: {\"tensors\":[{\"name\",\"dtype\",\"shape\",\"values\"}]}; "
                "values only with --tensor or --all-tensors");
  sub->callback([o, status] { *status = run_inspect(*o); });
}

}  // namespace kiln::cli

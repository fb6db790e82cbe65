#include "io/meta_graph.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/text_format.h>

#include <algorithm>
#include <iostream>
#include <regex>
#include <set>

#include "core/errors.h"
#include "io/graph_def.h"
#include "io/proto/meta_graph.pb.h"
#include "io/proto/variable.pb.h"

namespace kiln {

namespace {

// The TF API our graphs follow; TF trusts VariableDef.trainable for versions >= 1.9.
constexpr const char* kTensorflowVersion = "1.15.0";
constexpr const char* kProducer = "kiln 0.1.0";

// Collections TF writes as bytes_list of VariableDef.
const std::set<std::string>& variable_collections() {
  static const std::set<std::string> names{
      "variables",       "trainable_variables", "local_variables", "model_variables",
      "moving_average_variables", "metric_variables", "global_step"};
  return names;
}

std::string tensor_name(const Output& o) { return o.valid() ? o.name() : ""; }

std::string variable_def_bytes(const VariableRecord& r) {
  kiln::VariableDef def;
  def.set_variable_name(r.variable->name() + ":0");
  if (r.initializer) def.set_initializer_name(r.initializer->name());
  def.set_snapshot_name(tensor_name(r.snapshot));
  def.set_initial_value_name(tensor_name(r.initial_value));
  def.set_is_resource(r.variable->op() == "VarHandleOp");
  def.set_trainable(r.trainable);
  return def.SerializeAsString();
}

// Fills `out` from a collection; false (and a warning, as TF) when its items mix kinds.
bool collection_to_proto(const std::string& key, const std::vector<CollectionItem>& items,
                         kiln::CollectionDef* out) {
  if (items.empty()) return false;
  const size_t kind = items.front().index();
  for (const auto& item : items)
    if (item.index() != kind && !(kind <= 1 && item.index() <= 1)) {
      std::cerr << "kiln: collection '" << key
                << "' mixes kinds of items and is not written to the MetaGraphDef\n";
      return false;
    }
  for (const auto& item : items) {
    if (const auto* n = std::get_if<Node*>(&item)) out->mutable_node_list()->add_value((*n)->name());
    else if (const auto* o = std::get_if<Output>(&item)) out->mutable_node_list()->add_value(o->name());
    else if (const auto* v = std::get_if<VariableRecord>(&item))
      out->mutable_bytes_list()->add_value(variable_def_bytes(*v));
    else if (const auto* s = std::get_if<std::string>(&item)) out->mutable_bytes_list()->add_value(*s);
    else if (const auto* i = std::get_if<int64_t>(&item)) out->mutable_int64_list()->add_value(*i);
    else if (const auto* f = std::get_if<float>(&item)) out->mutable_float_list()->add_value(*f);
  }
  return true;
}

void build_meta_graph(const Graph& graph, const MetaGraphExportOptions& options,
                      const SaverDefInfo* saver_def, kiln::MetaGraphDef* mg) {
  auto* info = mg->mutable_meta_info_def();
  info->set_tensorflow_version(kTensorflowVersion);
  info->set_tensorflow_git_version(kProducer);
  io::GraphDefExportOptions go;
  go.clear_devices = options.clear_devices;
  io::graph_to_graph_def(graph, mg->mutable_graph_def(), go);
  if (saver_def) {
    auto* sd = mg->mutable_saver_def();
    sd->set_filename_tensor_name(saver_def->filename_tensor_name);
    sd->set_save_tensor_name(saver_def->save_tensor_name);
    sd->set_restore_op_name(saver_def->restore_op_name);
    sd->set_max_to_keep(saver_def->max_to_keep);
    sd->set_sharded(saver_def->sharded);
    sd->set_keep_checkpoint_every_n_hours(static_cast<float>(saver_def->keep_checkpoint_every_n_hours));
    sd->set_version(static_cast<kiln::SaverDef::CheckpointFormatVersion>(saver_def->version));
  }
  std::vector<std::string> keys =
      options.collection_list ? *options.collection_list : graph.collection_keys();
  for (const std::string& key : keys) {
    kiln::CollectionDef def;
    if (collection_to_proto(key, graph.get_collection(key), &def))
      (*mg->mutable_collection_def())[key] = std::move(def);
  }
}

void parse_meta_graph(const std::string& filename, const std::string& bytes, kiln::MetaGraphDef* mg) {
  if (mg->ParseFromString(bytes)) return;
  google::protobuf::TextFormat::Parser parser;
  parser.AllowUnknownField(true);
  parser.AllowUnknownExtension(true);
  // The text parser recurses once per nesting level and by default has no limit, so a few
  // hundred KB of "func { attr { ..." overflow the stack. Binary parsing stops at 100 levels;
  // text parsing now does too (TF's graphs nest a handful of levels).
  parser.SetRecursionLimit(100);
  struct Collector : google::protobuf::io::ErrorCollector {
    std::string first;
    void AddError(int line, int column, const std::string& message) override {
      if (first.empty())
        first = std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " + message;
    }
  } errors;
  parser.RecordErrorsTo(&errors);
  mg->Clear();
  if (!parser.ParseFromString(bytes, mg))
    throw DataLossError("Cannot parse file " + filename + ": " +
                        (errors.first.empty() ? "neither a binary nor a text MetaGraphDef"
                                              : errors.first));
}

// "name:0" or "name" (an op) in the imported graph.
std::string scoped(const std::string& prefix, const std::string& name) {
  if (prefix.empty() || name.empty()) return name;
  return name[0] == '^' ? "^" + prefix + "/" + name.substr(1) : prefix + "/" + name;
}

void import_collections(Graph& graph, const kiln::MetaGraphDef& mg, const std::string& prefix,
                        const std::string& filename) {
  // TF: trainable_variables first, then the others by key (the map is already sorted).
  std::vector<std::string> keys;
  if (mg.collection_def().count("trainable_variables")) keys.push_back("trainable_variables");
  std::set<std::string> sorted;
  for (const auto& [key, def] : mg.collection_def()) sorted.insert(key);
  for (const auto& key : sorted)
    if (key != "trainable_variables") keys.push_back(key);
  const bool trust_trainable = mg.meta_info_def().tensorflow_version().empty() ||
                               mg.meta_info_def().tensorflow_version() >= std::string("1.9");
  std::set<std::string> trainable_names;
  if (auto it = mg.collection_def().find("trainable_variables"); it != mg.collection_def().end())
    for (const auto& b : it->second.bytes_list().value()) {
      kiln::VariableDef d;
      if (d.ParseFromString(b)) trainable_names.insert(d.variable_name());
    }

  auto lookup = [&](const std::string& key, const std::string& name) -> Node* {
    std::string op = name.substr(0, name.find(':'));
    Node* n = graph.find_node(scoped(prefix, op));
    if (!n)
      throw NotFoundError("Collection '" + key + "' of " + filename + " names '" + name +
                          "', which is not in the graph");
    return n;
  };
  auto output_of = [&](const std::string& key, const std::string& name) -> Output {
    if (name.empty()) return Output();
    Node* n = lookup(key, name);
    size_t colon = name.rfind(':');
    // The index comes from the file: digits only, and an output the node has (std::stoi would
    // throw a non-kiln exception, and an index past the outputs would be read out of bounds).
    int64_t index = 0;
    const std::string digits = colon == std::string::npos ? "0" : name.substr(colon + 1);
    bool ok = !digits.empty() && digits.size() <= 9 &&
              std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (ok) index = std::stoll(digits);
    if (!ok || index >= n->num_outputs())
      throw InvalidArgumentError("Collection '" + key + "' of " + filename + " names '" + name +
                                 "', but node '" + n->name() + "' has " +
                                 std::to_string(n->num_outputs()) + " outputs");
    return Output(n, static_cast<int>(index));
  };

  for (const std::string& key : keys) {
    const kiln::CollectionDef& def = mg.collection_def().at(key);
    switch (def.kind_case()) {
      case kiln::CollectionDef::kNodeList:
        for (const auto& name : def.node_list().value()) {
          if (name.find(':') != std::string::npos) graph.add_to_collection(key, output_of(key, name));
          else graph.add_to_collection(key, lookup(key, name));
        }
        break;
      case kiln::CollectionDef::kBytesList:
        for (const auto& bytes : def.bytes_list().value()) {
          if (!variable_collections().count(key)) {
            graph.add_to_collection(key, bytes);
            continue;
          }
          kiln::VariableDef vd;
          if (!vd.ParseFromString(bytes))
            throw DataLossError("Collection '" + key + "' of " + filename +
                                " holds a VariableDef that does not parse");
          VariableRecord r;
          r.variable = lookup(key, vd.variable_name());
          if (!vd.initializer_name().empty()) r.initializer = lookup(key, vd.initializer_name());
          r.snapshot = output_of(key, vd.snapshot_name());
          r.initial_value = output_of(key, vd.initial_value_name());
          r.trainable = trust_trainable ? vd.trainable()
                                        : trainable_names.count(vd.variable_name()) > 0;
          graph.add_to_collection(key, r);
        }
        break;
      case kiln::CollectionDef::kInt64List:
        for (int64_t v : def.int64_list().value()) graph.add_to_collection(key, v);
        break;
      case kiln::CollectionDef::kFloatList:
        for (float v : def.float_list().value()) graph.add_to_collection(key, v);
        break;
      default:
        break;  // any_list: nothing kiln can hold
    }
  }
}

}  // namespace

std::string meta_graph_to_string(const Graph& graph, const MetaGraphExportOptions& options,
                                 const SaverDefInfo* saver_def) {
  kiln::MetaGraphDef mg;
  build_meta_graph(graph, options, saver_def, &mg);
  std::string out;
  if (options.as_text) {
    google::protobuf::TextFormat::PrintToString(mg, &out);
  } else {
    if (mg.ByteSizeLong() > static_cast<size_t>(INT32_MAX))
      throw InvalidArgumentError("GraphDef cannot be larger than 2GB.");
    // Deterministic: maps (attrs, collections) in key order, so equal graphs give equal bytes.
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    mg.SerializeToCodedStream(&coded);
  }
  return out;
}

void export_meta_graph(const Graph& graph, const std::string& filename,
                       const MetaGraphExportOptions& options, const SaverDefInfo* saver_def) {
  io::FileSystem* fs = options.fs ? options.fs : io::posix_file_system();
  std::string dir = io::dirname(filename);
  if (!fs->exists(dir))
    throw NotFoundError("Parent directory of " + filename + " doesn't exist, can't export the meta graph.");
  io::write_file_atomically(fs, filename, meta_graph_to_string(graph, options, saver_def));
}

Saver import_meta_graph(Graph& graph, const std::string& filename,
                        const MetaGraphImportOptions& options) {
  io::FileSystem* fs = options.fs ? options.fs : io::posix_file_system();
  if (!fs->exists(filename)) throw NotFoundError("File " + filename + " does not exist.");
  kiln::MetaGraphDef mg;
  parse_meta_graph(filename, io::read_file(fs, filename), &mg);

  std::string prefix = options.import_scope.empty() ? "" : graph.unique_name(options.import_scope);
  io::GraphDefImportOptions go;
  go.prefix = prefix;
  go.clear_devices = options.clear_devices;
  io::import_graph_def(graph, mg.graph_def(), go);
  import_collections(graph, mg, prefix, filename);

  SaverOptions so;
  so.fs = options.fs;
  if (mg.has_saver_def() && !mg.saver_def().restore_op_name().empty()) {
    const kiln::SaverDef& sd = mg.saver_def();
    SaverDefInfo def;
    def.filename_tensor_name = scoped(prefix, sd.filename_tensor_name());
    def.save_tensor_name = scoped(prefix, sd.save_tensor_name());
    def.restore_op_name = scoped(prefix, sd.restore_op_name());
    def.max_to_keep = sd.max_to_keep();
    def.sharded = sd.sharded();
    def.keep_checkpoint_every_n_hours = sd.keep_checkpoint_every_n_hours();
    def.version = sd.version();
    so.saver_def = def;
    return Saver(graph, so);
  }
  so.allow_empty = true;
  if (global_variables(graph).empty())
    std::cerr << "kiln: Saver not created because there are no variables in the graph to restore\n";
  return Saver(graph, so);
}

std::string meta_graph_filename(const std::string& checkpoint_prefix, const std::string& suffix) {
  static const std::regex shard_suffix("-[\\d\\?]+-of-\\d+$");
  return std::regex_replace(checkpoint_prefix, shard_suffix, "") + "." + suffix;
}

}  // namespace kiln

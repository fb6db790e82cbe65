// MetaGraphDef export and import: TF1's tf.train.export_meta_graph / import_meta_graph, so a
// graph kiln builds runs in TensorFlow and a TF1 `.meta` (when its ops are ones kiln
// implements) runs in kiln (shared/reference/tf-checkpoint-format.md §3.6, §4).
//
//   saver.export_meta_graph("save/model.meta");                 // or saver.save(...) writes P.meta
//   kiln::Graph g2;
//   kiln::Saver saver2 = kiln::import_meta_graph(g2, "save/model.ckpt.meta");
//   kiln::Session sess(g2);
//   saver2.restore(sess, "save/model.ckpt");
//
// What is written: graph_def (every node with TF's op names and attrs plus `_output_shapes`),
// saver_def when given, collection_def (variable collections such as `variables`,
// `trainable_variables`, `global_step` as bytes_list of VariableDef; ops and tensors as
// node_list; strings, integers and floats as bytes/int64/float lists), and meta_info_def with
// tensorflow_version "1.15.0" (the TF API this graph follows; VariableDef.trainable is set, so
// TF trusts it) and tensorflow_git_version "kiln <version>". Binary by default, text on request;
// the file is written atomically.
//
// What is read: binary first, then protobuf text (TF's order). The graph imports with
// io::import_graph_def's leniency (unknown ops import and fail only when run), the variable
// collections become kiln Variables (VariableV2, Variable and resource VarHandleOp), node_list
// entries become ops or tensors, other lists become values; collections of kinds kiln does not
// keep (any_list) are dropped.
//
// Errors: a missing file is NotFoundError "File F does not exist."; a file that parses neither
// way is DataLossError "Cannot parse file F: ..."; a collection naming a node the graph lacks is
// NotFoundError naming both.
#pragma once

#include <string>

#include "core/graph.h"
#include "io/saver.h"

namespace kiln {

struct MetaGraphImportOptions {
  bool clear_devices = false;
  // Prefix for every imported name ("scope/..."); made unique like a name scope.
  std::string import_scope = "";
  io::FileSystem* fs = nullptr;  // null: POSIX
};

// Writes `graph` (with `saver_def` when not null) as a MetaGraphDef to `filename`.
void export_meta_graph(const Graph& graph, const std::string& filename,
                       const MetaGraphExportOptions& options = {},
                       const SaverDefInfo* saver_def = nullptr);

// The MetaGraphDef serialized (binary, or text with options.as_text), for callers that store it
// elsewhere; options.fs is unused.
std::string meta_graph_to_string(const Graph& graph, const MetaGraphExportOptions& options = {},
                                 const SaverDefInfo* saver_def = nullptr);

// Adds the graph of the MetaGraphDef in `filename` to `graph` and returns its Saver: the one its
// SaverDef describes, else a default Saver over the imported global variables, else (no
// variables) an empty Saver whose save() returns "" and restore() does nothing.
Saver import_meta_graph(Graph& graph, const std::string& filename,
                        const MetaGraphImportOptions& options = {});

// TF's meta_graph_filename: the checkpoint prefix without a V1 shard suffix
// ("-?????-of-00002"), plus "." + suffix.
std::string meta_graph_filename(const std::string& checkpoint_prefix,
                                const std::string& suffix = "meta");

}  // namespace kiln

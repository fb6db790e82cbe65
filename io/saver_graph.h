// The save/restore subgraph TF's Saver adds to a graph (reference §3.3), and the reverse: which
// checkpoint key restores which variable, read from such a subgraph in an imported graph.
//
// kiln::Saver builds the subgraph so that an exported MetaGraphDef carries a SaverDef that
// TensorFlow runs (tf.train.import_meta_graph(...).restore(sess, path) feeds the filename tensor
// and runs the restore op). kiln itself saves and restores natively and never runs these nodes.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/graph.h"
#include "ops/variables.h"

namespace kiln::io {

// TF's SaverDef fields (io/proto/saver.proto).
struct SaverGraphNames {
  std::string filename_tensor_name;  // "save/Const:0"
  std::string save_tensor_name;      // "save/control_dependency:0" ("save/Identity:0" sharded)
  std::string restore_op_name;       // "save/restore_all"
};

// Adds the nodes under a fresh name scope `scope` ("save", or "save_1" when taken).
// `vars` are (checkpoint key, variable), sorted by key. Sharded: one SaveV2/RestoreV2 group per
// distinct requested device of the variables, in device order, merged by MergeV2Checkpoints
// from `temp_suffix` ("_temp_<hex>") + "/part" shards, as TF names them. With `reshape`, each
// restored tensor goes through a Reshape to the variable's shape before its Assign.
SaverGraphNames build_saver_graph(Graph& graph, const std::string& scope,
                                  const std::vector<std::pair<std::string, Variable>>& vars,
                                  bool sharded, bool reshape, const std::string& default_filename,
                                  const std::string& temp_suffix);

// The (checkpoint key, variable node) pairs that running `restore_op_name` assigns: every
// Assign reachable from it whose value comes (through Identity/Reshape) from a RestoreV2,
// Restore or RestoreSlice output, the key being that output's entry of the op's tensor_names
// constant. When the restore side names nothing, the save op reachable from save_tensor_name
// (SaveV2, SaveSlices or Save) is read instead. NotFoundError when the named ops are missing;
// InvalidArgumentError when a tensor_names input is not a constant.
std::vector<std::pair<std::string, Node*>> saver_variables(const Graph& graph,
                                                           const SaverGraphNames& names);

}  // namespace kiln::io

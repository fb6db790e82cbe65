// Graph <-> GraphDef (TF's serialized graph): what export_meta_graph writes and
// import_meta_graph reads (io/meta_graph.h). Node names, op names, inputs ("node", "node:k",
// "^ctrl"), devices and attrs map one to one; attr kinds kiln has no type for (functions, lists
// of tensors) travel as OpaqueAttr and are written back unchanged.
//
// Import is lenient where TensorFlow's graphs need it: a node whose op kiln does not implement,
// or whose shape function rejects what the file says, is still added (its outputs take their
// dtypes from the node's attrs and their shapes from `_output_shapes`), and fails, naming its
// op, only if a session has to run it. Nodes may come in any order; a cycle (TF's while loops)
// is an InvalidArgumentError naming a node on it, as is an input naming no node.
#pragma once

#include <map>
#include <string>

#include "core/graph.h"

namespace kiln {
class GraphDef;
}

namespace kiln::io {

struct GraphDefExportOptions {
  bool clear_devices = false;
  // Add `_output_shapes` (the inferred shape of every output) to each node, as TF's
  // export_meta_graph does.
  bool add_shapes = true;
};

void graph_to_graph_def(const Graph& graph, kiln::GraphDef* def,
                        const GraphDefExportOptions& options = {});

struct GraphDefImportOptions {
  // Prepended to every node name as "prefix/" (TF's import_scope); "" imports names verbatim.
  std::string prefix;
  // Drop the devices the file asks for. Nodes without a device get the graph's current device
  // scope (Graph::device), so `auto d = g.device("/cpu:0")` around an import pins them.
  bool clear_devices = false;
};

// Adds the nodes of `def` to `graph` (which may already hold nodes; a name clash is an
// InvalidArgumentError). Returns the new nodes by their name in `def`.
std::map<std::string, Node*> import_graph_def(Graph& graph, const kiln::GraphDef& def,
                                              const GraphDefImportOptions& options = {});

}  // namespace kiln::io

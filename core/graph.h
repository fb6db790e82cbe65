// The dataflow graph: named nodes carrying TensorFlow op names and attrs, whose outputs are
// addressed as "name:k".
//
// Nodes are created through Graph::create (usually by the builder functions in ops/), which
// gives each node a unique name under the current name scope (TF's rule: "x", "x_1", "x_2"),
// the current device scope, the current control dependencies, default attrs and inferred output
// dtypes/shapes from the op registry. A graph is built on one thread at a time; once built it
// may be run by many sessions concurrently. Nodes are never removed.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <unordered_map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/attr.h"
#include "core/dtype.h"
#include "core/shape.h"

namespace kiln {

class Graph;
class Node;

// One output of a node: "name:index".
struct Output {
  Node* node = nullptr;
  int index = 0;

  Output() = default;
  explicit Output(Node* n, int i = 0) : node(n), index(i) {}
  bool valid() const { return node != nullptr; }
  std::string name() const;
  DType dtype() const;
  Shape shape() const;
  Graph* graph() const;
  bool operator==(const Output& o) const { return node == o.node && index == o.index; }
  bool operator<(const Output& o) const;
};

// A handle to a node used for its effect (an initializer, a train op), as tf.Operation.
struct Operation {
  Node* node = nullptr;
  Operation() = default;
  Operation(Node* n) : node(n) {}
  bool valid() const { return node != nullptr; }
  const std::string& name() const;
  Output output(int i = 0) const { return Output(node, i); }
};

class Node {
 public:
  const std::string& name() const { return name_; }
  const std::string& op() const { return op_; }
  int id() const { return id_; }
  Graph* graph() const { return graph_; }

  const std::vector<Output>& inputs() const { return inputs_; }
  const std::vector<Node*>& control_inputs() const { return control_inputs_; }
  int num_outputs() const { return static_cast<int>(output_types_.size()); }
  DType output_type(int i) const { return output_types_.at(i); }
  const Shape& output_shape(int i) const { return output_shapes_.at(i); }
  Output output(int i = 0) const { return Output(const_cast<Node*>(this), i); }

  const AttrMap& attrs() const { return attrs_; }
  template <typename T>
  const T& attr(const std::string& name) const {
    try {
      return attrs_.get<T>(name);
    } catch (const Error& e) {
      rethrow_attr_error(e);
    }
  }
  // The device the user asked for ("" when none), as written: "/gpu:1", "/device:CPU:0", ...
  const std::string& requested_device() const { return device_; }
  void set_requested_device(const std::string& device) { device_ = device; }
  // Replaces an attr after creation (used by importers and the Saver; rarely needed).
  void set_attr(const std::string& name, AttrValue value) { attrs_.set(name, std::move(value)); }

 private:
  friend class Graph;
  [[noreturn]] void rethrow_attr_error(const Error& e) const;

  Graph* graph_ = nullptr;
  int id_ = 0;
  std::string name_;
  std::string op_;
  std::string device_;
  std::vector<Output> inputs_;
  std::vector<Node*> control_inputs_;
  AttrMap attrs_;
  std::vector<DType> output_types_;
  std::vector<Shape> output_shapes_;
};

// What tf.Variable records in the `variables` collections (VariableDef's fields).
struct VariableRecord {
  Node* variable = nullptr;      // the VariableV2 node ("v1")
  Node* initializer = nullptr;   // its Assign ("v1/Assign")
  Output snapshot;               // its read Identity ("v1/read:0")
  Output initial_value;          // the initial value tensor
  bool trainable = true;
};

// What a collection holds: ops, tensors, variables, or plain values (TF's bytes_list,
// int64_list and float_list collections).
using CollectionItem = std::variant<Node*, Output, VariableRecord, std::string, int64_t, float>;

// Collection names TF uses.
inline constexpr const char* kGlobalVariables = "variables";
inline constexpr const char* kTrainableVariables = "trainable_variables";
inline constexpr const char* kGlobalStep = "global_step";
inline constexpr const char* kTrainOp = "train_op";

class Graph {
 public:
  Graph();
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  // What a builder asks for. `name` is a base name: the graph prefixes the current name scope
  // and makes it unique, unless `exact_name` (importers) demands it verbatim.
  struct NodeSpec {
    std::string op;
    std::string name;
    std::vector<Output> inputs;
    std::vector<Node*> control_inputs;
    AttrMap attrs;
    std::optional<std::string> device;  // overrides the device scope when set
    bool exact_name = false;
    // Importers only (GraphDef -> Graph): the outputs to give the node when its op is not
    // registered or its shape function rejects what the file says. Such a node imports fine and
    // fails, naming its op, only when a session needs to run it.
    std::optional<std::vector<std::pair<DType, Shape>>> fallback_outputs;
  };
  // Validates the op, its inputs and attrs, infers output dtypes and shapes (throwing
  // InvalidArgumentError on e.g. a MatMul of incompatible shapes) and adds the node. An
  // exact_name also reserves its scopes ("save" for "save/Const"), so a builder asked later for
  // "save" gets "save_1".
  Node* create(NodeSpec spec);

  // TF's unique_name: "name" under the current scope, "name_1", "name_2"... when taken.
  std::string unique_name(const std::string& base, bool mark_as_used = true);

  // RAII scopes, as TF's context managers. Destroy in reverse order of creation.
  class Scope {
   public:
    Scope(Scope&& o) noexcept : exit_(std::move(o.exit_)) { o.exit_ = nullptr; }
    ~Scope() { if (exit_) exit_(); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
   private:
    friend class Graph;
    explicit Scope(std::function<void()> exit) : exit_(std::move(exit)) {}
    std::function<void()> exit_;
  };
  // name_scope("layer") -> ops named "layer/...", "layer_1/..." when "layer" is taken. A name
  // ending in "/" re-enters that exact scope.
  Scope name_scope(const std::string& name);
  // The current name scope with a trailing "/", or "".
  std::string current_name_scope() const;
  // Ops created inside get this requested device ("" clears it).
  Scope device(const std::string& device);
  const std::string& current_device() const { return device_stack_.empty() ? kEmpty : device_stack_.back(); }
  // Ops created inside run after `ops`.
  Scope control_dependencies(const std::vector<Operation>& ops);

  // Adds a control edge after creation; may create a cycle, which a session run reports.
  void add_control_input(Node* node, Node* dependency);

  // Lookup. get_* throw NotFoundError / InvalidArgumentError as TF does; find_node returns null.
  Node* find_node(const std::string& name) const;
  Output get_tensor_by_name(const std::string& name) const;
  Operation get_operation_by_name(const std::string& name) const;
  const std::vector<std::unique_ptr<Node>>& nodes() const { return nodes_; }
  int num_nodes() const { return static_cast<int>(nodes_.size()); }

  void add_to_collection(const std::string& name, CollectionItem item);
  const std::vector<CollectionItem>& get_collection(const std::string& name) const;
  std::vector<std::string> collection_keys() const;
  void clear_collection(const std::string& name) { collections_.erase(name); }
  // The VariableRecords in a collection (e.g. kGlobalVariables).
  std::vector<VariableRecord> variables(const std::string& collection = kGlobalVariables) const;

  // Graph-level random seed (tf.set_random_seed).
  void set_random_seed(int64_t seed) { seed_ = seed; }
  std::optional<int64_t> random_seed() const { return seed_; }
  // TF's rule for an op's (seed, seed2) given the graph seed and the op's own seed.
  std::pair<int64_t, int64_t> seeds_for_op(std::optional<int64_t> op_seed) const;

  // Bumped whenever nodes or edges change; sessions key their cached plans on it.
  uint64_t version() const { return version_; }

 private:
  static const std::string kEmpty;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::unordered_map<std::string, Node*> by_name_;  // lookups only
  std::map<std::string, int> names_in_use_;  // lower-cased name -> next suffix
  std::vector<std::string> name_stack_;
  std::vector<std::string> device_stack_;
  std::vector<std::vector<Node*>> control_stack_;
  std::map<std::string, std::vector<CollectionItem>> collections_;
  std::optional<int64_t> seed_;
  uint64_t version_ = 0;
};

}  // namespace kiln

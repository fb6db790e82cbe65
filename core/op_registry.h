// The op registry: what each TF op name takes and produces. ops/ registers every op once through
// RegisterBuiltinOps(); Graph::create consults it to fill default attrs, check inputs and infer
// output dtypes and shapes at build time.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/attr.h"
#include "core/graph.h"

namespace kiln {

// What a shape function sees and sets.
class InferenceContext {
 public:
  InferenceContext(const Graph::NodeSpec& spec, const std::string& node_name)
      : spec_(spec), node_name_(node_name) {}

  const std::string& node_name() const { return node_name_; }
  const std::string& op() const { return spec_.op; }
  int num_inputs() const { return static_cast<int>(spec_.inputs.size()); }
  DType input_dtype(int i) const { return spec_.inputs.at(i).dtype(); }
  Shape input_shape(int i) const { return spec_.inputs.at(i).shape(); }
  const Output& input(int i) const { return spec_.inputs.at(i); }
  // The value of input i when it is produced by a Const node, else nullptr.
  const Tensor* input_constant(int i) const;

  bool has_attr(const std::string& name) const { return spec_.attrs.has(name); }
  template <typename T>
  const T& attr(const std::string& name) const {
    const AttrValue* v = spec_.attrs.find(name);
    if (!v) throw invalid("missing attr '" + name + "'");
    if (const T* p = std::get_if<T>(v)) return *p;
    throw invalid("attr '" + name + "' has the wrong kind (" + attr_to_string(*v) + ")");
  }

  void set_output(int i, DType dtype, Shape shape);
  const std::vector<DType>& output_types() const { return types_; }
  const std::vector<Shape>& output_shapes() const { return shapes_; }

  // An InvalidArgumentError naming the node and op: "<op> node '<name>': <what>".
  InvalidArgumentError invalid(const std::string& what) const;
  // Checks input i's dtype; throws naming the node, both dtypes and the input.
  void expect_dtype(int i, DType dtype) const;
  // Checks inputs i and j have the same dtype.
  void expect_same_dtype(int i, int j) const;

 private:
  const Graph::NodeSpec& spec_;
  std::string node_name_;
  std::vector<DType> types_;
  std::vector<Shape> shapes_;
};

struct OpDef {
  std::string name;
  int min_inputs = 0;
  int max_inputs = 0;               // -1: unbounded
  std::vector<int> ref_inputs;      // inputs that take a variable reference (Assign's 0)
  bool stateful = false;            // never pruned as common subexpressions; RNG state
  bool is_variable = false;         // VariableV2 / Variable
  std::vector<std::pair<std::string, AttrValue>> attr_defaults;
  std::function<void(InferenceContext&)> infer;  // must set every output
};

// Fluent construction of an OpDef: OpDefBuilder("Add").inputs(2, 2).infer(fn).
class OpDefBuilder {
 public:
  explicit OpDefBuilder(std::string name) { def_.name = std::move(name); }
  OpDefBuilder& inputs(int min, int max) { def_.min_inputs = min; def_.max_inputs = max; return *this; }
  OpDefBuilder& ref_inputs(std::vector<int> inputs) { def_.ref_inputs = std::move(inputs); return *this; }
  OpDefBuilder& stateful() { def_.stateful = true; return *this; }
  OpDefBuilder& variable() { def_.is_variable = true; return *this; }
  OpDefBuilder& defaults(std::vector<std::pair<std::string, AttrValue>> d) {
    def_.attr_defaults = std::move(d);
    return *this;
  }
  OpDefBuilder& infer(std::function<void(InferenceContext&)> fn) { def_.infer = std::move(fn); return *this; }
  operator OpDef() const { return def_; }

 private:
  OpDef def_;
};

class OpRegistry {
 public:
  static OpRegistry& global();
  void add(OpDef def);
  // nullptr when unknown.
  const OpDef* find(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, std::unique_ptr<OpDef>> ops_;
};

// True for ops whose node is a variable held by the session: VariableV2, the legacy Variable,
// and VarHandleOp (a resource variable, as TF2's tf.compat.v1 graphs hold them).
bool is_variable_op(const std::string& op);

// Registers the builtin ops, CPU kernels and (when built) CUDA kernels exactly once. Graph and
// Session constructors call it, so users never have to.
void EnsureRegistered();

}  // namespace kiln

#include "core/op_registry.h"

namespace kiln {

const Tensor* InferenceContext::input_constant(int i) const {
  const Output& in = spec_.inputs.at(i);
  if (!in.node || in.node->op() != "Const") return nullptr;
  const AttrValue* v = in.node->attrs().find("value");
  return v ? std::get_if<Tensor>(v) : nullptr;
}

void InferenceContext::set_output(int i, DType dtype, Shape shape) {
  if (static_cast<int>(types_.size()) <= i) {
    types_.resize(i + 1, DType::kInvalid);
    shapes_.resize(i + 1, Shape::unknown());
  }
  types_[i] = dtype;
  shapes_[i] = std::move(shape);
}

InvalidArgumentError InferenceContext::invalid(const std::string& what) const {
  return InvalidArgumentError(spec_.op + " node '" + node_name_ + "': " + what);
}

void InferenceContext::expect_dtype(int i, DType dtype) const {
  if (input_dtype(i) != dtype)
    throw invalid("input " + std::to_string(i) + " ('" + input(i).name() + "') has dtype " +
                  dtype_name(input_dtype(i)) + ", expected " + dtype_name(dtype));
}

void InferenceContext::expect_same_dtype(int i, int j) const {
  if (input_dtype(i) != input_dtype(j))
    throw invalid("inputs '" + input(i).name() + "' (" + dtype_name(input_dtype(i)) +
                  ") and '" + input(j).name() + "' (" + dtype_name(input_dtype(j)) +
                  ") must have the same dtype");
}

OpRegistry& OpRegistry::global() {
  static OpRegistry* r = new OpRegistry();
  return *r;
}

void OpRegistry::add(OpDef def) {
  std::string name = def.name;
  ops_[name] = std::make_unique<OpDef>(std::move(def));
}

bool is_variable_op(const std::string& op) {
  const OpDef* def = OpRegistry::global().find(op);
  return def && def->is_variable;
}

const OpDef* OpRegistry::find(const std::string& name) const {
  auto it = ops_.find(name);
  return it == ops_.end() ? nullptr : it->second.get();
}

std::vector<std::string> OpRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, def] : ops_) out.push_back(name);
  return out;
}

}  // namespace kiln

#include "core/kernel.h"

namespace kiln {

VariableState& OpKernelContext::input_ref(int i) const {
  VariableState* ref = inputs_.at(i).ref;
  if (!ref) throw InternalError(message("input " + std::to_string(i) + " is not a variable reference"));
  return *ref;
}

Tensor OpKernelContext::allocate_output(int i, DType dtype, const Shape& shape) {
  Tensor t(dtype, shape, device_.allocator(), device_.spec());
  outputs_.at(i).tensor = t;
  return t;
}

KernelRegistry& KernelRegistry::global() {
  static KernelRegistry* r = new KernelRegistry();
  return *r;
}

void KernelRegistry::add(const std::string& op, DeviceType device, KernelDef def) {
  kernels_[{op, device}] = std::move(def);
}

const KernelDef* KernelRegistry::find(const std::string& op, DeviceType device) const {
  auto it = kernels_.find({op, device});
  return it == kernels_.end() ? nullptr : &it->second;
}

}  // namespace kiln

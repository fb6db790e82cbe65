// Kernels: the compute behind an op on one device type. A kernel is a plain function
// registered explicitly for (op name, device type) by RegisterCpuKernels()/RegisterCudaKernels().
// It reads its inputs and attrs from an OpKernelContext and produces every output; failures are
// thrown as kiln errors. GPU kernels enqueue work on ctx.stream() and return without waiting.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/device.h"
#include "core/graph.h"
#include "core/session_state.h"
#include "core/tensor.h"

namespace kiln {

// A value flowing along an edge: a tensor, or a reference to a variable (VariableV2's output).
struct Value {
  Tensor tensor;
  VariableState* ref = nullptr;
};

class OpKernelContext {
 public:
  OpKernelContext(const Node& node, Device& device, SessionState& state,
                  std::vector<Value>& inputs, std::vector<Value>& outputs)
      : node_(node), device_(device), state_(state), inputs_(inputs), outputs_(outputs) {}

  const Node& node() const { return node_; }
  Device& device() { return device_; }
  gpu::Stream stream() const { return device_.stream(); }
  SessionState& session_state() { return state_; }
  template <typename T>
  const T& attr(const std::string& name) const { return node_.attr<T>(name); }

  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  const Tensor& input(int i) const { return inputs_.at(i).tensor; }
  // The variable behind a ref input (Assign's first input); InternalError if it is not a ref.
  VariableState& input_ref(int i) const;

  int num_outputs() const { return static_cast<int>(outputs_.size()); }
  // Allocates output i on this kernel's device.
  Tensor allocate_output(int i, DType dtype, const Shape& shape);
  void set_output(int i, Tensor tensor) { outputs_.at(i).tensor = std::move(tensor); }
  void set_output_ref(int i, VariableState* ref) { outputs_.at(i).ref = ref; }
  // Scratch memory on this kernel's device.
  Tensor allocate_temp(DType dtype, const Shape& shape) {
    return Tensor(dtype, shape, device_.allocator(), device_.spec());
  }
  // "<op> node '<name>': <what>" for errors raised by kernels.
  std::string message(const std::string& what) const {
    return node_.op() + " node '" + node_.name() + "': " + what;
  }

 private:
  const Node& node_;
  Device& device_;
  SessionState& state_;
  std::vector<Value>& inputs_;
  std::vector<Value>& outputs_;
};

using KernelFn = void (*)(OpKernelContext&);

struct KernelDef {
  KernelFn fn = nullptr;
  // Inputs the kernel reads on the host (shapes, axes): the executor hands them over in host
  // memory whatever device produced them, as TF's HostMemory inputs.
  std::vector<int> host_inputs;
};

class KernelRegistry {
 public:
  static KernelRegistry& global();
  void add(const std::string& op, DeviceType device, KernelDef def);
  // nullptr when there is none.
  const KernelDef* find(const std::string& op, DeviceType device) const;

 private:
  std::map<std::pair<std::string, DeviceType>, KernelDef> kernels_;
};

}  // namespace kiln

// A device of a session: a logical CPU (/cpu:N) or GPU (/gpu:N) with its allocator, its stream
// (GPU) and its worker thread. Logical devices share physical ones: /cpu:0../cpu:3 share the
// host; logical GPUs beyond the physical count map round-robin onto physical GPUs, each with a
// stream of its own.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/allocator.h"
#include "core/device_spec.h"
#include "core/gpu.h"
#include "core/worker.h"

namespace kiln {

class Device {
 public:
  // A CPU device.
  explicit Device(DeviceSpec spec);
  // A GPU device on CUDA device `ordinal`, using its stream `stream_index`.
  Device(DeviceSpec spec, int ordinal, int stream_index);

  const DeviceSpec& spec() const { return spec_; }
  bool is_gpu() const { return spec_.is_gpu(); }
  Allocator* allocator() const { return allocator_; }
  gpu::Stream stream() const { return stream_; }
  int gpu_ordinal() const { return ordinal_; }
  Worker& worker() { return *worker_; }
  // Waits for the work queued on this device's stream (no-op on a CPU).
  void synchronize() const;
  std::string description() const;

 private:
  DeviceSpec spec_;
  Allocator* allocator_ = nullptr;
  gpu::Stream stream_ = nullptr;
  int ordinal_ = -1;
  std::unique_ptr<Worker> worker_;
};

// The devices one session runs on.
class DeviceSet {
 public:
  DeviceSet(int cpu_devices, int gpu_devices);
  // Throws InvalidArgumentError listing the available devices when `spec` is not one of them.
  Device& get(const DeviceSpec& spec);
  Device* find(const DeviceSpec& spec);
  // /gpu:0 when the session has a GPU, else /cpu:0.
  Device& default_device();
  const std::vector<std::unique_ptr<Device>>& all() const { return devices_; }
  std::string available_names() const;

 private:
  std::vector<std::unique_ptr<Device>> devices_;
};

}  // namespace kiln

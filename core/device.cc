#include "core/device.h"

#include "core/errors.h"

namespace kiln {

Device::Device(DeviceSpec spec)
    : spec_(spec), allocator_(host_allocator()), worker_(std::make_unique<Worker>()) {}

Device::Device(DeviceSpec spec, int ordinal, int stream_index)
    : spec_(spec), allocator_(gpu::device_allocator(ordinal, stream_index)),
      stream_(gpu::stream(ordinal, stream_index)), ordinal_(ordinal),
      worker_(std::make_unique<Worker>()) {}

void Device::synchronize() const {
  if (stream_) gpu::synchronize(stream_);
}

std::string Device::description() const {
  if (!is_gpu()) return spec_.short_name() + " (host)";
  return spec_.short_name() + " -> " + gpu::device_description(ordinal_);
}

DeviceSet::DeviceSet(int cpu_devices, int gpu_devices) {
  if (cpu_devices < 1) throw InvalidArgumentError("A session needs at least one CPU device");
  for (int i = 0; i < cpu_devices; ++i)
    devices_.push_back(std::make_unique<Device>(DeviceSpec::cpu(i)));
  int physical = gpu::device_count();
  if (gpu_devices < 0) gpu_devices = physical;
  if (gpu_devices > 0 && physical == 0)
    throw InvalidArgumentError("Asked for " + std::to_string(gpu_devices) +
                               " GPU devices but no GPU is available");
  for (int i = 0; i < gpu_devices; ++i)
    devices_.push_back(std::make_unique<Device>(DeviceSpec::gpu(i), i % physical, i / physical));
}

Device* DeviceSet::find(const DeviceSpec& spec) {
  for (auto& d : devices_)
    if (d->spec() == spec) return d.get();
  return nullptr;
}

Device& DeviceSet::get(const DeviceSpec& spec) {
  if (Device* d = find(spec)) return *d;
  throw InvalidArgumentError("Device " + spec.to_string() +
                             " does not exist; available devices: [" + available_names() + "]");
}

Device& DeviceSet::default_device() {
  if (Device* g = find(DeviceSpec::gpu(0))) return *g;
  return *devices_.front();
}

std::string DeviceSet::available_names() const {
  std::string s;
  for (size_t i = 0; i < devices_.size(); ++i) s += (i ? ", " : "") + devices_[i]->spec().to_string();
  return s;
}

}  // namespace kiln

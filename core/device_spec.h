// Device names as TensorFlow writes them. Accepted forms: "/cpu:0", "/gpu:1", "/device:GPU:0",
// "/job:localhost/replica:0/task:0/device:CPU:0", "cpu:0", "GPU:0", "/device:CPU:*" (index 0).
#pragma once

#include <string>

namespace kiln {

enum class DeviceType { kCPU = 0, kGPU = 1 };

struct DeviceSpec {
  DeviceType type = DeviceType::kCPU;
  int index = 0;

  static DeviceSpec cpu(int index = 0) { return {DeviceType::kCPU, index}; }
  static DeviceSpec gpu(int index = 0) { return {DeviceType::kGPU, index}; }
  // Throws InvalidArgumentError naming the string when it is not a device name.
  static DeviceSpec parse(const std::string& name);

  bool is_gpu() const { return type == DeviceType::kGPU; }
  std::string short_name() const;  // "/cpu:0"
  std::string to_string() const;   // "/device:CPU:0"
  std::string full_name() const;   // "/job:localhost/replica:0/task:0/device:CPU:0"

  bool operator==(const DeviceSpec& o) const { return type == o.type && index == o.index; }
  bool operator!=(const DeviceSpec& o) const { return !(*this == o); }
  bool operator<(const DeviceSpec& o) const {
    return type != o.type ? type < o.type : index < o.index;
  }
};

}  // namespace kiln

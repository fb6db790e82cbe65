#include "core/device_spec.h"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <vector>

#include "core/errors.h"

namespace kiln {

namespace {

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

bool parse_index(const std::string& s, int* out) {
  if (s == "*") { *out = 0; return true; }
  if (s.empty() || s.size() > 6) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  *out = std::stoi(s);
  return true;
}

}  // namespace

DeviceSpec DeviceSpec::parse(const std::string& name) {
  auto bad = [&name]() {
    return InvalidArgumentError("Invalid device name '" + name +
                                "': expected a form like /cpu:0, /gpu:1 or /device:GPU:0");
  };
  std::vector<std::string> parts;
  std::stringstream ss(name);
  for (std::string part; std::getline(ss, part, '/');)
    if (!part.empty()) parts.push_back(part);
  bool found = false;
  DeviceSpec spec;
  for (const std::string& part : parts) {
    std::string u = upper(part);
    if (u.rfind("JOB:", 0) == 0 || u.rfind("REPLICA:", 0) == 0 || u.rfind("TASK:", 0) == 0)
      continue;
    std::string rest = u.rfind("DEVICE:", 0) == 0 ? u.substr(7) : u;
    size_t colon = rest.find(':');
    std::string type = rest.substr(0, colon);
    std::string index = colon == std::string::npos ? "0" : rest.substr(colon + 1);
    if (type == "CPU") spec.type = DeviceType::kCPU;
    else if (type == "GPU") spec.type = DeviceType::kGPU;
    else throw bad();
    if (!parse_index(index, &spec.index)) throw bad();
    if (found) throw bad();
    found = true;
  }
  if (!found) throw bad();
  return spec;
}

std::string DeviceSpec::short_name() const {
  return std::string(type == DeviceType::kGPU ? "/gpu:" : "/cpu:") + std::to_string(index);
}

std::string DeviceSpec::to_string() const {
  return std::string(type == DeviceType::kGPU ? "/device:GPU:" : "/device:CPU:") +
         std::to_string(index);
}

std::string DeviceSpec::full_name() const { return "/job:localhost/replica:0/task:0" + to_string(); }

}  // namespace kiln

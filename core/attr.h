// Node attributes, with TensorFlow's AttrValue kinds: int, float, bool, string, type, shape,
// tensor and lists of them. Kept in a sorted map (the order a GraphDef writes them in).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "core/dtype.h"
#include "core/errors.h"
#include "core/shape.h"
#include "core/tensor.h"

namespace kiln {

using AttrValue =
    std::variant<std::monostate, int64_t, float, bool, std::string, DType, Shape, Tensor,
                 std::vector<int64_t>, std::vector<float>, std::vector<bool>,
                 std::vector<std::string>, std::vector<DType>, std::vector<Shape>>;

// Readable form for error messages and debugging.
std::string attr_to_string(const AttrValue& value);

class AttrMap {
 public:
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  void set(const std::string& name, AttrValue value) { values_[name] = std::move(value); }
  const AttrValue* find(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? nullptr : &it->second;
  }
  // Typed read; throws NotFoundError when missing and InvalidArgumentError on a kind mismatch.
  // An int attr may be read as int (int32 narrowing is the caller's business).
  template <typename T>
  const T& get(const std::string& name) const {
    const AttrValue* v = find(name);
    if (!v) throw NotFoundError("No attr named '" + name + "'");
    if (const T* p = std::get_if<T>(v)) return *p;
    throw InvalidArgumentError("Attr '" + name + "' has the wrong kind: " + attr_to_string(*v));
  }
  template <typename T>
  T get_or(const std::string& name, const T& fallback) const {
    const AttrValue* v = find(name);
    if (!v) return fallback;
    if (const T* p = std::get_if<T>(v)) return *p;
    return fallback;
  }
  const std::map<std::string, AttrValue>& values() const { return values_; }

 private:
  std::map<std::string, AttrValue> values_;
};

}  // namespace kiln

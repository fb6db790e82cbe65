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

// An attr kind kiln has no type for (a function, a list of tensors, a placeholder), kept as
// the serialized TF AttrValue message so that a graph read from a GraphDef writes it back
// unchanged. No kernel reads it.
struct OpaqueAttr {
  std::string serialized;
  bool operator==(const OpaqueAttr& o) const { return serialized == o.serialized; }
};

using AttrValue =
    std::variant<std::monostate, int64_t, float, bool, std::string, DType, Shape, Tensor,
                 std::vector<int64_t>, std::vector<float>, std::vector<bool>,
                 std::vector<std::string>, std::vector<DType>, std::vector<Shape>, OpaqueAttr>;

// True for a list attr with no elements (a GraphDef does not say which kind an empty list is).
bool is_empty_list(const AttrValue& value);

// Readable form for error messages and debugging.
std::string attr_to_string(const AttrValue& value);

namespace attr_internal {
template <typename T> inline constexpr bool is_list = false;
template <typename E> inline constexpr bool is_list<std::vector<E>> = true;
}  // namespace attr_internal

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
    if constexpr (attr_internal::is_list<T>) {
      static const T kEmpty{};
      if (is_empty_list(*v)) return kEmpty;
    }
    throw InvalidArgumentError("Attr '" + name + "' has the wrong kind: " + attr_to_string(*v));
  }
  template <typename T>
  T get_or(const std::string& name, const T& fallback) const {
    const AttrValue* v = find(name);
    if (!v) return fallback;
    if (const T* p = std::get_if<T>(v)) return *p;
    if constexpr (attr_internal::is_list<T>) {
      if (is_empty_list(*v)) return T{};
    }
    return fallback;
  }
  const std::map<std::string, AttrValue>& values() const { return values_; }

 private:
  std::map<std::string, AttrValue> values_;
};

}  // namespace kiln

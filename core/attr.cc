#include "core/attr.h"

#include <sstream>

namespace kiln {

namespace {

template <typename T, typename F>
std::string list_to_string(const std::vector<T>& v, F f) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + f(v[i]);
  return s + "]";
}

template <typename T> constexpr bool is_vector = false;
template <typename E> constexpr bool is_vector<std::vector<E>> = true;

}  // namespace

std::string attr_to_string(const AttrValue& value) {
  struct Visitor {
    std::string operator()(std::monostate) const { return "<none>"; }
    std::string operator()(int64_t v) const { return std::to_string(v); }
    std::string operator()(float v) const { std::ostringstream os; os << v; return os.str(); }
    std::string operator()(bool v) const { return v ? "true" : "false"; }
    std::string operator()(const std::string& v) const { return "\"" + v + "\""; }
    std::string operator()(DType v) const { return dtype_tf_name(v); }
    std::string operator()(const Shape& v) const { return v.to_string(); }
    std::string operator()(const Tensor& v) const { return v.debug_string(); }
    std::string operator()(const std::vector<int64_t>& v) const {
      return list_to_string(v, [](int64_t x) { return std::to_string(x); });
    }
    std::string operator()(const std::vector<float>& v) const {
      return list_to_string(v, [](float x) { std::ostringstream os; os << x; return os.str(); });
    }
    std::string operator()(const std::vector<bool>& v) const {
      std::string s = "[";
      for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::string(v[i] ? "true" : "false");
      return s + "]";
    }
    std::string operator()(const std::vector<std::string>& v) const {
      return list_to_string(v, [](const std::string& x) { return "\"" + x + "\""; });
    }
    std::string operator()(const std::vector<DType>& v) const {
      return list_to_string(v, [](DType x) { return std::string(dtype_tf_name(x)); });
    }
    std::string operator()(const std::vector<Shape>& v) const {
      return list_to_string(v, [](const Shape& x) { return x.to_string(); });
    }
    std::string operator()(const OpaqueAttr& v) const {
      return "<opaque AttrValue, " + std::to_string(v.serialized.size()) + " bytes>";
    }
  };
  return std::visit(Visitor{}, value);
}

bool is_empty_list(const AttrValue& value) {
  return std::visit(
      [](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (is_vector<V>)
          return v.empty();
        else
          return false;
      },
      value);
}

}  // namespace kiln

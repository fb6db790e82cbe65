#include "io/attr_proto.h"

#include <type_traits>

#include "core/errors.h"
#include "io/proto/attr_value.pb.h"
#include "io/tensor_proto.h"

namespace kiln::io {

namespace {

void shape_to_proto(const Shape& shape, kiln::TensorShapeProto* proto) {
  proto->Clear();
  if (shape.unknown_rank()) {
    proto->set_unknown_rank(true);
    return;
  }
  for (int64_t d : shape.dims()) proto->add_dim()->set_size(d < 0 ? -1 : d);
}

Shape shape_from_proto(const kiln::TensorShapeProto& proto) {
  if (proto.unknown_rank()) return Shape::unknown();
  std::vector<int64_t> dims;
  for (const auto& d : proto.dim()) dims.push_back(d.size() < 0 ? -1 : d.size());
  return Shape(dims);
}

DType dtype_from_proto(int value, const std::string& context) {
  // Reference dtypes (DT_FLOAT_REF = 101, ...) name the same element type.
  if (value > 100) value -= 100;
  if (!dtype_is_valid(value))
    throw UnimplementedError(context + "TF DataType " + std::to_string(value) +
                             " is not supported by kiln");
  return static_cast<DType>(value);
}

kiln::DataType dtype_to_proto(DType dtype) {
  return static_cast<kiln::DataType>(static_cast<int>(dtype));
}

}  // namespace

void attr_to_proto(const AttrValue& value, kiln::AttrValueProto* proto) {
  proto->Clear();
  struct Visitor {
    kiln::AttrValueProto* p;
    void operator()(std::monostate) const {}
    void operator()(int64_t v) const { p->set_i(v); }
    void operator()(float v) const { p->set_f(v); }
    void operator()(bool v) const { p->set_b(v); }
    void operator()(const std::string& v) const { p->set_s(v); }
    void operator()(DType v) const { p->set_type(dtype_to_proto(v)); }
    void operator()(const Shape& v) const { shape_to_proto(v, p->mutable_shape()); }
    void operator()(const Tensor& v) const { tensor_to_proto(v, p->mutable_tensor()); }
    void operator()(const std::vector<int64_t>& v) const {
      auto* list = p->mutable_list();
      for (int64_t x : v) list->add_i(x);
    }
    void operator()(const std::vector<float>& v) const {
      auto* list = p->mutable_list();
      for (float x : v) list->add_f(x);
    }
    void operator()(const std::vector<bool>& v) const {
      auto* list = p->mutable_list();
      for (bool x : v) list->add_b(x);
    }
    void operator()(const std::vector<std::string>& v) const {
      auto* list = p->mutable_list();
      for (const auto& x : v) list->add_s(x);
    }
    void operator()(const std::vector<DType>& v) const {
      auto* list = p->mutable_list();
      for (DType x : v) list->add_type(dtype_to_proto(x));
    }
    void operator()(const std::vector<Shape>& v) const {
      auto* list = p->mutable_list();
      for (const Shape& x : v) shape_to_proto(x, list->add_shape());
    }
    void operator()(const OpaqueAttr& v) const {
      if (!p->ParseFromString(v.serialized))
        throw InternalError("An opaque attr no longer parses as an AttrValue");
    }
  };
  std::visit(Visitor{proto}, value);
}

namespace {

AttrValue typed_attr_from_proto(const kiln::AttrValueProto& proto, const std::string& context) {
  using P = kiln::AttrValueProto;
  switch (proto.value_case()) {
    case P::VALUE_NOT_SET: return std::monostate{};
    case P::kI: return proto.i();
    case P::kF: return proto.f();
    case P::kB: return proto.b();
    case P::kS: return proto.s();
    case P::kType: return dtype_from_proto(proto.type(), context);
    case P::kShape: return shape_from_proto(proto.shape());
    case P::kTensor: return tensor_from_proto(proto.tensor(), context);
    case P::kList: {
      const auto& list = proto.list();
      if (list.tensor_size() > 0 || list.func_size() > 0) break;  // opaque
      if (list.s_size() > 0) return std::vector<std::string>(list.s().begin(), list.s().end());
      if (list.i_size() > 0) return std::vector<int64_t>(list.i().begin(), list.i().end());
      if (list.f_size() > 0) return std::vector<float>(list.f().begin(), list.f().end());
      if (list.b_size() > 0) return std::vector<bool>(list.b().begin(), list.b().end());
      if (list.type_size() > 0) {
        std::vector<DType> types;
        for (int t : list.type()) types.push_back(dtype_from_proto(t, context));
        return types;
      }
      if (list.shape_size() > 0) {
        std::vector<Shape> shapes;
        for (const auto& s : list.shape()) shapes.push_back(shape_from_proto(s));
        return shapes;
      }
      return std::vector<int64_t>{};
    }
    default:
      break;  // func, placeholder
  }
  return OpaqueAttr{proto.SerializeAsString()};
}

}  // namespace

AttrValue attr_from_proto(const kiln::AttrValueProto& proto, const std::string& context) {
  try {
    return typed_attr_from_proto(proto, context);
  } catch (const UnimplementedError&) {
    // A dtype kiln lacks (resource, variant, complex...): keep the attr for export; a kernel
    // that needs it reports the node.
    return OpaqueAttr{proto.SerializeAsString()};
  }
}

}  // namespace kiln::io

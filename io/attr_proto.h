// A node attr (core/attr.h) as TF's AttrValue message (io/proto/attr_value.proto) and back.
//
// Lists: a GraphDef does not record an empty list's kind, so an empty list reads as an empty
// std::vector<int64_t> (AttrMap::get hands any empty list out as the kind asked for). Kinds
// kiln has no type for (func, placeholder, list(tensor), list(func)) become OpaqueAttr holding
// the serialized message, written back byte for byte.
#pragma once

#include <string>

#include "core/attr.h"

namespace kiln {
class AttrValueProto;
}

namespace kiln::io {

void attr_to_proto(const AttrValue& value, kiln::AttrValueProto* proto);
// `context` ("node 'x' attr 'value': ") prefixes errors, e.g. a constant with a bad shape.
AttrValue attr_from_proto(const kiln::AttrValueProto& proto, const std::string& context);

}  // namespace kiln::io

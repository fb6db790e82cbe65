#include "ops/io_ops.h"

#include "core/op_registry.h"
#include "ops/op_util.h"

namespace kiln {

namespace {

void no_outputs(InferenceContext&) {}

void string_scalar(InferenceContext& c) { c.set_output(0, DType::kString, Shape{}); }

// One output per entry of the list-of-types attr `attr`, shapes unknown (they are in the file).
void outputs_from_type_list(InferenceContext& c, const char* attr) {
  const auto& types = c.attr<std::vector<DType>>(attr);
  for (size_t i = 0; i < types.size(); ++i) c.set_output(static_cast<int>(i), types[i], Shape::unknown());
}

void pack_shape(InferenceContext& c) {
  if (c.num_inputs() < 1) throw c.invalid("Pack needs at least one input");
  Shape element = c.input_shape(0);
  for (int i = 1; i < c.num_inputs(); ++i) {
    c.expect_same_dtype(0, i);
    if (!element.compatible_with(c.input_shape(i)))
      throw c.invalid("Shapes of all inputs must match: values[0].shape = " + element.to_string() +
                      " != values[" + std::to_string(i) + "].shape = " + c.input_shape(i).to_string());
  }
  if (element.unknown_rank()) {
    c.set_output(0, c.input_dtype(0), Shape::unknown());
    return;
  }
  int64_t axis = c.has_attr("axis") ? c.attr<int64_t>("axis") : 0;
  int rank = element.rank() + 1;
  if (axis < -rank || axis >= rank)
    throw c.invalid("axis = " + std::to_string(axis) + " not in [" + std::to_string(-rank) + ", " +
                    std::to_string(rank) + ")");
  if (axis < 0) axis += rank;
  std::vector<int64_t> dims;
  for (int i = 0; i < element.rank(); ++i) dims.push_back(element.dim(i));
  dims.insert(dims.begin() + axis, c.num_inputs());
  c.set_output(0, c.input_dtype(0), Shape(dims));
}

}  // namespace

void RegisterIoOps() {
  OpRegistry& r = OpRegistry::global();
  r.add(OpDefBuilder("SaveV2").inputs(3, -1).stateful().infer(no_outputs));
  r.add(OpDefBuilder("RestoreV2").inputs(3, 3).stateful().infer([](InferenceContext& c) {
    outputs_from_type_list(c, "dtypes");
  }));
  r.add(OpDefBuilder("MergeV2Checkpoints").inputs(2, 2).stateful()
            .defaults({{"delete_old_dirs", true}}).infer(no_outputs));
  r.add(OpDefBuilder("ShardedFilename").inputs(3, 3).infer(string_scalar));
  r.add(OpDefBuilder("ShardedFilespec").inputs(2, 2).infer(string_scalar));
  r.add(OpDefBuilder("StringJoin").inputs(1, -1).defaults({{"separator", std::string()}})
            .infer(string_scalar));
  // V1 checkpoint ops, found in old TF graphs.
  r.add(OpDefBuilder("Save").inputs(3, -1).stateful().infer(no_outputs));
  r.add(OpDefBuilder("SaveSlices").inputs(4, -1).stateful().infer(no_outputs));
  r.add(OpDefBuilder("Restore").inputs(2, 2).stateful().defaults({{"preferred_shard", int64_t{-1}}})
            .infer([](InferenceContext& c) { c.set_output(0, c.attr<DType>("dt"), Shape::unknown()); }));
  r.add(OpDefBuilder("RestoreSlice").inputs(3, 3).stateful()
            .defaults({{"preferred_shard", int64_t{-1}}})
            .infer([](InferenceContext& c) { c.set_output(0, c.attr<DType>("dt"), Shape::unknown()); }));
  r.add(OpDefBuilder("PlaceholderWithDefault").inputs(1, 1).infer([](InferenceContext& c) {
    c.expect_dtype(0, c.attr<DType>("dtype"));
    Shape shape = c.attr<Shape>("shape");
    c.set_output(0, c.attr<DType>("dtype"), shape.unknown_rank() ? c.input_shape(0) : shape);
  }));
  if (!r.find("Pack"))
    r.add(OpDefBuilder("Pack").inputs(1, -1).defaults({{"axis", int64_t{0}}}).infer(pack_shape));
}

}  // namespace kiln

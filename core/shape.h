// Tensor shapes. A Shape may be partially known, as in TF graph construction: a dimension of -1
// is unknown, and `Shape::unknown()` has unknown rank. Tensors always have fully defined shapes.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace kiln {

class Shape {
 public:
  Shape() = default;  // a scalar
  Shape(std::initializer_list<int64_t> dims) : dims_(dims) {}
  explicit Shape(std::vector<int64_t> dims) : dims_(std::move(dims)) {}
  static Shape unknown() { Shape s; s.unknown_rank_ = true; return s; }
  // A shape of known rank whose every dimension is unknown.
  static Shape unknown_dims(int rank) { return Shape(std::vector<int64_t>(rank, -1)); }

  bool unknown_rank() const { return unknown_rank_; }
  int rank() const { return unknown_rank_ ? -1 : static_cast<int>(dims_.size()); }
  int64_t dim(int i) const { return dims_.at(i < 0 ? i + dims_.size() : i); }
  const std::vector<int64_t>& dims() const { return dims_; }
  // True when the rank and every dimension are known.
  bool fully_defined() const;
  // Product of the dimensions (1 for a scalar); -1 when not fully defined.
  int64_t num_elements() const;

  // True when the two shapes could describe the same tensor (unknowns match anything).
  bool compatible_with(const Shape& other) const;
  // Most specific shape compatible with both; throws InvalidArgumentError when incompatible.
  Shape merge_with(const Shape& other) const;

  // "[2,3]", "[?,3]", "<unknown>", "[]".
  std::string to_string() const;
  // TF's debug form used in messages: "(2, 3)"; "()" for scalars.
  std::string to_tuple_string() const;

  bool operator==(const Shape& o) const { return unknown_rank_ == o.unknown_rank_ && dims_ == o.dims_; }
  bool operator!=(const Shape& o) const { return !(*this == o); }

 private:
  std::vector<int64_t> dims_;
  bool unknown_rank_ = false;
};

// Resolves a Reshape request against the input's shape as TensorFlow does: at most one -1,
// inferred from the element count (zero-size dimensions are left out of both counts when the
// request itself has a 0, so [0,3] -> {0,-1} gives [0,3]). Throws InvalidArgumentError.
// `input` may be partially known; then only what is known is checked and -1 may stay -1.
std::vector<int64_t> resolve_reshape(const Shape& input, std::vector<int64_t> requested);

// numpy broadcasting of two (possibly partial) shapes; throws InvalidArgumentError naming both
// shapes when they cannot broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b);

}  // namespace kiln

#include "core/shape.h"

#include <algorithm>

#include "core/errors.h"

namespace kiln {

bool Shape::fully_defined() const {
  if (unknown_rank_) return false;
  return std::all_of(dims_.begin(), dims_.end(), [](int64_t d) { return d >= 0; });
}

int64_t Shape::num_elements() const {
  if (!fully_defined()) return -1;
  int64_t n = 1;
  for (int64_t d : dims_) {
    if (__builtin_mul_overflow(n, d, &n))
      throw InvalidArgumentError("Shape " + to_string() +
                                 " would have more than 2**63 - 1 elements");
  }
  return n;
}

bool Shape::compatible_with(const Shape& other) const {
  if (unknown_rank_ || other.unknown_rank_) return true;
  if (dims_.size() != other.dims_.size()) return false;
  for (size_t i = 0; i < dims_.size(); ++i)
    if (dims_[i] >= 0 && other.dims_[i] >= 0 && dims_[i] != other.dims_[i]) return false;
  return true;
}

Shape Shape::merge_with(const Shape& other) const {
  if (!compatible_with(other))
    throw InvalidArgumentError("Shapes " + to_string() + " and " + other.to_string() +
                               " are not compatible");
  if (unknown_rank_) return other;
  if (other.unknown_rank_) return *this;
  std::vector<int64_t> dims(dims_);
  for (size_t i = 0; i < dims.size(); ++i)
    if (dims[i] < 0) dims[i] = other.dims_[i];
  return Shape(std::move(dims));
}

std::string Shape::to_string() const {
  if (unknown_rank_) return "<unknown>";
  std::string s = "[";
  for (size_t i = 0; i < dims_.size(); ++i) {
    if (i) s += ",";
    s += dims_[i] < 0 ? "?" : std::to_string(dims_[i]);
  }
  return s + "]";
}

std::string Shape::to_tuple_string() const {
  if (unknown_rank_) return "<unknown>";
  std::string s = "(";
  for (size_t i = 0; i < dims_.size(); ++i) {
    if (i) s += ", ";
    s += dims_[i] < 0 ? "?" : std::to_string(dims_[i]);
  }
  if (dims_.size() == 1) s += ",";
  return s + ")";
}

std::vector<int64_t> resolve_reshape(const Shape& input, std::vector<int64_t> requested) {
  int unknown = -1;
  int64_t product = 1;
  bool request_has_zero = false;
  for (size_t i = 0; i < requested.size(); ++i) {
    if (requested[i] == -1) {
      if (unknown >= 0)
        throw InvalidArgumentError("Only one input size may be -1, not both " +
                                   std::to_string(unknown) + " and " + std::to_string(i));
      unknown = static_cast<int>(i);
    } else if (requested[i] < 0) {
      throw InvalidArgumentError("Size " + std::to_string(i) + " must be non-negative, not " +
                                 std::to_string(requested[i]));
    } else if (requested[i] == 0) {
      request_has_zero = true;
    } else {
      product *= requested[i];
    }
  }
  if (!input.fully_defined()) return requested;  // checked again when the tensor is known
  int64_t input_elements = input.num_elements();
  std::string want = Shape(requested).to_string();
  if (unknown >= 0) {
    int64_t counted = 1;
    bool input_has_zero = false;
    for (int64_t d : input.dims()) {
      if (d > 0 || !request_has_zero) counted *= d;
      else input_has_zero = true;
    }
    int64_t missing = product == 0 ? 0 : counted / product;
    if (!input_has_zero && product * missing != counted)
      throw InvalidArgumentError("Input to reshape is a tensor with " +
                                 std::to_string(input_elements) +
                                 " values, but the requested shape requires a multiple of " +
                                 std::to_string(product) + " (shape " + want + ")");
    requested[unknown] = missing;
  }
  int64_t out = 1;
  for (int64_t d : requested) out *= d;
  if (out != input_elements)
    throw InvalidArgumentError("Input to reshape is a tensor with " +
                               std::to_string(input_elements) + " values, but the requested shape " +
                               Shape(requested).to_string() + " has " + std::to_string(out));
  return requested;
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  if (a.unknown_rank() || b.unknown_rank()) return Shape::unknown();
  size_t rank = std::max(a.dims().size(), b.dims().size());
  std::vector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.dims().size() ? 1 : a.dims()[i - (rank - a.dims().size())];
    int64_t db = i < rank - b.dims().size() ? 1 : b.dims()[i - (rank - b.dims().size())];
    if (da == 1) out[i] = db;
    else if (db == 1) out[i] = da;
    else if (da < 0) out[i] = db;  // unknown vs known: assume it matches
    else if (db < 0) out[i] = da;
    else if (da == db) out[i] = da;
    else
      throw InvalidArgumentError("Incompatible shapes: " + a.to_string() + " vs. " +
                                 b.to_string() + " (dimension " + std::to_string(i) +
                                 ": " + std::to_string(da) + " vs " + std::to_string(db) + ")");
  }
  return Shape(std::move(out));
}

}  // namespace kiln

// CPU reduce and transpose primitives.
//
// reduce contract (kernels/primitives.h): x viewed row-major as [outer, reduced, inner] is
// reduced over the middle axis into out [outer, inner]; float32/float64/int32/int64.
//  - kSum: 0 for an empty reduction;
//  - kMean: sum / reduced (integer division for ints); an empty reduction gives NaN for floats
//    (0/0, as numpy) and 0 for ints (no division by zero);
//  - kMax: NaN-propagating (functors::Max, like TF); an empty reduction gives the lowest value
//    of the type: -inf for floats (the identity of max, what tf.reduce_max returns), lowest()
//    for ints.
// transpose contract: out's dimension d is x's dimension perm[d]; any rank, any dtype
// (strings too). Validates perm and out's shape, throwing InvalidArgumentError.
#include <Eigen/Core>

#include <cstring>
#include <limits>
#include <string>
#include <type_traits>

#include "kernels/cpu/cpu_primitives.h"
#include "kernels/functors.h"

namespace kiln::kernels::cpu {
namespace {

// ---- reduce ----

template <typename T>
using ColArray = Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;

template <typename T>
void reduce_typed(ReduceOp op, const T* x, ReduceShape s, T* out) {
  const int64_t n_out = s.outer * s.inner;
  if (n_out == 0) return;
  if (s.reduced == 0) {
    Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>(out, n_out).setConstant(empty_reduce_result<T>(op));
    return;
  }
  const T count = static_cast<T>(s.reduced);
  if (s.inner == 1) {
    // x is [outer, reduced] row-major = column-major [reduced, outer]: reduce each column.
    Eigen::Map<const ColArray<T>> m(x, s.reduced, s.outer);
    Eigen::Map<Eigen::Array<T, 1, Eigen::Dynamic>> dst(out, s.outer);
    switch (op) {
      case ReduceOp::kSum: dst = m.colwise().sum(); return;
      case ReduceOp::kMean: dst = m.colwise().sum() / count; return;
      case ReduceOp::kMax: dst = m.colwise().redux(functors::Max{}); return;
    }
    return;
  }
  // Each outer slice is [reduced, inner] row-major = column-major [inner, reduced]: reduce
  // each row, i.e. add up whole contiguous columns of length `inner`.
  for (int64_t o = 0; o < s.outer; ++o) {
    Eigen::Map<const ColArray<T>> m(x + o * s.reduced * s.inner, s.inner, s.reduced);
    Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> dst(out + o * s.inner, s.inner);
    switch (op) {
      case ReduceOp::kSum: dst = m.rowwise().sum(); break;
      case ReduceOp::kMean: dst = m.rowwise().sum() / count; break;
      case ReduceOp::kMax: dst = m.rowwise().redux(functors::Max{}); break;
    }
  }
}

// ---- transpose ----

// Copies in -> out where out (row-major, dims) element at index (i_0..i_{r-1}) comes from
// in[sum_d i_d * strides[d]]. One strided inner loop per output row, an odometer above it.
template <typename E>
void permute(const E* in, E* out, const std::vector<int64_t>& dims,
             const std::vector<int64_t>& strides) {
  const int r = static_cast<int>(dims.size());
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  if (n == 0) return;
  const int64_t cols = dims[r - 1], cs = strides[r - 1];
  std::vector<int64_t> idx(r, 0);
  int64_t off = 0;
  for (int64_t row = 0; row < n / cols; ++row) {
    E* dst = out + row * cols;
    for (int64_t j = 0; j < cols; ++j) dst[j] = in[off + j * cs];
    for (int d = r - 2; d >= 0; --d) {
      off += strides[d];
      if (++idx[d] < dims[d]) break;
      off -= strides[d] * dims[d];
      idx[d] = 0;
    }
  }
}

}  // namespace

void reduce(Device&, ReduceOp op, const Tensor& x, ReduceShape shape, Tensor& out) {
  if (shape.outer < 0 || shape.reduced < 0 || shape.inner < 0 ||
      x.num_elements() != shape.outer * shape.reduced * shape.inner ||
      out.num_elements() != shape.outer * shape.inner || out.dtype() != x.dtype())
    throw InvalidArgumentError("CPU reduce: " + x.debug_string() + " -> " + out.debug_string() +
                               " does not match [outer " + std::to_string(shape.outer) +
                               ", reduced " + std::to_string(shape.reduced) + ", inner " +
                               std::to_string(shape.inner) + "]");
  switch (x.dtype()) {
    case DType::kFloat: return reduce_typed(op, x.data<float>(), shape, out.data<float>());
    case DType::kDouble: return reduce_typed(op, x.data<double>(), shape, out.data<double>());
    case DType::kInt32: return reduce_typed(op, x.data<int32_t>(), shape, out.data<int32_t>());
    case DType::kInt64: return reduce_typed(op, x.data<int64_t>(), shape, out.data<int64_t>());
    default: detail::unsupported_dtype("reduce", x.dtype());
  }
}

void transpose(Device&, const Tensor& x, const std::vector<int>& perm, Tensor& out) {
  const int rank = x.rank();
  std::vector<bool> seen(rank, false);
  bool ok = static_cast<int>(perm.size()) == rank && out.rank() == rank &&
            out.dtype() == x.dtype();
  for (int d = 0; ok && d < rank; ++d) {
    int p = perm[d];
    ok = p >= 0 && p < rank && !seen[p] && out.dim(d) == x.dim(p);
    if (ok) seen[p] = true;
  }
  if (!ok) {
    std::string p;
    for (int v : perm) p += (p.empty() ? "" : ",") + std::to_string(v);
    throw InvalidArgumentError("CPU transpose: perm [" + p + "] does not take " +
                               x.debug_string() + " to " + out.debug_string());
  }
  // Output dims with their input strides, dropping size-1 dims and merging neighbours that are
  // also neighbours in the input (an identity perm collapses to one contiguous run).
  std::vector<int64_t> in_strides(rank, 1);
  for (int d = rank - 2; d >= 0; --d) in_strides[d] = in_strides[d + 1] * x.dim(d + 1);
  std::vector<int64_t> dims, strides;
  for (int d = 0; d < rank; ++d) {
    int64_t size = x.dim(perm[d]), stride = in_strides[perm[d]];
    if (size == 1) continue;
    if (!dims.empty() && strides.back() == stride * size) {
      dims.back() *= size;
      strides.back() = stride;
    } else {
      dims.push_back(size);
      strides.push_back(stride);
    }
  }
  if (dims.empty()) dims.push_back(1), strides.push_back(1);
  if (x.num_elements() == 0) return;
  if (dims.size() == 1 && strides[0] == 1) {  // pure copy
    if (x.dtype() == DType::kString) {
      permute(x.data<std::string>(), out.data<std::string>(), dims, strides);
    } else {
      std::memcpy(out.raw_data(), x.raw_data(), x.bytes());
    }
    return;
  }
  // Elements move as opaque bit patterns of their size; strings need their own copies.
  const void* in = x.raw_data();
  void* o = out.raw_data();
  if (x.dtype() == DType::kString)
    return permute(x.data<std::string>(), out.data<std::string>(), dims, strides);
  switch (dtype_size(x.dtype())) {
    case 1: return permute(static_cast<const uint8_t*>(in), static_cast<uint8_t*>(o), dims, strides);
    case 2: return permute(static_cast<const uint16_t*>(in), static_cast<uint16_t*>(o), dims, strides);
    case 4: return permute(static_cast<const uint32_t*>(in), static_cast<uint32_t*>(o), dims, strides);
    case 8: return permute(static_cast<const uint64_t*>(in), static_cast<uint64_t*>(o), dims, strides);
    default: detail::unsupported_dtype("transpose", x.dtype());
  }
}

}  // namespace kiln::kernels::cpu

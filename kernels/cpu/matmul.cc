// CPU matmul primitive: out[m, n] = op(a) @ op(b), op = transpose when the flag is set.
//
// Contract (kernels/primitives.h): rank-2 float32/float64/int32/int64 operands of one dtype,
// out preallocated as [m, n]. Any dimension may be zero; k == 0 gives an all-zero output.
// Shapes are checked again here (InvalidArgumentError) because a mismatch would otherwise
// read out of bounds. Row-major tensors map onto Eigen RowMajor matrices, and the transpose
// flags become Eigen .transpose() views, so no operand is copied before the product.
#include <Eigen/Core>

#include <string>

#include "kernels/cpu/cpu_primitives.h"

namespace kiln::kernels::cpu {
namespace {

template <typename T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <typename T>
void matmul_typed(const Tensor& a, const Tensor& b, bool ta, bool tb, Tensor& out) {
  Eigen::Map<const RowMatrix<T>> A(a.data<T>(), a.dim(0), a.dim(1));
  Eigen::Map<const RowMatrix<T>> B(b.data<T>(), b.dim(0), b.dim(1));
  Eigen::Map<RowMatrix<T>> C(out.data<T>(), out.dim(0), out.dim(1));
  if (C.size() == 0) return;
  // An empty inner dimension: the sum over nothing. Set explicitly rather than relying on how
  // each Eigen product path treats depth 0.
  if (A.size() == 0 || B.size() == 0) {
    C.setZero();
    return;
  }
  // noalias: out is a fresh buffer, never one of the operands, so Eigen need not evaluate
  // into a temporary first.
  if (!ta && !tb) C.noalias() = A * B;
  else if (ta && !tb) C.noalias() = A.transpose() * B;
  else if (!ta && tb) C.noalias() = A * B.transpose();
  else C.noalias() = A.transpose() * B.transpose();
}

}  // namespace

void matmul(Device&, const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b,
            Tensor& out) {
  bool ok = a.rank() == 2 && b.rank() == 2 && out.rank() == 2 && a.dtype() == b.dtype() &&
            out.dtype() == a.dtype();
  if (ok) {
    int64_t m = a.dim(transpose_a ? 1 : 0), ka = a.dim(transpose_a ? 0 : 1);
    int64_t kb = b.dim(transpose_b ? 1 : 0), n = b.dim(transpose_b ? 0 : 1);
    ok = ka == kb && out.dim(0) == m && out.dim(1) == n;
  }
  if (!ok)
    throw InvalidArgumentError("CPU matmul: " + a.debug_string() +
                               (transpose_a ? "^T" : "") + " @ " + b.debug_string() +
                               (transpose_b ? "^T" : "") + " does not give " +
                               out.debug_string());
  switch (a.dtype()) {
    case DType::kFloat: return matmul_typed<float>(a, b, transpose_a, transpose_b, out);
    case DType::kDouble: return matmul_typed<double>(a, b, transpose_a, transpose_b, out);
    case DType::kInt32: return matmul_typed<int32_t>(a, b, transpose_a, transpose_b, out);
    case DType::kInt64: return matmul_typed<int64_t>(a, b, transpose_a, transpose_b, out);
    default: detail::unsupported_dtype("matmul", a.dtype());
  }
}

}  // namespace kiln::kernels::cpu

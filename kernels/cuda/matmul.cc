// CUDA matmul primitive: row-major out[M, N] = op(a) @ op(b) through cuBLAS, float32
// (cublasSgemm, strict FP32: no TF32 tensor cores) and float64 (cublasDgemm).
//
// Row-major trick: a row-major matrix is the column-major view of its transpose, so the
// row-major product C = op(A) op(B) is computed as the column-major product
// C^T = op(B)^T op(A)^T, i.e. gemm(opB, opA, N, M, K, B, A, C) with each leading dimension
// being the row length of the stored matrix. No data is moved.
//
// Handles: one per (GPU ordinal, stream), created lazily under a mutex, bound to that stream
// once and kept for the life of the process (like the streams themselves, see core/gpu.h).
// The 64-bit cuBLAS entry points are used so no dimension needs to fit in an int.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "core/cuda_check.h"
#include "core/errors.h"
#include "core/gpu.h"
#include "kernels/cuda/cuda_primitives.h"

namespace kiln::kernels::cuda {
namespace {

[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* expr, const char* file,
                                     int line) {
  std::string msg = std::string("cuBLAS error: ") + cublasGetStatusString(status) + " (" +
                    cublasGetStatusName(status) + ") in `" + expr + "` at " + file + ":" +
                    std::to_string(line);
  if (status == CUBLAS_STATUS_ALLOC_FAILED) throw ResourceExhaustedError(msg);
  throw InternalError(msg);
}

#define KILN_CUBLAS_CHECK(expr)                                                 \
  do {                                                                          \
    cublasStatus_t kiln_status_ = (expr);                                       \
    if (kiln_status_ != CUBLAS_STATUS_SUCCESS)                                  \
      throw_cublas_error(kiln_status_, #expr, __FILE__, __LINE__);              \
  } while (0)

cublasHandle_t handle_for(Device& device) {
  static std::mutex mu;
  static auto* handles = new std::map<std::pair<int, void*>, cublasHandle_t>();  // never freed
  const int ordinal = device.gpu_ordinal();
  std::lock_guard<std::mutex> lock(mu);
  auto key = std::make_pair(ordinal, static_cast<void*>(device.stream()));
  auto it = handles->find(key);
  if (it != handles->end()) return it->second;
  gpu::set_device(ordinal);  // cublasCreate binds the handle to the current device
  cublasHandle_t handle = nullptr;
  KILN_CUBLAS_CHECK(cublasCreate(&handle));
  KILN_CUBLAS_CHECK(cublasSetStream(handle, static_cast<cudaStream_t>(device.stream())));
  // Strict IEEE FP32 unless a later option asks for TF32 (CUBLAS_TF32_TENSOR_OP_MATH).
  KILN_CUBLAS_CHECK(cublasSetMathMode(handle, CUBLAS_DEFAULT_MATH));
  handles->emplace(key, handle);
  return handle;
}

}  // namespace

void* cublas_handle(Device& device) { return handle_for(device); }

void matmul(Device& device, const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b,
            Tensor& out) {
  if (a.rank() != 2 || b.rank() != 2 || out.rank() != 2 || a.dtype() != b.dtype() ||
      out.dtype() != a.dtype())
    throw InvalidArgumentError("CUDA matmul needs rank-2 operands of one dtype, got " +
                               a.debug_string() + ", " + b.debug_string() + " -> " +
                               out.debug_string());
  const int64_t m = transpose_a ? a.dim(1) : a.dim(0);
  const int64_t k = transpose_a ? a.dim(0) : a.dim(1);
  const int64_t n = transpose_b ? b.dim(0) : b.dim(1);
  const int64_t kb = transpose_b ? b.dim(1) : b.dim(0);
  if (k != kb || out.dim(0) != m || out.dim(1) != n)
    throw InvalidArgumentError("CUDA matmul: shapes " + a.debug_string() +
                               (transpose_a ? "^T" : "") + " @ " + b.debug_string() +
                               (transpose_b ? "^T" : "") + " -> " + out.debug_string() +
                               " do not match");
  if (a.dtype() != DType::kFloat && a.dtype() != DType::kDouble)
    throw InvalidArgumentError(std::string("CUDA matmul does not support dtype ") +
                               dtype_name(a.dtype()));
  if (m == 0 || n == 0) return;
  gpu::set_device(device.gpu_ordinal());
  cudaStream_t stream = static_cast<cudaStream_t>(device.stream());
  if (k == 0) {  // an empty sum: zeros (all-zero bytes are 0.0 in both dtypes)
    KILN_CUDA_CHECK(cudaMemsetAsync(out.raw_data(), 0, out.bytes(), stream));
    return;
  }
  cublasHandle_t handle = handle_for(device);
  const cublasOperation_t op_a = transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int64_t lda = a.dim(1), ldb = b.dim(1), ldc = n;  // row lengths as stored
  if (a.dtype() == DType::kFloat) {
    const float alpha = 1.0f, beta = 0.0f;
    KILN_CUBLAS_CHECK(cublasSgemm_64(handle, op_b, op_a, n, m, k, &alpha, b.data<float>(), ldb,
                                     a.data<float>(), lda, &beta, out.data<float>(), ldc));
  } else {
    const double alpha = 1.0, beta = 0.0;
    KILN_CUBLAS_CHECK(cublasDgemm_64(handle, op_b, op_a, n, m, k, &alpha, b.data<double>(), ldb,
                                     a.data<double>(), lda, &beta, out.data<double>(), ldc));
  }
}

}  // namespace kiln::kernels::cuda

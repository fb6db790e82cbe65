// Internal (not installed): turns CUDA runtime failures into kiln::InternalError naming the failing
// expression and file:line. Only for .cc/.cu files built with CUDA.
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "core/errors.h"

namespace kiln::internal {

[[noreturn]] inline void throw_cuda_error(cudaError_t err, const char* expr, const char* file,
                                          int line) {
  std::string msg = std::string("CUDA error: ") + cudaGetErrorString(err) + " (" +
                    cudaGetErrorName(err) + ") in `" + expr + "` at " + file + ":" +
                    std::to_string(line);
  if (err == cudaErrorMemoryAllocation) throw ResourceExhaustedError(msg);
  throw InternalError(msg);
}

}  // namespace kiln::internal

#define KILN_CUDA_CHECK(expr)                                                        \
  do {                                                                               \
    cudaError_t kiln_err_ = (expr);                                                  \
    if (kiln_err_ != cudaSuccess)                                                    \
      ::kiln::internal::throw_cuda_error(kiln_err_, #expr, __FILE__, __LINE__);      \
  } while (0)

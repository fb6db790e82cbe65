// cuda_primitives(): the table of CUDA primitive implementations (kernels/cuda/cuda_primitives.h).
// A function-local static, so it is ready whenever first asked for, independent of static
// initialization order. Only built when CUDA is (kernels/cuda_none.cc stands in otherwise).
#include "kernels/cuda/cuda_primitives.h"

namespace kiln::kernels {

const Primitives& cuda_primitives() {
  static const Primitives table = {
      .unary = &cuda::unary,
      .binary = &cuda::binary,
      .cast = &cuda::cast,
      .fill = &cuda::fill,
      .reduce = &cuda::reduce,
      .transpose = &cuda::transpose,
      .matmul = &cuda::matmul,
      .softmax = &cuda::softmax,
      .sparse_xent = &cuda::sparse_xent,
      .random = &cuda::random,
      .copy = &cuda::copy,
      .activation_grad = &cuda::activation_grad,
      .apply_gradient_descent = &cuda::apply_gradient_descent,
      .apply_momentum = &cuda::apply_momentum,
      .apply_adam = &cuda::apply_adam,
  };
  return table;
}

}  // namespace kiln::kernels

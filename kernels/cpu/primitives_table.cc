// cpu_primitives(): the table of CPU primitive implementations (kernels/cpu/cpu_primitives.h).
// A function-local static so the table is ready whenever it is first asked for, with no
// dependence on static initialization order.
#include "kernels/cpu/cpu_primitives.h"

namespace kiln::kernels {

const Primitives& cpu_primitives() {
  static const Primitives table = {
      .unary = &cpu::unary,
      .binary = &cpu::binary,
      .cast = &cpu::cast,
      .fill = &cpu::fill,
      .reduce = &cpu::reduce,
      .transpose = &cpu::transpose,
      .matmul = &cpu::matmul,
      .softmax = &cpu::softmax,
      .sparse_xent = &cpu::sparse_xent,
      .random = &cpu::random,
      .copy = &cpu::copy,
      .activation_grad = &cpu::activation_grad,
      .apply_gradient_descent = &cpu::apply_gradient_descent,
      .apply_momentum = &cpu::apply_momentum,
      .apply_adam = &cpu::apply_adam,
  };
  return table;
}

}  // namespace kiln::kernels

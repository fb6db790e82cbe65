// Math ops: elementwise binary ops with numpy broadcasting (Add, AddV2, Sub, Mul, RealDiv,
// Maximum), unary ops (Neg, Square, Sqrt, Exp, Log), MatMul, the reductions Sum, Mean, Max,
// AddN and SqrtGrad. The gradients of the differentiable ones (all but Max) are registered
// here too (ops/gradients.h).
#pragma once

#include <string>
#include <vector>

#include "core/graph.h"

namespace kiln {

Output add(Output a, Output b, const std::string& name = "Add");
Output add_v2(Output a, Output b, const std::string& name = "AddV2");
Output subtract(Output a, Output b, const std::string& name = "Sub");
Output multiply(Output a, Output b, const std::string& name = "Mul");
Output divide(Output a, Output b, const std::string& name = "truediv");  // RealDiv
Output maximum(Output a, Output b, const std::string& name = "Maximum");
Output negative(Output x, const std::string& name = "Neg");
Output square(Output x, const std::string& name = "Square");
Output sqrt(Output x, const std::string& name = "Sqrt");
Output exp(Output x, const std::string& name = "Exp");
Output log(Output x, const std::string& name = "Log");
Output matmul(Output a, Output b, bool transpose_a = false, bool transpose_b = false,
              const std::string& name = "MatMul");
// Reductions over `axis` (empty: all axes; negative axes count from the end).
Output reduce_sum(Output x, const std::vector<int64_t>& axis = {}, bool keep_dims = false,
                  const std::string& name = "Sum");
Output reduce_mean(Output x, const std::vector<int64_t>& axis = {}, bool keep_dims = false,
                   const std::string& name = "Mean");
Output reduce_max(Output x, const std::vector<int64_t>& axis = {}, bool keep_dims = false,
                  const std::string& name = "Max");

// Elementwise sum of same-shape tensors (tf.add_n).
Output add_n(const std::vector<Output>& inputs, const std::string& name = "AddN");
// SqrtGrad(y, dy) = dy * 0.5 / y, the backward pass of y = Sqrt(x).
Output sqrt_grad(Output y, Output dy, const std::string& name = "SqrtGrad");

// Python-style operators; scalars become constants of the other operand's dtype.
Output operator+(Output a, Output b);
Output operator-(Output a, Output b);
Output operator*(Output a, Output b);
Output operator/(Output a, Output b);
Output operator-(Output x);
Output operator+(Output a, double b);
Output operator-(Output a, double b);
Output operator*(Output a, double b);
Output operator/(Output a, double b);
Output operator+(double a, Output b);
Output operator-(double a, Output b);
Output operator*(double a, Output b);
Output operator/(double a, Output b);

void RegisterMathOps();

}  // namespace kiln

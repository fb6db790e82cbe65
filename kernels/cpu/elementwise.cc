// CPU unary, binary (numpy broadcasting), fill and copy primitives.
//
// Contract (kernels/primitives.h): outputs are preallocated host tensors of the right dtype and
// shape. unary: float32/float64 for every op, int32/int64 for Neg and Square. binary:
// float32/float64/int32/int64 with the BroadcastPlan from make_broadcast_plan(a, b); integer Div
// truncates toward zero and throws InvalidArgumentError("Integer division by zero") when any
// divisor is zero. fill and copy take every dtype, strings included.
//
// The math is the shared functors of kernels/functors.h, so the CPU and CUDA kernels compute the
// same formula; Eigen supplies the loops for the contiguous cases.
#include <Eigen/Core>

#include <cstring>
#include <string>
#include <type_traits>

#include "kernels/cpu/cpu_primitives.h"
#include "kernels/functors.h"

namespace kiln::kernels::cpu {
namespace {

template <typename T>
using Vec = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <typename T>
using ConstVec = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

void check_same_elements(const char* what, const Tensor& in, const Tensor& out) {
  if (in.dtype() != out.dtype() || in.num_elements() != out.num_elements())
    throw InvalidArgumentError(std::string("CPU ") + what + ": output " + out.debug_string() +
                               " does not match input " + in.debug_string());
}

// ---- unary ----

template <typename T, typename F>
void unary_with(F f, const Tensor& x, Tensor& out) {
  const int64_t n = x.num_elements();
  Vec<T>(out.data<T>(), n) = ConstVec<T>(x.data<T>(), n).unaryExpr([f](T v) { return f(v); });
}

template <typename T>
void unary_typed(UnaryOp op, const Tensor& x, Tensor& out) {
  switch (op) {
    case UnaryOp::kNeg: return unary_with<T>(functors::Neg{}, x, out);
    case UnaryOp::kSquare: return unary_with<T>(functors::Square{}, x, out);
    default: break;
  }
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case UnaryOp::kSqrt: return unary_with<T>(functors::Sqrt{}, x, out);
      case UnaryOp::kExp: return unary_with<T>(functors::Exp{}, x, out);
      case UnaryOp::kLog: return unary_with<T>(functors::Log{}, x, out);
      case UnaryOp::kRelu: return unary_with<T>(functors::Relu{}, x, out);
      case UnaryOp::kSigmoid: return unary_with<T>(functors::Sigmoid{}, x, out);
      case UnaryOp::kTanh: return unary_with<T>(functors::Tanh{}, x, out);
      case UnaryOp::kIdentity: return unary_with<T>(functors::Identity{}, x, out);
      default: break;
    }
  }
  throw InvalidArgumentError(std::string("CPU unary op ") + std::to_string(static_cast<int>(op)) +
                             " does not support dtype " + dtype_name(x.dtype()));
}

// ---- binary ----

// Integer division that cannot trap: the divisor was checked for zero up front, and
// lowest / -1 (which overflows and raises SIGFPE on x86) wraps to lowest as two's complement
// arithmetic would, instead of killing the process.
struct SafeIntDiv {
  template <typename T>
  T operator()(T a, T b) const {
    using U = std::make_unsigned_t<T>;
    if (b == T(-1)) return static_cast<T>(U(0) - static_cast<U>(a));
    return functors::Div{}(a, b);
  }
};

template <typename T, typename F>
void binary_with(F f, const Tensor& a, const Tensor& b, const BroadcastPlan& plan, Tensor& out) {
  const int64_t n = plan.num_elements;
  if (n == 0) return;  // also keeps the general case from dividing by a zero dimension
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  T* po = out.data<T>();
  Vec<T> o(po, n);
  switch (plan.kind) {
    case BroadcastPlan::kSameShape:
      o = ConstVec<T>(pa, n).binaryExpr(ConstVec<T>(pb, n), [f](T x, T y) { return f(x, y); });
      return;
    case BroadcastPlan::kScalarA: {
      const T s = pa[0];
      o = ConstVec<T>(pb, n).unaryExpr([f, s](T y) { return f(s, y); });
      return;
    }
    case BroadcastPlan::kScalarB: {
      const T s = pb[0];
      o = ConstVec<T>(pa, n).unaryExpr([f, s](T x) { return f(x, s); });
      return;
    }
    case BroadcastPlan::kGeneral: {
      // Walk the output one innermost row at a time: offsets() once per row, then a strided
      // inner loop (stride 0 where that operand is broadcast along the row).
      const int last = plan.rank - 1;
      const int64_t cols = plan.out_dims[last];
      const int64_t sa = plan.a_strides[last], sb = plan.b_strides[last];
      for (int64_t row = 0; row < n / cols; ++row) {
        int64_t ao, bo;
        plan.offsets(row * cols, &ao, &bo);
        T* dst = po + row * cols;
        for (int64_t j = 0; j < cols; ++j) dst[j] = f(pa[ao + j * sa], pb[bo + j * sb]);
      }
      return;
    }
  }
}

template <typename T>
void binary_typed(BinaryOp op, const Tensor& a, const Tensor& b, const BroadcastPlan& plan,
                  Tensor& out) {
  switch (op) {
    case BinaryOp::kAdd: return binary_with<T>(functors::Add{}, a, b, plan, out);
    case BinaryOp::kSub: return binary_with<T>(functors::Sub{}, a, b, plan, out);
    case BinaryOp::kMul: return binary_with<T>(functors::Mul{}, a, b, plan, out);
    case BinaryOp::kMax: return binary_with<T>(functors::Max{}, a, b, plan, out);
    case BinaryOp::kDiv:
      if constexpr (std::is_integral_v<T>) {
        // Every element of b is used when the output is non-empty, so any zero divides.
        if (plan.num_elements > 0 && (ConstVec<T>(b.data<T>(), b.num_elements()) == T(0)).any())
          throw InvalidArgumentError("Integer division by zero");
        return binary_with<T>(SafeIntDiv{}, a, b, plan, out);
      } else {
        return binary_with<T>(functors::Div{}, a, b, plan, out);
      }
  }
  throw InvalidArgumentError("CPU binary: unknown op " + std::to_string(static_cast<int>(op)));
}

// ---- fill / copy ----

// Fills with a bit pattern of the element's size: covers every fixed-size dtype
// (bool, half and bfloat16 included) with four instantiations.
template <typename Bits>
void fill_bits(const Tensor& value, Tensor& out) {
  Bits v;
  std::memcpy(&v, value.raw_data(), sizeof(Bits));
  Vec<Bits>(static_cast<Bits*>(out.raw_data()), out.num_elements()).setConstant(v);
}

}  // namespace

void unary(Device&, UnaryOp op, const Tensor& x, Tensor& out) {
  check_same_elements("unary", x, out);
  switch (x.dtype()) {
    case DType::kFloat: return unary_typed<float>(op, x, out);
    case DType::kDouble: return unary_typed<double>(op, x, out);
    case DType::kInt32: return unary_typed<int32_t>(op, x, out);
    case DType::kInt64: return unary_typed<int64_t>(op, x, out);
    default: detail::unsupported_dtype("unary", x.dtype());
  }
}

void binary(Device&, BinaryOp op, const Tensor& a, const Tensor& b, const BroadcastPlan& plan,
            Tensor& out) {
  if (a.dtype() != b.dtype() || out.dtype() != a.dtype() ||
      out.num_elements() != plan.num_elements)
    throw InvalidArgumentError("CPU binary: operands " + a.debug_string() + " and " +
                               b.debug_string() + " do not match output " + out.debug_string());
  switch (a.dtype()) {
    case DType::kFloat: return binary_typed<float>(op, a, b, plan, out);
    case DType::kDouble: return binary_typed<double>(op, a, b, plan, out);
    case DType::kInt32: return binary_typed<int32_t>(op, a, b, plan, out);
    case DType::kInt64: return binary_typed<int64_t>(op, a, b, plan, out);
    default: detail::unsupported_dtype("binary", a.dtype());
  }
}

void fill(Device&, const Tensor& value, Tensor& out) {
  if (value.dtype() != out.dtype() || value.num_elements() != 1)
    throw InvalidArgumentError("CPU fill: value " + value.debug_string() +
                               " is not one element of the output's dtype " +
                               dtype_name(out.dtype()));
  if (out.dtype() == DType::kString) {
    const std::string& v = *value.data<std::string>();
    std::string* p = out.data<std::string>();
    for (int64_t i = 0; i < out.num_elements(); ++i) p[i] = v;
    return;
  }
  switch (dtype_size(out.dtype())) {
    case 1: return fill_bits<uint8_t>(value, out);
    case 2: return fill_bits<uint16_t>(value, out);
    case 4: return fill_bits<uint32_t>(value, out);
    case 8: return fill_bits<uint64_t>(value, out);
    default: detail::unsupported_dtype("fill", out.dtype());
  }
}

void copy(Device&, const Tensor& src, Tensor& dst) {
  check_same_elements("copy", src, dst);
  if (src.shares_buffer_with(dst) || src.num_elements() == 0) return;
  if (src.dtype() == DType::kString) {
    const std::string* s = src.data<std::string>();
    std::string* d = dst.data<std::string>();
    for (int64_t i = 0; i < src.num_elements(); ++i) d[i] = s[i];
    return;
  }
  std::memcpy(dst.raw_data(), src.raw_data(), src.bytes());
}

}  // namespace kiln::kernels::cpu

// CPU cast primitive: element conversion between any two non-string dtypes.
//
// Contract (kernels/primitives.h): out is preallocated with x's element count. Rules:
//  - to bool: nonzero -> true (NaN is nonzero); from bool: false/true -> 0/1;
//  - float16/bfloat16 convert through float32 (core/dtype.h, round-to-nearest-even), so
//    float64 -> float16 rounds twice, as TensorFlow's Eigen::half conversion does;
//  - floating -> integer truncates toward zero; NaN gives 0 and values beyond the target's
//    range saturate to its lowest/max. C++ leaves those cases undefined; saturation is what the
//    CUDA conversion instructions do, so CPU and GPU agree;
//  - integer -> integer wraps modulo 2^bits (two's complement), as static_cast does.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "kernels/cpu/cpu_primitives.h"

namespace kiln::kernels::cpu {
namespace {

template <typename T>
constexpr bool is_16bit_float = std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;

// The arithmetic value of an element: 16-bit floats become float, the rest stay as they are.
template <typename From>
auto widen(From x) {
  if constexpr (is_16bit_float<From>) {
    return static_cast<float>(x);
  } else {
    return x;
  }
}

template <typename To, typename V>
To narrow(V v) {
  if constexpr (std::is_same_v<To, bool>) {
    return v != V(0);
  } else if constexpr (is_16bit_float<To>) {
    return To(static_cast<float>(v));
  } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<V>) {
    if (std::isnan(v)) return To(0);
    // Compare in V: lowest() is a power of two, exact in any float type; max() + 1 likewise,
    // and anything >= it (not > max(), which may round up to max() + 1) is out of range.
    const V lo = static_cast<V>(std::numeric_limits<To>::lowest());
    const V hi = static_cast<V>(std::numeric_limits<To>::max() / 2 + 1) * V(2);
    if (v <= lo) return std::numeric_limits<To>::lowest();
    if (v >= hi) return std::numeric_limits<To>::max();
    return static_cast<To>(v);
  } else {
    return static_cast<To>(v);
  }
}

template <typename From, typename To>
void cast_typed(const Tensor& x, Tensor& out) {
  const From* in = x.data<From>();
  std::transform(in, in + x.num_elements(), out.data<To>(),
                 [](From v) { return narrow<To>(widen(v)); });
}

// Calls f(T{}) with the C++ type of a non-string dtype.
template <typename F>
void visit_dtype(DType dtype, F&& f) {
  switch (dtype) {
    case DType::kFloat: return f(float{});
    case DType::kDouble: return f(double{});
    case DType::kInt32: return f(int32_t{});
    case DType::kUInt8: return f(uint8_t{});
    case DType::kInt16: return f(int16_t{});
    case DType::kInt8: return f(int8_t{});
    case DType::kInt64: return f(int64_t{});
    case DType::kBool: return f(bool{});
    case DType::kBFloat16: return f(BFloat16{});
    case DType::kHalf: return f(Half{});
    default: detail::unsupported_dtype("cast", dtype);
  }
}

}  // namespace

void cast(Device&, const Tensor& x, Tensor& out) {
  if (x.num_elements() != out.num_elements())
    throw InvalidArgumentError("CPU cast: output " + out.debug_string() +
                               " does not match input " + x.debug_string());
  visit_dtype(x.dtype(), [&](auto from) {
    visit_dtype(out.dtype(), [&](auto to) {
      cast_typed<decltype(from), decltype(to)>(x, out);
    });
  });
}

}  // namespace kiln::kernels::cpu

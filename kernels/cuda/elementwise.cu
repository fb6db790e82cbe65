// CUDA unary, binary (numpy broadcasting), cast, fill and copy primitives.
//
// Contract: kernels/primitives.h and kernels/cuda/cuda_primitives.h. Dtypes as on the CPU:
// unary float32/float64 (Neg/Square also int32/int64); binary float32/float64/int32/int64;
// cast between any two non-string dtypes with the CPU's rules (kernels/cpu/cast.cc): 16-bit
// floats go through float32 with round-to-nearest-even, float -> integer truncates with NaN -> 0
// and saturation at the target's range, integer -> integer wraps, nonzero -> true; fill and
// copy take every non-string dtype. Integer division by zero gives an unspecified quotient
// (no trap, no error), lowest / -1 wraps to lowest as on the CPU.
//
// Design: every contiguous case is one grid-stride kernel (pack_kernel) over "packs" of
// 16 bytes of the widest operand (float4, double2, ...), so each load and store is a single
// 128-bit instruction; each thread keeps kUnroll packs in flight to cover HBM latency. The
// elements after the last whole pack (or all of them, if a pointer is not pack-aligned) are done
// one at a time by the same kernel. The general broadcast case runs through the same kernel,
// decoding the merged dims of the BroadcastPlan once per pack, with 32-bit index math when the
// output has fewer than 2^31 elements.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>

#include "core/cuda_check.h"
#include "core/errors.h"
#include "core/gpu.h"
#include "kernels/cuda/cuda_primitives.h"
#include "kernels/functors.h"

namespace kiln::kernels::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kUnroll = 4;  // packs per thread per loop trip

cudaStream_t stream_of(const Device& device) { return static_cast<cudaStream_t>(device.stream()); }


// Blocks for a grid-stride loop over `work` thread-items: enough to do it in one pass, capped
// at 4 waves of fully resident blocks (8 blocks of 256 threads per SM) so huge tensors loop
// instead of launching millions of blocks.
unsigned blocks_for(const Device& device, int64_t work) {
  const int64_t want = (work + kThreads - 1) / kThreads;
  const int64_t cap = int64_t{gpu::multiprocessor_count(device.gpu_ordinal())} * 32;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min(want, cap)));
}

bool aligned(const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

// ---- element storage types ----

// 16-bit floats move as their bits; arithmetic goes through float (cuda_fp16/cuda_bf16).
struct F16 { uint16_t bits; };
struct BF16 { uint16_t bits; };

template <typename T, int N>
struct alignas(sizeof(T) * N) Pack {
  T v[N];
};

// Elements per 16-byte pack of the widest of the types.
template <typename... Ts>
constexpr int pack_size() {
  constexpr size_t widest = std::max({sizeof(Ts)...});
  return widest >= 16 ? 1 : static_cast<int>(16 / widest);
}

// ---- the contiguous kernel ----
//
// An Op provides: N (elements per pack), Loaded (what load returns), load(p) of pack p,
// store(p, loaded) computing and writing pack p, and apply(i) doing element i alone.
// Loads of all kUnroll packs are issued before any store so they overlap in flight.
template <typename Op>
__global__ void __launch_bounds__(kThreads)
pack_kernel(Op op, int64_t packs, int64_t first_single, int64_t n) {
  const int64_t stride = int64_t{gridDim.x} * kThreads * kUnroll;
  for (int64_t base = int64_t{blockIdx.x} * kThreads * kUnroll + threadIdx.x; base < packs;
       base += stride) {
    typename Op::Loaded v[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t p = base + u * kThreads;
      if (p < packs) v[u] = op.load(p);
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t p = base + u * kThreads;
      if (p < packs) op.store(p, v[u]);
    }
  }
  for (int64_t i = first_single + int64_t{blockIdx.x} * kThreads + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * kThreads)
    op.apply(i);
}

// Runs `op` over n elements; `packable` says every pointer of op is aligned to its pack size.
template <typename Op>
void launch(const Device& device, const Op& op, int64_t n, bool packable) {
  if (n == 0) return;
  const int64_t packs = packable ? n / Op::N : 0;
  const int64_t first_single = packs * Op::N;
  const int64_t work = std::max((packs + kUnroll - 1) / kUnroll, n - first_single);
  pack_kernel<<<blocks_for(device, work), kThreads, 0, stream_of(device)>>>(op, packs,
                                                                          first_single, n);
  KILN_CUDA_CHECK(cudaGetLastError());
}

// y = f(x), x and y of possibly different types (unary ops and casts).
template <typename In, typename Out, typename F>
struct MapOp {
  static constexpr int N = pack_size<In, Out>();
  using Loaded = Pack<In, N>;
  const In* x;
  Out* y;
  F f;
  __device__ Loaded load(int64_t p) const { return reinterpret_cast<const Loaded*>(x)[p]; }
  __device__ void store(int64_t p, const Loaded& in) const {
    Pack<Out, N> out;
#pragma unroll
    for (int k = 0; k < N; ++k) out.v[k] = f(in.v[k]);
    reinterpret_cast<Pack<Out, N>*>(y)[p] = out;
  }
  __device__ void apply(int64_t i) const { y[i] = f(x[i]); }
};

template <typename In, typename Out, typename F>
void launch_map(const Device& device, F f, const In* x, Out* y, int64_t n) {
  using Op = MapOp<In, Out, F>;
  const bool packable = aligned(x, sizeof(In) * Op::N) && aligned(y, sizeof(Out) * Op::N);
  launch(device, Op{x, y, f}, n, packable);
}

// y = f(a, b), same shape.
template <typename T, typename F>
struct ZipOp {
  static constexpr int N = pack_size<T>();
  struct Loaded { Pack<T, N> a, b; };
  const T* a;
  const T* b;
  T* y;
  F f;
  __device__ Loaded load(int64_t p) const {
    return {reinterpret_cast<const Pack<T, N>*>(a)[p], reinterpret_cast<const Pack<T, N>*>(b)[p]};
  }
  __device__ void store(int64_t p, const Loaded& in) const {
    Pack<T, N> out;
#pragma unroll
    for (int k = 0; k < N; ++k) out.v[k] = f(in.a.v[k], in.b.v[k]);
    reinterpret_cast<Pack<T, N>*>(y)[p] = out;
  }
  __device__ void apply(int64_t i) const { y[i] = f(a[i], b[i]); }
};

// y = f(*s, x) (kScalarFirst) or f(x, *s). The scalar stays in device memory (reading it on the
// host would need a sync); every thread re-reads it, which hits in L1.
template <typename T, typename F, bool kScalarFirst>
struct ScalarOp {
  static constexpr int N = pack_size<T>();
  using Loaded = Pack<T, N>;
  const T* s;
  const T* x;
  T* y;
  F f;
  __device__ T g(T v, T sv) const { return kScalarFirst ? f(sv, v) : f(v, sv); }
  __device__ Loaded load(int64_t p) const { return reinterpret_cast<const Loaded*>(x)[p]; }
  __device__ void store(int64_t p, const Loaded& in) const {
    const T sv = *s;
    Loaded out;
#pragma unroll
    for (int k = 0; k < N; ++k) out.v[k] = g(in.v[k], sv);
    reinterpret_cast<Loaded*>(y)[p] = out;
  }
  __device__ void apply(int64_t i) const { y[i] = g(x[i], *s); }
};

// y = value, as a bit pattern of the element size.
template <typename E>
struct FillOp {
  static constexpr int N = pack_size<E>();
  struct Loaded {};
  E value;
  E* y;
  __device__ Loaded load(int64_t) const { return {}; }
  __device__ void store(int64_t p, const Loaded&) const {
    Pack<E, N> out;
#pragma unroll
    for (int k = 0; k < N; ++k) out.v[k] = value;
    reinterpret_cast<Pack<E, N>*>(y)[p] = out;
  }
  __device__ void apply(int64_t i) const { y[i] = value; }
};

// ---- general broadcasting ----

// y = f(a[off_a(i)], b[off_b(i)]) with the offsets decoded from the BroadcastPlan, held in
// index type I (32-bit when the output has < 2^31 elements: GPU integer division is slow) and
// innermost dimension first. Packs run along the innermost dimension, so the index is decoded
// once per pack; they are used only when that dimension is a multiple of N, so a pack never
// crosses a row: an operand present along the row (stride 1) is then a pack-aligned vector
// load, a broadcast one (stride 0) one scalar load.
template <typename T, typename F, typename I>
struct BroadcastOp {
  static constexpr int N = pack_size<T>();
  struct Loaded { Pack<T, N> a, b; };
  int rank;
  I dims[kMaxBroadcastRank];
  I a_strides[kMaxBroadcastRank];
  I b_strides[kMaxBroadcastRank];
  const T* a;
  const T* b;
  T* y;
  F f;

  __device__ void offsets(I i, I* ao, I* bo) const {
    I rest = i, oa = 0, ob = 0;
#pragma unroll
    for (int d = 0; d < kMaxBroadcastRank; ++d) {
      if (d == rank) break;
      const I idx = rest % dims[d];
      rest /= dims[d];
      oa += idx * a_strides[d];
      ob += idx * b_strides[d];
    }
    *ao = oa;
    *bo = ob;
  }
  __device__ static Pack<T, N> load_pack(const T* p, I off, I inner_stride) {
    if (inner_stride != 0) return *reinterpret_cast<const Pack<T, N>*>(p + off);
    Pack<T, N> r;
    const T v = p[off];
#pragma unroll
    for (int k = 0; k < N; ++k) r.v[k] = v;
    return r;
  }
  __device__ Loaded load(int64_t p) const {
    I ao, bo;
    offsets(static_cast<I>(p * N), &ao, &bo);
    return {load_pack(a, ao, a_strides[0]), load_pack(b, bo, b_strides[0])};
  }
  __device__ void store(int64_t p, const Loaded& in) const {
    Pack<T, N> out;
#pragma unroll
    for (int k = 0; k < N; ++k) out.v[k] = f(in.a.v[k], in.b.v[k]);
    reinterpret_cast<Pack<T, N>*>(y)[p] = out;
  }
  __device__ void apply(int64_t i) const {
    I ao, bo;
    offsets(static_cast<I>(i), &ao, &bo);
    y[i] = f(a[ao], b[bo]);
  }
};

template <typename T, typename F, typename I>
void launch_broadcast(const Device& device, const BroadcastPlan& plan, const T* a, const T* b,
                      T* y, F f) {
  using Op = BroadcastOp<T, F, I>;
  Op op{};
  op.rank = plan.rank;
  for (int d = 0; d < plan.rank; ++d) {
    const int src = plan.rank - 1 - d;
    op.dims[d] = static_cast<I>(plan.out_dims[src]);
    op.a_strides[d] = static_cast<I>(plan.a_strides[src]);
    op.b_strides[d] = static_cast<I>(plan.b_strides[src]);
  }
  op.a = a;
  op.b = b;
  op.y = y;
  op.f = f;
  constexpr size_t kPack = sizeof(Pack<T, Op::N>);
  // The innermost merged dimension is never broadcast in both operands, so one of the two
  // inner strides is 1; a stride-1 operand's row starts are multiples of dims[0].
  const bool packable = op.dims[0] % Op::N == 0 && aligned(y, kPack) &&
                        (op.a_strides[0] == 0 || aligned(a, kPack)) &&
                        (op.b_strides[0] == 0 || aligned(b, kPack));
  launch(device, op, plan.num_elements, packable);
}

// Integer division that never traps: lowest / -1 wraps (two's complement negation).
struct IntDiv {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    using U = std::make_unsigned_t<T>;
    if (b == T(-1)) return static_cast<T>(U(0) - static_cast<U>(a));
    return a / b;
  }
};

template <typename T, typename F>
void binary_with(const Device& device, F f, const T* a, const T* b, const BroadcastPlan& plan,
                 T* y) {
  const int64_t n = plan.num_elements;
  if (n == 0) return;
  constexpr size_t kPack = sizeof(Pack<T, pack_size<T>()>);
  switch (plan.kind) {
    case BroadcastPlan::kSameShape:
      return launch(device, ZipOp<T, F>{a, b, y, f}, n,
                    aligned(a, kPack) && aligned(b, kPack) && aligned(y, kPack));
    case BroadcastPlan::kScalarA:
      return launch(device, ScalarOp<T, F, true>{a, b, y, f}, n,
                    aligned(b, kPack) && aligned(y, kPack));
    case BroadcastPlan::kScalarB:
      return launch(device, ScalarOp<T, F, false>{b, a, y, f}, n,
                    aligned(a, kPack) && aligned(y, kPack));
    case BroadcastPlan::kGeneral:
      // The last element offset in a and b is below n, so n's type suffices for all indices.
      if (n <= std::numeric_limits<int32_t>::max())
        return launch_broadcast<T, F, uint32_t>(device, plan, a, b, y, f);
      return launch_broadcast<T, F, int64_t>(device, plan, a, b, y, f);
  }
}

template <typename T>
void binary_typed(const Device& device, BinaryOp op, const Tensor& a, const Tensor& b,
                  const BroadcastPlan& plan, Tensor& out) {
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  T* py = out.data<T>();
  switch (op) {
    case BinaryOp::kAdd: return binary_with(device, functors::Add{}, pa, pb, plan, py);
    case BinaryOp::kSub: return binary_with(device, functors::Sub{}, pa, pb, plan, py);
    case BinaryOp::kMul: return binary_with(device, functors::Mul{}, pa, pb, plan, py);
    case BinaryOp::kMax: return binary_with(device, functors::Max{}, pa, pb, plan, py);
    case BinaryOp::kDiv:
      if constexpr (std::is_integral_v<T>) return binary_with(device, IntDiv{}, pa, pb, plan, py);
      else return binary_with(device, functors::Div{}, pa, pb, plan, py);
  }
  throw InvalidArgumentError("CUDA binary: unknown op " + std::to_string(static_cast<int>(op)));
}

// ---- unary ----

template <typename T>
void unary_typed(const Device& device, UnaryOp op, const Tensor& x, Tensor& out) {
  const T* px = x.data<T>();
  T* py = out.data<T>();
  const int64_t n = x.num_elements();
  switch (op) {
    case UnaryOp::kNeg: return launch_map(device, functors::Neg{}, px, py, n);
    case UnaryOp::kSquare: return launch_map(device, functors::Square{}, px, py, n);
    default: break;
  }
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case UnaryOp::kSqrt: return launch_map(device, functors::Sqrt{}, px, py, n);
      case UnaryOp::kExp: return launch_map(device, functors::Exp{}, px, py, n);
      case UnaryOp::kLog: return launch_map(device, functors::Log{}, px, py, n);
      case UnaryOp::kRelu: return launch_map(device, functors::Relu{}, px, py, n);
      case UnaryOp::kSigmoid: return launch_map(device, functors::Sigmoid{}, px, py, n);
      case UnaryOp::kTanh: return launch_map(device, functors::Tanh{}, px, py, n);
      case UnaryOp::kIdentity: return launch_map(device, functors::Identity{}, px, py, n);
      default: break;
    }
  }
  throw InvalidArgumentError(std::string("CUDA unary op ") +
                             std::to_string(static_cast<int>(op)) + " does not support dtype " +
                             dtype_name(x.dtype()));
}

// ---- cast ----

template <typename T>
__device__ auto widen(T x) { return x; }
__device__ float widen(F16 h) { return __half2float(__ushort_as_half(h.bits)); }
__device__ float widen(BF16 h) { return __bfloat162float(__ushort_as_bfloat16(h.bits)); }

template <typename To, typename V>
__device__ To narrow(V v) {
  if constexpr (std::is_same_v<To, bool>) {
    return v != V(0);
  } else if constexpr (std::is_same_v<To, F16>) {
    return F16{__half_as_ushort(__float2half_rn(static_cast<float>(v)))};
  } else if constexpr (std::is_same_v<To, BF16>) {
    return BF16{__bfloat16_as_ushort(__float2bfloat16_rn(static_cast<float>(v)))};
  } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<V>) {
    // Explicit NaN and range handling: the C++ conversion is undefined there, and the CPU
    // primitive saturates the same way.
    if (v != v) return To(0);
    const V lo = static_cast<V>(std::numeric_limits<To>::lowest());
    const V hi = static_cast<V>(std::numeric_limits<To>::max() / 2 + 1) * V(2);  // max + 1
    if (v <= lo) return std::numeric_limits<To>::lowest();
    if (v >= hi) return std::numeric_limits<To>::max();
    return static_cast<To>(v);
  } else {
    return static_cast<To>(v);
  }
}

template <typename From, typename To>
struct Convert {
  __device__ To operator()(From x) const { return narrow<To>(widen(x)); }
};

// Calls f(T{}) with the kernel storage type of a non-string dtype.
template <typename F>
void visit_cast_type(DType dtype, F&& f) {
  switch (dtype) {
    case DType::kFloat: return f(float{});
    case DType::kDouble: return f(double{});
    case DType::kInt32: return f(int32_t{});
    case DType::kUInt8: return f(uint8_t{});
    case DType::kInt16: return f(int16_t{});
    case DType::kInt8: return f(int8_t{});
    case DType::kInt64: return f(int64_t{});
    case DType::kBool: return f(bool{});
    case DType::kBFloat16: return f(BF16{});
    case DType::kHalf: return f(F16{});
    default:
      throw InvalidArgumentError(std::string("CUDA cast does not support dtype ") +
                                 dtype_name(dtype));
  }
}

void check_same_elements(const char* what, const Tensor& in, const Tensor& out) {
  if (in.dtype() != out.dtype() || in.num_elements() != out.num_elements())
    throw InvalidArgumentError(std::string("CUDA ") + what + ": output " + out.debug_string() +
                               " does not match input " + in.debug_string());
}

}  // namespace

void unary(Device& device, UnaryOp op, const Tensor& x, Tensor& out) {
  check_same_elements("unary", x, out);
  gpu::set_device(device.gpu_ordinal());
  switch (x.dtype()) {
    case DType::kFloat: return unary_typed<float>(device, op, x, out);
    case DType::kDouble: return unary_typed<double>(device, op, x, out);
    case DType::kInt32: return unary_typed<int32_t>(device, op, x, out);
    case DType::kInt64: return unary_typed<int64_t>(device, op, x, out);
    default:
      throw InvalidArgumentError(std::string("CUDA unary does not support dtype ") +
                                 dtype_name(x.dtype()));
  }
}

void binary(Device& device, BinaryOp op, const Tensor& a, const Tensor& b,
            const BroadcastPlan& plan, Tensor& out) {
  if (a.dtype() != b.dtype() || out.dtype() != a.dtype() ||
      out.num_elements() != plan.num_elements)
    throw InvalidArgumentError("CUDA binary: operands " + a.debug_string() + " and " +
                               b.debug_string() + " do not match output " + out.debug_string());
  gpu::set_device(device.gpu_ordinal());
  switch (a.dtype()) {
    case DType::kFloat: return binary_typed<float>(device, op, a, b, plan, out);
    case DType::kDouble: return binary_typed<double>(device, op, a, b, plan, out);
    case DType::kInt32: return binary_typed<int32_t>(device, op, a, b, plan, out);
    case DType::kInt64: return binary_typed<int64_t>(device, op, a, b, plan, out);
    default:
      throw InvalidArgumentError(std::string("CUDA binary does not support dtype ") +
                                 dtype_name(a.dtype()));
  }
}

void cast(Device& device, const Tensor& x, Tensor& out) {
  if (x.num_elements() != out.num_elements())
    throw InvalidArgumentError("CUDA cast: output " + out.debug_string() +
                               " does not match input " + x.debug_string());
  if (x.dtype() == out.dtype()) return copy(device, x, out);
  gpu::set_device(device.gpu_ordinal());
  const int64_t n = x.num_elements();
  visit_cast_type(x.dtype(), [&](auto from) {
    visit_cast_type(out.dtype(), [&](auto to) {
      using From = decltype(from);
      using To = decltype(to);
      launch_map(device, Convert<From, To>{}, static_cast<const From*>(x.raw_data()),
                 static_cast<To*>(out.raw_data()), n);
    });
  });
}

void fill(Device& device, const Tensor& value, Tensor& out) {
  if (value.dtype() != out.dtype() || value.num_elements() != 1 || !value.on_host() ||
      out.dtype() == DType::kString)
    throw InvalidArgumentError("CUDA fill: value " + value.debug_string() +
                               " is not one host element of the output's dtype " +
                               dtype_name(out.dtype()));
  const size_t size = dtype_size(out.dtype());
  if (out.num_elements() == 0) return;
  gpu::set_device(device.gpu_ordinal());
  unsigned char bytes[8] = {};
  std::memcpy(bytes, value.raw_data(), size);
  // One repeated byte (zeros, all-ones, any bool or 8-bit value) is a plain memset.
  if (std::all_of(bytes, bytes + size, [&](unsigned char c) { return c == bytes[0]; })) {
    KILN_CUDA_CHECK(cudaMemsetAsync(out.raw_data(), bytes[0], out.bytes(), stream_of(device)));
    return;
  }
  auto fill_as = [&](auto tag) {
    using E = decltype(tag);
    E v;
    std::memcpy(&v, bytes, sizeof(E));
    E* y = static_cast<E*>(out.raw_data());
    launch(device, FillOp<E>{v, y}, out.num_elements(),
           aligned(y, sizeof(Pack<E, FillOp<E>::N>)));
  };
  switch (size) {
    case 2: return fill_as(uint16_t{});
    case 4: return fill_as(uint32_t{});
    case 8: return fill_as(uint64_t{});
    default:
      throw InvalidArgumentError(std::string("CUDA fill does not support dtype ") +
                                 dtype_name(out.dtype()));
  }
}

void copy(Device& device, const Tensor& src, Tensor& dst) {
  check_same_elements("copy", src, dst);
  if (src.dtype() == DType::kString)
    throw InvalidArgumentError("CUDA copy: string tensors live on the host only");
  if (src.bytes() == 0 || src.raw_data() == dst.raw_data()) return;
  gpu::set_device(device.gpu_ordinal());
  KILN_CUDA_CHECK(cudaMemcpyAsync(dst.raw_data(), src.raw_data(), src.bytes(),
                                  cudaMemcpyDeviceToDevice, stream_of(device)));
}

}  // namespace kiln::kernels::cuda

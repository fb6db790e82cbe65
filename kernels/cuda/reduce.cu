// CUDA reduce, transpose, softmax and sparse softmax cross-entropy primitives.
//
// Contract: kernels/primitives.h and kernels/cuda/cuda_primitives.h, with the CPU's edge cases
// (kernels/cpu/reduce.cc): an empty reduction gives 0 for kSum, NaN (floats) or 0 (ints) for
// kMean, -inf (floats) or lowest() (ints) for kMax; kMax propagates NaN (functors::Max).
// Every result is deterministic: same input, same bits, run after run (no atomics).
//
// Design:
//  - reduce uses CUB. outer*inner == 1: cub::DeviceReduce. inner == 1: DeviceSegmentedReduce
//    over contiguous rows. Otherwise DeviceSegmentedReduce over virtual segments: a counting
//    iterator transformed so that element j of segment (o, i) reads x[(o*reduced + j)*inner + i]
//    (strided, uncoalesced reads: ~0.5 TB/s on an H200 for a [65536, 1024] column sum, fine
//    for bias-gradient shapes of small batches; a coalesced two-pass kernel is the upgrade).
//    kMean sums, then a small kernel divides. CUB's temporary storage is a uint8 tensor from the
//    device's caching allocator, which is ordered on the same stream, so dropping it right after
//    enqueueing is safe.
//  - transpose drops size-1 dims and merges dims that stay adjacent, then either copies
//    (identity), runs a 32x32 shared-memory tiled kernel for (batched) 2-D transposes, or a
//    generic gather kernel (each thread decodes its output index). Elements move as bit patterns
//    of their size (1, 2, 4, 8 bytes).
//  - softmax / sparse_xent: one warp per row for rows of <= 1024 columns, the row held in
//    registers (shuffle reductions, 4 rows per 128-thread block), so x is read once; longer rows
//    get one 512-thread block each (warp shuffles + shared memory across warps) and three passes
//    over the row (max, sum of exp(x - max), output), the later ones mostly from L2.
#include <cuda_runtime.h>

#include <cub/device/device_reduce.cuh>
#include <cub/device/device_segmented_reduce.cuh>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>

#include <algorithm>
#include <cstdint>
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

cudaStream_t stream_of(const Device& device) { return static_cast<cudaStream_t>(device.stream()); }


// Blocks for a grid-stride loop over `items` work items of `per_block` each, capped at a few
// waves of resident blocks; kernels loop over what does not fit.
unsigned blocks_for(const Device& device, int64_t items, int64_t per_block) {
  const int64_t want = (items + per_block - 1) / per_block;
  const int64_t cap = int64_t{gpu::multiprocessor_count(device.gpu_ordinal())} * 32;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min(want, cap)));
}

[[noreturn]] void unsupported(const char* primitive, DType dtype) {
  throw InvalidArgumentError(std::string("CUDA ") + primitive + " does not support dtype " +
                             dtype_name(dtype));
}

// ============================================================================ reduce ====

template <typename T>
__global__ void set_kernel(T* y, int64_t n, T value) {
  for (int64_t i = int64_t{blockIdx.x} * kThreads + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * kThreads)
    y[i] = value;
}

template <typename T>
__global__ void divide_kernel(T* y, int64_t n, T divisor) {
  for (int64_t i = int64_t{blockIdx.x} * kThreads + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * kThreads)
    y[i] = y[i] / divisor;
}

// Start offset of segment s of length `len` (segments are laid end to end).
struct SegmentStart {
  int64_t len;
  __host__ __device__ int64_t operator()(int64_t s) const { return s * len; }
};

// Element k of the virtual concatenation of segments (o, i), each `reduced` long, read from x
// viewed as [outer, reduced, inner].
template <typename T>
struct StridedRead {
  const T* x;
  int64_t reduced;
  int64_t inner;
  __host__ __device__ T operator()(int64_t k) const {
    const int64_t s = k / reduced, j = k - s * reduced;
    const int64_t o = s / inner, i = s - o * inner;
    return x[(o * reduced + j) * inner + i];
  }
};

// Runs a CUB algorithm `call(temp, bytes)` twice: size query, then for real with temporary
// storage from the device's caching allocator.
template <typename Call>
void with_cub_temp(Device& device, Call call) {
  size_t bytes = 0;
  KILN_CUDA_CHECK(call(nullptr, bytes));
  // At least one byte: a null temp pointer would make CUB answer a size query again.
  Tensor temp(DType::kUInt8, Shape{static_cast<int64_t>(std::max<size_t>(bytes, 1))},
              device.allocator(), device.spec());
  KILN_CUDA_CHECK(call(temp.raw_data(), bytes));
}

// Column reduction, x [outer, reduced, inner] -> out [outer, inner] with inner > 1: CUB's
// segmented reduce would read each segment with stride `inner` (uncoalesced, ~0.5 TB/s), so
// this kernel walks rows with a warp spanning 32 adjacent columns instead. A block is 32 columns
// x kColRows row lanes over one chunk of rows; the row lanes combine in shared memory in a fixed
// order, so the result is deterministic. With several chunks per column the partials land in
// `partial` [chunks, outer, inner] and a second launch reduces them the same way.
constexpr int kColRows = 8;

template <typename T, typename Op>
__global__ void __launch_bounds__(32 * kColRows)
column_reduce_kernel(const T* x, int64_t outer, int64_t reduced, int64_t inner, int64_t rows_per_chunk,
                     Op op, T init, T* out) {
  __shared__ T lanes[kColRows][32];
  const int64_t col = blockIdx.x * 32 + threadIdx.x;
  const int64_t o = blockIdx.y;
  const int64_t chunk = blockIdx.z;
  const int64_t begin = chunk * rows_per_chunk;
  const int64_t end = begin + rows_per_chunk < reduced ? begin + rows_per_chunk : reduced;
  T acc = init;
  if (col < inner) {
    const T* base = x + o * reduced * inner + col;
    for (int64_t j = begin + threadIdx.y; j < end; j += kColRows) acc = op(acc, base[j * inner]);
  }
  lanes[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && col < inner) {
    for (int r = 1; r < kColRows; ++r) acc = op(acc, lanes[r][threadIdx.x]);
    out[(chunk * outer + o) * inner + col] = acc;
  }
}

template <typename T, typename Op>
void column_reduce(Device& device, Op op, T init, const T* x, ReduceShape s, T* out) {
  cudaStream_t stream = stream_of(device);
  const int64_t col_blocks = (s.inner + 31) / 32;
  // Enough chunks to give every SM several blocks, but at least 64 rows per chunk.
  const int64_t want_blocks = int64_t{gpu::multiprocessor_count(device.gpu_ordinal())} * 8;
  int64_t chunks = (want_blocks + col_blocks * s.outer - 1) / (col_blocks * s.outer);
  chunks = std::max<int64_t>(1, std::min<int64_t>(chunks, (s.reduced + 63) / 64));
  chunks = std::min<int64_t>(chunks, 65535);
  const int64_t rows_per_chunk = (s.reduced + chunks - 1) / chunks;
  if (s.outer > 65535) {
    // Grid y is limited; fall back to CUB's strided segmented reduce for such shapes.
    auto starts = thrust::make_transform_iterator(thrust::counting_iterator<int64_t>(0),
                                                  SegmentStart{s.reduced});
    auto in = thrust::make_transform_iterator(thrust::counting_iterator<int64_t>(0),
                                              StridedRead<T>{x, s.reduced, s.inner});
    with_cub_temp(device, [&](void* temp, size_t& bytes) {
      return cub::DeviceSegmentedReduce::Reduce(temp, bytes, in, out, s.outer * s.inner, starts,
                                                starts + 1, op, init, stream);
    });
    return;
  }
  const dim3 block(32, kColRows);
  if (chunks == 1) {
    column_reduce_kernel<<<dim3(col_blocks, s.outer, 1), block, 0, stream>>>(
        x, s.outer, s.reduced, s.inner, rows_per_chunk, op, init, out);
    KILN_CUDA_CHECK(cudaGetLastError());
    return;
  }
  Tensor partial(DTypeOf<T>::value, Shape{chunks, s.outer, s.inner}, device.allocator(),
                 device.spec());
  T* p = partial.data<T>();
  column_reduce_kernel<<<dim3(col_blocks, s.outer, chunks), block, 0, stream>>>(
      x, s.outer, s.reduced, s.inner, rows_per_chunk, op, init, p);
  KILN_CUDA_CHECK(cudaGetLastError());
  const int64_t n = s.outer * s.inner;  // second pass: [1, chunks, n] -> [1, n]
  column_reduce_kernel<<<dim3((n + 31) / 32, 1, 1), block, 0, stream>>>(p, 1, chunks, n, chunks, op,
                                                                         init, out);
  KILN_CUDA_CHECK(cudaGetLastError());
}

template <typename T, typename Op>
void cub_reduce(Device& device, Op op, T init, const T* x, ReduceShape s, T* out) {
  cudaStream_t stream = stream_of(device);
  if (s.outer * s.inner == 1) {
    with_cub_temp(device, [&](void* temp, size_t& bytes) {
      return cub::DeviceReduce::Reduce(temp, bytes, x, out, s.reduced, op, init, stream);
    });
    return;
  }
  auto starts = thrust::make_transform_iterator(thrust::counting_iterator<int64_t>(0),
                                                SegmentStart{s.reduced});
  const int64_t segments = s.outer * s.inner;
  if (s.inner == 1) {
    with_cub_temp(device, [&](void* temp, size_t& bytes) {
      return cub::DeviceSegmentedReduce::Reduce(temp, bytes, x, out, segments, starts,
                                                starts + 1, op, init, stream);
    });
    return;
  }
  column_reduce(device, op, init, x, s, out);
}

template <typename T>
void reduce_typed(Device& device, ReduceOp op, const T* x, ReduceShape s, T* out) {
  const int64_t n_out = s.outer * s.inner;
  if (n_out == 0) return;
  const unsigned blocks = blocks_for(device, n_out, kThreads);
  if (s.reduced == 0) {
    set_kernel<<<blocks, kThreads, 0, stream_of(device)>>>(out, n_out, empty_reduce_result<T>(op));
    KILN_CUDA_CHECK(cudaGetLastError());
    return;
  }
  switch (op) {
    case ReduceOp::kSum:
    case ReduceOp::kMean:
      cub_reduce(device, functors::Add{}, T(0), x, s, out);
      break;
    case ReduceOp::kMax:
      cub_reduce(device, functors::Max{}, empty_reduce_result<T>(ReduceOp::kMax), x, s, out);
      break;
  }
  if (op == ReduceOp::kMean) {
    divide_kernel<<<blocks, kThreads, 0, stream_of(device)>>>(out, n_out,
                                                              static_cast<T>(s.reduced));
    KILN_CUDA_CHECK(cudaGetLastError());
  }
}

// ========================================================================= transpose ====

constexpr int kTile = 32;
constexpr int kTileRows = 8;  // block is kTile x kTileRows; each thread moves kTile/kTileRows

// x [batch, rows, cols] -> y [batch, cols, rows] through 32x32 shared-memory tiles, so both
// the reads and the writes are coalesced; the +1 column of padding avoids bank conflicts.
template <typename E>
__global__ void __launch_bounds__(kTile * kTileRows)
tiled_transpose_kernel(const E* x, E* y, int64_t batch, int64_t rows, int64_t cols) {
  __shared__ E tile[kTile][kTile + 1];
  const int64_t tiles_r = (rows + kTile - 1) / kTile, tiles_c = (cols + kTile - 1) / kTile;
  const int64_t total = batch * tiles_r * tiles_c;
  for (int64_t t = blockIdx.x; t < total; t += gridDim.x) {
    const int64_t tc = t % tiles_c, rest = t / tiles_c;
    const int64_t tr = rest % tiles_r, b = rest / tiles_r;
    const E* xb = x + b * rows * cols;
    E* yb = y + b * rows * cols;
    const int64_t r0 = tr * kTile, c0 = tc * kTile;
#pragma unroll
    for (int k = 0; k < kTile; k += kTileRows) {
      const int64_t r = r0 + threadIdx.y + k, c = c0 + threadIdx.x;
      if (r < rows && c < cols) tile[threadIdx.y + k][threadIdx.x] = xb[r * cols + c];
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kTile; k += kTileRows) {
      const int64_t c = c0 + threadIdx.y + k, r = r0 + threadIdx.x;
      if (c < cols && r < rows) yb[c * rows + r] = tile[threadIdx.x][threadIdx.y + k];
    }
    __syncthreads();  // the tile is refilled on the next trip
  }
}

constexpr int kMaxTransposeRank = 8;

// Output dims (innermost first) and the input stride of each, in index type I.
template <typename I>
struct Gather {
  int rank;
  I dims[kMaxTransposeRank];
  I strides[kMaxTransposeRank];
};

template <typename E, typename I>
__global__ void __launch_bounds__(kThreads) gather_kernel(Gather<I> g, const E* x, E* y, I n) {
  const I stride = static_cast<I>(gridDim.x) * kThreads;
  for (I i = static_cast<I>(blockIdx.x) * kThreads + threadIdx.x; i < n; i += stride) {
    I rest = i, off = 0;
#pragma unroll
    for (int d = 0; d < kMaxTransposeRank; ++d) {
      if (d == g.rank) break;
      off += (rest % g.dims[d]) * g.strides[d];
      rest /= g.dims[d];
    }
    y[i] = x[off];
  }
}

template <typename E, typename I>
void launch_gather(Device& device, const std::vector<int64_t>& dims,
                   const std::vector<int64_t>& strides, const void* x, void* y, int64_t n) {
  Gather<I> g{};
  g.rank = static_cast<int>(dims.size());
  for (int d = 0; d < g.rank; ++d) {
    g.dims[d] = static_cast<I>(dims[g.rank - 1 - d]);
    g.strides[d] = static_cast<I>(strides[g.rank - 1 - d]);
  }
  gather_kernel<E, I><<<blocks_for(device, n, kThreads), kThreads, 0, stream_of(device)>>>(
      g, static_cast<const E*>(x), static_cast<E*>(y), static_cast<I>(n));
  KILN_CUDA_CHECK(cudaGetLastError());
}

// dims/strides: the simplified output dims (outermost first) and their input strides.
template <typename E>
void transpose_typed(Device& device, const std::vector<int64_t>& dims,
                     const std::vector<int64_t>& strides, const void* x, void* y, int64_t n) {
  const size_t r = dims.size();
  // Output [.., C, R] with input strides (.., 1, C): input [.., R, C], a (batched) 2-D transpose.
  const bool two_d = r == 2 && strides[0] == 1 && strides[1] == dims[0];
  const bool batched = r == 3 && strides[1] == 1 && strides[2] == dims[1] &&
                       strides[0] == dims[1] * dims[2];
  if (two_d || batched) {
    const int64_t batch = batched ? dims[0] : 1;
    const int64_t out_rows = dims[r - 2], out_cols = dims[r - 1];
    const int64_t tiles = batch * ((out_rows + kTile - 1) / kTile) * ((out_cols + kTile - 1) / kTile);
    tiled_transpose_kernel<E><<<blocks_for(device, tiles, 1), dim3(kTile, kTileRows), 0,
                                stream_of(device)>>>(static_cast<const E*>(x),
                                                     static_cast<E*>(y), batch, out_cols,
                                                     out_rows);
    KILN_CUDA_CHECK(cudaGetLastError());
    return;
  }
  if (n <= std::numeric_limits<int32_t>::max())
    return launch_gather<E, uint32_t>(device, dims, strides, x, y, n);
  launch_gather<E, int64_t>(device, dims, strides, x, y, n);
}

// ======================================================================= softmax ====

constexpr int kWarpRowsPerBlock = 4;   // warp-per-row kernel: 128-thread blocks
constexpr int kBlockRowThreads = 512;  // block-per-row kernel
constexpr int64_t kWarpRowMaxCols = 1024;

template <typename T, typename Op>
__device__ T warp_allreduce(T v, Op op) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// Reduces v over the block (one row); every thread gets the result.
template <typename T, typename Op>
__device__ T block_allreduce(T v, Op op, T* smem) {
  v = warp_allreduce(v, op);
  if (threadIdx.x % 32 == 0) smem[threadIdx.x / 32] = v;
  __syncthreads();
  v = smem[0];
  for (int w = 1; w < kBlockRowThreads / 32; ++w) v = op(v, smem[w]);
  __syncthreads();  // smem is reused by the next reduction
  return v;
}

// The last step for one element j of a row once its max m and sum of exp(x - m) are known:
// softmax (labels == nullptr) writes e / sum; sparse cross-entropy writes the backprop
// e / sum - onehot(label), or NaN for the whole row when the label is out of range (as TF's GPU
// kernel: no error can be raised from the device).
template <typename T>
__device__ T softmax_output(T e, T sum, int64_t j, int64_t label, bool has_labels,
                            bool label_ok) {
  if (!has_labels) return e / sum;
  if (!label_ok) return std::numeric_limits<T>::quiet_NaN();
  return e / sum - (j == label ? T(1) : T(0));
}

template <typename T, typename L>
__device__ void write_loss(const T* xr, int64_t row, int64_t label, bool label_ok, T m, T sum,
                           T* loss) {
  loss[row] = label_ok ? ::log(sum) - (xr[label] - m) : std::numeric_limits<T>::quiet_NaN();
}

// One warp per row of x [rows, cols <= 32 * kPerLane], the row held in registers (lane l keeps
// elements l, l + 32, ...: coalesced loads), so x is read once and out written once.
template <typename T, typename L, int kPerLane>
__global__ void __launch_bounds__(32 * kWarpRowsPerBlock)
softmax_warp_kernel(const T* x, int64_t rows, int64_t cols, T* out, const L* labels, T* loss) {
  const functors::Max max_op;
  const functors::Add add_op;
  const functors::Exp exp_op;
  const int lane = threadIdx.x % 32;
  for (int64_t row = int64_t{blockIdx.x} * kWarpRowsPerBlock + threadIdx.x / 32; row < rows;
       row += int64_t{gridDim.x} * kWarpRowsPerBlock) {
    const T* xr = x + row * cols;
    T* yr = out + row * cols;
    // All loads first, then the max: functors::Max branches (NaN checks), and loads interleaved
    // with those branches would be issued one after another instead of all at once.
    const T lowest = -std::numeric_limits<T>::infinity();
    T v[kPerLane];
#pragma unroll
    for (int k = 0; k < kPerLane; ++k) v[k] = lane + 32 * k < cols ? xr[lane + 32 * k] : lowest;
    T m = lowest;
#pragma unroll
    for (int k = 0; k < kPerLane; ++k) m = max_op(m, v[k]);
    m = warp_allreduce(m, max_op);
    T sum = T(0);
#pragma unroll
    for (int k = 0; k < kPerLane; ++k) {
      if (lane + 32 * k < cols) {
        v[k] = exp_op(v[k] - m);
        sum += v[k];
      }
    }
    sum = warp_allreduce(sum, add_op);
    const int64_t label = labels ? static_cast<int64_t>(labels[row]) : 0;
    const bool label_ok = label >= 0 && label < cols;
#pragma unroll
    for (int k = 0; k < kPerLane; ++k) {
      const int64_t j = lane + 32 * k;
      if (j < cols) yr[j] = softmax_output(v[k], sum, j, label, labels != nullptr, label_ok);
    }
    if (labels && lane == 0) write_loss<T, L>(xr, row, label, label_ok, m, sum, loss);
  }
}

// One block per row for long rows: three passes (max, sum of exp, output); the second and third
// read the row again, mostly from L2.
template <typename T, typename L>
__global__ void __launch_bounds__(kBlockRowThreads)
softmax_block_kernel(const T* x, int64_t rows, int64_t cols, T* out, const L* labels, T* loss) {
  __shared__ T smem[kBlockRowThreads / 32];
  const functors::Max max_op;
  const functors::Add add_op;
  const functors::Exp exp_op;
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* xr = x + row * cols;
    T* yr = out + row * cols;
    // Loads in groups of kGroup ahead of the max, as in the warp kernel.
    constexpr int kGroup = 4;
    const T lowest = -std::numeric_limits<T>::infinity();
    T m = lowest;
    for (int64_t j0 = threadIdx.x; j0 < cols; j0 += kGroup * kBlockRowThreads) {
      T t[kGroup];
#pragma unroll
      for (int u = 0; u < kGroup; ++u) {
        const int64_t j = j0 + u * kBlockRowThreads;
        t[u] = j < cols ? xr[j] : lowest;
      }
#pragma unroll
      for (int u = 0; u < kGroup; ++u) m = max_op(m, t[u]);
    }
    m = block_allreduce(m, max_op, smem);
    T sum = T(0);
    for (int64_t j = threadIdx.x; j < cols; j += kBlockRowThreads) sum += exp_op(xr[j] - m);
    sum = block_allreduce(sum, add_op, smem);
    const int64_t label = labels ? static_cast<int64_t>(labels[row]) : 0;
    const bool label_ok = label >= 0 && label < cols;
    for (int64_t j = threadIdx.x; j < cols; j += kBlockRowThreads)
      yr[j] = softmax_output(exp_op(xr[j] - m), sum, j, label, labels != nullptr, label_ok);
    if (labels && threadIdx.x == 0) write_loss<T, L>(xr, row, label, label_ok, m, sum, loss);
  }
}

template <typename T, typename L, int kPerLane>
void launch_softmax_warp(Device& device, const T* x, int64_t rows, int64_t cols, T* out,
                         const L* labels, T* loss) {
  softmax_warp_kernel<T, L, kPerLane><<<blocks_for(device, rows, kWarpRowsPerBlock),
                                        32 * kWarpRowsPerBlock, 0, stream_of(device)>>>(
      x, rows, cols, out, labels, loss);
}

// Softmax of x [rows, cols] into out; with labels, `out` is the cross-entropy backprop and
// `loss` [rows] the loss.
template <typename T, typename L>
void launch_softmax(Device& device, const T* x, int64_t rows, int64_t cols, T* out,
                    const L* labels, T* loss) {
  if (rows == 0) return;
  if (cols <= 32) launch_softmax_warp<T, L, 1>(device, x, rows, cols, out, labels, loss);
  else if (cols <= 128) launch_softmax_warp<T, L, 4>(device, x, rows, cols, out, labels, loss);
  else if (cols <= 256) launch_softmax_warp<T, L, 8>(device, x, rows, cols, out, labels, loss);
  else if (cols <= 512) launch_softmax_warp<T, L, 16>(device, x, rows, cols, out, labels, loss);
  else if (cols <= kWarpRowMaxCols)
    launch_softmax_warp<T, L, 32>(device, x, rows, cols, out, labels, loss);
  else
    softmax_block_kernel<T, L><<<blocks_for(device, rows, 1), kBlockRowThreads, 0,
                                 stream_of(device)>>>(x, rows, cols, out, labels, loss);
  KILN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void reduce(Device& device, ReduceOp op, const Tensor& x, ReduceShape shape, Tensor& out) {
  if (shape.outer < 0 || shape.reduced < 0 || shape.inner < 0 ||
      x.num_elements() != shape.outer * shape.reduced * shape.inner ||
      out.num_elements() != shape.outer * shape.inner || out.dtype() != x.dtype())
    throw InvalidArgumentError("CUDA reduce: " + x.debug_string() + " -> " +
                               out.debug_string() + " does not match [outer " +
                               std::to_string(shape.outer) + ", reduced " +
                               std::to_string(shape.reduced) + ", inner " +
                               std::to_string(shape.inner) + "]");
  gpu::set_device(device.gpu_ordinal());
  switch (x.dtype()) {
    case DType::kFloat:
      return reduce_typed(device, op, x.data<float>(), shape, out.data<float>());
    case DType::kDouble:
      return reduce_typed(device, op, x.data<double>(), shape, out.data<double>());
    case DType::kInt32:
      return reduce_typed(device, op, x.data<int32_t>(), shape, out.data<int32_t>());
    case DType::kInt64:
      return reduce_typed(device, op, x.data<int64_t>(), shape, out.data<int64_t>());
    default: unsupported("reduce", x.dtype());
  }
}

void transpose(Device& device, const Tensor& x, const std::vector<int>& perm, Tensor& out) {
  const int rank = x.rank();
  std::vector<bool> seen(rank, false);
  bool ok = static_cast<int>(perm.size()) == rank && out.rank() == rank &&
            out.dtype() == x.dtype() && x.dtype() != DType::kString;
  for (int d = 0; ok && d < rank; ++d) {
    const int p = perm[d];
    ok = p >= 0 && p < rank && !seen[p] && out.dim(d) == x.dim(p);
    if (ok) seen[p] = true;
  }
  if (!ok) {
    std::string p;
    for (int v : perm) {
      if (!p.empty()) p += ',';
      p += std::to_string(v);
    }
    throw InvalidArgumentError("CUDA transpose: perm [" + p + "] does not take " +
                               x.debug_string() + " to " + out.debug_string());
  }
  const int64_t n = x.num_elements();
  if (n == 0) return;
  // Output dims with their input strides; size-1 dims dropped, and an output dim merged into the
  // previous one when they are also adjacent (in that order) in the input.
  std::vector<int64_t> in_strides(rank, 1);
  for (int d = rank - 2; d >= 0; --d) in_strides[d] = in_strides[d + 1] * x.dim(d + 1);
  std::vector<int64_t> dims, strides;
  for (int d = 0; d < rank; ++d) {
    const int64_t size = x.dim(perm[d]), stride = in_strides[perm[d]];
    if (size == 1) continue;
    if (!dims.empty() && strides.back() == stride * size) {
      dims.back() *= size;
      strides.back() = stride;
    } else {
      dims.push_back(size);
      strides.push_back(stride);
    }
  }
  gpu::set_device(device.gpu_ordinal());
  if (dims.size() <= 1) {  // the elements keep their order: a plain copy
    KILN_CUDA_CHECK(cudaMemcpyAsync(out.raw_data(), x.raw_data(), x.bytes(),
                                    cudaMemcpyDeviceToDevice, stream_of(device)));
    return;
  }
  if (dims.size() > static_cast<size_t>(kMaxTransposeRank))
    throw InvalidArgumentError("CUDA transpose supports at most " +
                               std::to_string(kMaxTransposeRank) + " dimensions, got " +
                               x.debug_string());
  const void* in = x.raw_data();
  void* o = out.raw_data();
  switch (dtype_size(x.dtype())) {
    case 1: return transpose_typed<uint8_t>(device, dims, strides, in, o, n);
    case 2: return transpose_typed<uint16_t>(device, dims, strides, in, o, n);
    case 4: return transpose_typed<uint32_t>(device, dims, strides, in, o, n);
    case 8: return transpose_typed<uint64_t>(device, dims, strides, in, o, n);
    default: unsupported("transpose", x.dtype());
  }
}

void softmax(Device& device, const Tensor& logits, Tensor& out) {
  if (out.dtype() != logits.dtype() || out.num_elements() != logits.num_elements())
    throw InvalidArgumentError("CUDA softmax: output " + out.debug_string() +
                               " does not match logits " + logits.debug_string());
  const int64_t cols = logits.rank() == 0 ? 1 : logits.dim(-1);
  if (cols == 0 || logits.num_elements() == 0) return;
  const int64_t rows = logits.num_elements() / cols;
  gpu::set_device(device.gpu_ordinal());
  switch (logits.dtype()) {
    case DType::kFloat:
      return launch_softmax<float, int32_t>(device, logits.data<float>(), rows, cols,
                                            out.data<float>(), nullptr, nullptr);
    case DType::kDouble:
      return launch_softmax<double, int32_t>(device, logits.data<double>(), rows, cols,
                                             out.data<double>(), nullptr, nullptr);
    default: unsupported("softmax", logits.dtype());
  }
}

void sparse_xent(Device& device, const Tensor& logits, const Tensor& labels, Tensor& loss,
                 Tensor& backprop) {
  if (logits.rank() != 2 || labels.rank() != 1 || labels.dim(0) != logits.dim(0) ||
      loss.num_elements() != logits.dim(0) || loss.dtype() != logits.dtype() ||
      backprop.dtype() != logits.dtype() || backprop.num_elements() != logits.num_elements())
    throw InvalidArgumentError("CUDA sparse_xent: logits " + logits.debug_string() +
                               ", labels " + labels.debug_string() + ", loss " +
                               loss.debug_string() + " and backprop " +
                               backprop.debug_string() + " do not match");
  const int64_t rows = logits.dim(0), cols = logits.dim(1);
  gpu::set_device(device.gpu_ordinal());
  auto run = [&](auto value_tag, auto label_tag) {
    using T = decltype(value_tag);
    using L = decltype(label_tag);
    launch_softmax<T, L>(device, logits.data<T>(), rows, cols, backprop.data<T>(),
                         labels.data<L>(), loss.data<T>());
  };
  auto with_labels = [&](auto value_tag) {
    switch (labels.dtype()) {
      case DType::kInt32: return run(value_tag, int32_t{});
      case DType::kInt64: return run(value_tag, int64_t{});
      default: unsupported("sparse_xent labels", labels.dtype());
    }
  };
  switch (logits.dtype()) {
    case DType::kFloat: return with_labels(float{});
    case DType::kDouble: return with_labels(double{});
    default: unsupported("sparse_xent", logits.dtype());
  }
}

}  // namespace kiln::kernels::cuda

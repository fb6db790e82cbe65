// CPU softmax and sparse softmax cross-entropy primitives (float32/float64).
//
// softmax contract: logits viewed as [rows, cols] (cols = last dimension; a scalar is 1x1),
// out[r, c] = exp(x[r, c] - max_r) / sum_c exp(x[r, c] - max_r). Subtracting the row maximum
// keeps exp() from overflowing, so huge logits still give a finite distribution.
// sparse_xent contract: logits [batch, classes], labels [batch] int32/int64, loss [batch],
// backprop [batch, classes]; loss[b] = logsumexp(logits[b]) - logits[b, labels[b]] and
// backprop = softmax(logits) - onehot(labels). Every label is checked before anything is
// written: one outside [0, classes) throws TensorFlow's InvalidArgumentError message.
#include <Eigen/Core>

#include <string>

#include "kernels/cpu/cpu_primitives.h"

namespace kiln::kernels::cpu {
namespace {

template <typename T>
using RowArray = Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using Column = Eigen::Array<T, Eigen::Dynamic, 1>;

template <typename T>
void softmax_typed(const T* logits, int64_t rows, int64_t cols, T* out) {
  Eigen::Map<const RowArray<T>> x(logits, rows, cols);
  Eigen::Map<RowArray<T>> y(out, rows, cols);
  const Column<T> row_max = x.rowwise().maxCoeff();
  y = (x.colwise() - row_max).exp();
  const Column<T> row_sum = y.rowwise().sum();
  y.colwise() /= row_sum;
}

template <typename T, typename L>
void xent_typed(const T* logits, const L* labels, int64_t batch, int64_t classes, T* loss,
                T* backprop) {
  Eigen::Map<const RowArray<T>> x(logits, batch, classes);
  Eigen::Map<RowArray<T>> bp(backprop, batch, classes);
  const Column<T> row_max = x.rowwise().maxCoeff();
  bp = x.colwise() - row_max;  // shifted logits, all <= 0
  const Column<T> log_sum = bp.exp().rowwise().sum().log();
  // log_softmax[b, l] = shifted[b, l] - log_sum[b]; the loss is its negation at the label.
  for (int64_t r = 0; r < batch; ++r) loss[r] = log_sum[r] - bp(r, labels[r]);
  bp = (bp.colwise() - log_sum).exp();
  for (int64_t r = 0; r < batch; ++r) bp(r, labels[r]) -= T(1);
}

template <typename L>
void check_labels(const L* labels, int64_t batch, int64_t classes) {
  for (int64_t r = 0; r < batch; ++r) {
    if (labels[r] >= 0 && labels[r] < classes) continue;
    std::string all;
    for (int64_t i = 0; i < batch; ++i) all += (i ? " " : "") + std::to_string(labels[i]);
    throw InvalidArgumentError("Received a label value of " + std::to_string(labels[r]) +
                               " which is outside the valid range of [0, " +
                               std::to_string(classes) + ").  Label values: " + all);
  }
}

template <typename T>
void xent_dispatch_labels(const Tensor& logits, const Tensor& labels, Tensor& loss,
                          Tensor& backprop) {
  const int64_t batch = logits.dim(0), classes = logits.dim(1);
  switch (labels.dtype()) {
    case DType::kInt32:
      check_labels(labels.data<int32_t>(), batch, classes);
      if (batch * classes == 0) return;
      return xent_typed(logits.data<T>(), labels.data<int32_t>(), batch, classes,
                        loss.data<T>(), backprop.data<T>());
    case DType::kInt64:
      check_labels(labels.data<int64_t>(), batch, classes);
      if (batch * classes == 0) return;
      return xent_typed(logits.data<T>(), labels.data<int64_t>(), batch, classes,
                        loss.data<T>(), backprop.data<T>());
    default: detail::unsupported_dtype("sparse_xent labels", labels.dtype());
  }
}

}  // namespace

void softmax(Device&, const Tensor& logits, Tensor& out) {
  if (out.dtype() != logits.dtype() || out.num_elements() != logits.num_elements())
    throw InvalidArgumentError("CPU softmax: output " + out.debug_string() +
                               " does not match logits " + logits.debug_string());
  const int64_t cols = logits.rank() > 0 ? logits.dim(logits.rank() - 1) : 1;
  if (logits.num_elements() == 0) return;  // also covers cols == 0 (no max of an empty row)
  const int64_t rows = logits.num_elements() / cols;
  switch (logits.dtype()) {
    case DType::kFloat: return softmax_typed(logits.data<float>(), rows, cols, out.data<float>());
    case DType::kDouble:
      return softmax_typed(logits.data<double>(), rows, cols, out.data<double>());
    default: detail::unsupported_dtype("softmax", logits.dtype());
  }
}

void sparse_xent(Device&, const Tensor& logits, const Tensor& labels, Tensor& loss,
                 Tensor& backprop) {
  bool ok = logits.rank() == 2 && labels.rank() == 1 && labels.dim(0) == logits.dim(0) &&
            loss.dtype() == logits.dtype() && backprop.dtype() == logits.dtype() &&
            loss.num_elements() == logits.dim(0) &&
            backprop.num_elements() == logits.num_elements();
  if (!ok)
    throw InvalidArgumentError("CPU sparse_xent: logits " + logits.debug_string() +
                               ", labels " + labels.debug_string() + ", loss " +
                               loss.debug_string() + ", backprop " + backprop.debug_string() +
                               " do not fit together");
  switch (logits.dtype()) {
    case DType::kFloat: return xent_dispatch_labels<float>(logits, labels, loss, backprop);
    case DType::kDouble: return xent_dispatch_labels<double>(logits, labels, loss, backprop);
    default: detail::unsupported_dtype("sparse_xent", logits.dtype());
  }
}

}  // namespace kiln::kernels::cpu

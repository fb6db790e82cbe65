#include "core/tensor.h"

#include <cstring>
#include <new>
#include <ostream>

#include "core/gpu.h"

namespace kiln {

TensorBuffer::TensorBuffer(Allocator* allocator, DType dtype, int64_t num_elements)
    : allocator_(allocator), dtype_(dtype), num_elements_(num_elements),
      bytes_(static_cast<size_t>(num_elements) * dtype_size(dtype)),
      data_(allocator->allocate(bytes_)) {
  if (dtype_ == DType::kString) {
    if (allocator_->kind() != MemoryKind::kHost) {
      allocator_->deallocate(data_, bytes_);
      throw InvalidArgumentError("String tensors can only live in host memory");
    }
    auto* s = static_cast<std::string*>(data_);
    for (int64_t i = 0; i < num_elements_; ++i) new (s + i) std::string();
  }
}

TensorBuffer::~TensorBuffer() {
  if (dtype_ == DType::kString) {
    auto* s = static_cast<std::string*>(data_);
    for (int64_t i = 0; i < num_elements_; ++i) s[i].~basic_string();
  }
  allocator_->deallocate(data_, bytes_);
}

namespace {

void check_shape(DType dtype, const Shape& shape) {
  if (!shape.fully_defined())
    throw InvalidArgumentError("A tensor needs a fully defined shape, got " + shape.to_string());
  if (dtype_size(dtype) == 0)
    throw InvalidArgumentError("Cannot allocate a tensor of dtype " +
                               std::to_string(static_cast<int>(dtype)));
}

}  // namespace

Tensor::Tensor(DType dtype, const Shape& shape)
    : Tensor(dtype, shape, host_allocator(), DeviceSpec::cpu(0)) {}

Tensor::Tensor(DType dtype, const Shape& shape, Allocator* allocator, DeviceSpec device)
    : dtype_(dtype), shape_(shape), device_(device) {
  check_shape(dtype, shape);
  buffer_ = std::make_shared<TensorBuffer>(allocator, dtype, shape.num_elements());
}

Tensor Tensor::of_strings(const std::vector<std::string>& values, const Shape& shape) {
  if (shape.num_elements() != static_cast<int64_t>(values.size()))
    throw InvalidArgumentError("Tensor shape " + shape.to_string() + " needs " +
                               std::to_string(shape.num_elements()) + " strings, got " +
                               std::to_string(values.size()));
  Tensor t(DType::kString, shape);
  std::string* out = t.data<std::string>();
  for (size_t i = 0; i < values.size(); ++i) out[i] = values[i];
  return t;
}

bool Tensor::on_host() const { return allocator()->kind() == MemoryKind::kHost; }

void Tensor::check_type(DType expected) const {
  if (expected != dtype_)
    throw InvalidArgumentError(std::string("Tensor has dtype ") + dtype_name(dtype_) +
                               ", accessed as " + dtype_name(expected));
}

Tensor Tensor::to_host() const {
  if (!valid() || on_host()) return *this;
  return copy_to(host_allocator(), DeviceSpec::cpu(0));
}

Tensor Tensor::copy_to(Allocator* allocator, DeviceSpec device) const {
  Tensor out(dtype_, shape_, allocator, device);
  if (dtype_ == DType::kString) {
    const std::string* src = data<std::string>();
    std::string* dst = out.data<std::string>();
    for (int64_t i = 0; i < num_elements(); ++i) dst[i] = src[i];
    return out;
  }
  size_t n = bytes();
  if (n == 0) return out;
  Allocator* src_alloc = this->allocator();
  bool src_host = src_alloc->kind() == MemoryKind::kHost;
  bool dst_host = allocator->kind() == MemoryKind::kHost;
  if (src_host && dst_host) {
    std::memcpy(out.raw_data(), raw_data(), n);
  } else if (src_host) {
    gpu::copy_host_to_device(out.raw_data(), raw_data(), n, allocator->gpu_ordinal(),
                             allocator->stream());
    gpu::synchronize(allocator->stream());
  } else if (dst_host) {
    gpu::copy_device_to_host(out.raw_data(), raw_data(), n, src_alloc->gpu_ordinal(),
                             src_alloc->stream());
  } else {
    // Order after the producer's stream, then copy on the consumer's stream and wait, so neither
    // caching allocator can hand the bytes out again while the copy runs.
    gpu::synchronize(src_alloc->stream());
    gpu::copy_device_to_device(out.raw_data(), allocator->gpu_ordinal(), raw_data(),
                               src_alloc->gpu_ordinal(), n, allocator->stream());
    gpu::synchronize(allocator->stream());
  }
  return out;
}

Tensor Tensor::clone() const { return copy_to(allocator(), device_); }

Tensor Tensor::reshaped(const Shape& shape) const {
  if (!shape.fully_defined() || shape.num_elements() != num_elements())
    throw InvalidArgumentError("Cannot reshape a tensor with " + std::to_string(num_elements()) +
                               " elements to shape " + shape.to_string());
  Tensor t = *this;
  t.shape_ = shape;
  return t;
}

std::string Tensor::debug_string() const {
  return std::string("Tensor<") + dtype_name(dtype_) + " " + shape_.to_string() + " " +
         device_.short_name() + ">";
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.to_string(); }

}  // namespace kiln

// Tensor: a dtype, a shape and a reference-counted buffer on a device.
//
// Copying a Tensor shares its buffer (like tf.Tensor handles); clone() copies the bytes.
// Host tensors (CPU) can be read and written through data<T>(); a GPU tensor's data<T>() is a
// device pointer. to_host()/to_device() copy across. String tensors live on the host only.
// A tensor's device is the logical device it was made for (e.g. /cpu:3 of a session with four
// logical CPUs); its memory comes from that device's allocator.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "core/allocator.h"
#include "core/device_spec.h"
#include "core/dtype.h"
#include "core/errors.h"
#include "core/shape.h"

namespace kiln {

// Owns the bytes of one tensor; frees them (destroying strings first) through its allocator.
class TensorBuffer {
 public:
  TensorBuffer(Allocator* allocator, DType dtype, int64_t num_elements);
  ~TensorBuffer();
  TensorBuffer(const TensorBuffer&) = delete;
  TensorBuffer& operator=(const TensorBuffer&) = delete;
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Allocator* allocator() const { return allocator_; }

 private:
  Allocator* allocator_;
  DType dtype_;
  int64_t num_elements_;
  size_t bytes_;
  void* data_;
};

class Tensor {
 public:
  Tensor() = default;  // an empty handle: valid() is false
  // Allocates an uninitialized host tensor (strings are empty).
  Tensor(DType dtype, const Shape& shape);
  // Allocates on `device` through `allocator`.
  Tensor(DType dtype, const Shape& shape, Allocator* allocator, DeviceSpec device);

  template <typename T>
  static Tensor scalar(T value) {
    Tensor t(DTypeOf<T>::value, Shape{});
    *t.data<T>() = value;
    return t;
  }
  // A host tensor holding `values` in row-major order; `shape` defaults to [values.size()].
  template <typename T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape);
  template <typename T>
  static Tensor from_vector(const std::vector<T>& values) {
    return from_vector(values, Shape{static_cast<int64_t>(values.size())});
  }
  template <typename T>
  static Tensor of(std::initializer_list<T> values, const Shape& shape) {
    return from_vector(std::vector<T>(values), shape);
  }
  static Tensor of_strings(const std::vector<std::string>& values, const Shape& shape);

  bool valid() const { return buffer_ != nullptr || dtype_ != DType::kInvalid; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  int64_t dim(int i) const { return shape_.dim(i); }
  int64_t num_elements() const { return shape_.num_elements(); }
  size_t bytes() const { return static_cast<size_t>(num_elements()) * dtype_size(dtype_); }
  DeviceSpec device() const { return device_; }
  bool on_host() const;
  Allocator* allocator() const { return buffer_ ? buffer_->allocator() : host_allocator(); }

  void* raw_data() { return buffer_ ? buffer_->data() : nullptr; }
  const void* raw_data() const { return buffer_ ? buffer_->data() : nullptr; }
  // Typed pointer; throws InvalidArgumentError when T is not the tensor's dtype.
  template <typename T>
  T* data() {
    check_type(DTypeOf<T>::value);
    return static_cast<T*>(raw_data());
  }
  template <typename T>
  const T* data() const {
    check_type(DTypeOf<T>::value);
    return static_cast<const T*>(raw_data());
  }
  // Host copy of the elements (copies from the device when needed).
  template <typename T>
  std::vector<T> to_vector() const;
  // Value of a one-element tensor.
  template <typename T>
  T item() const;

  // Copy on the host (no copy when already there: shares the buffer).
  Tensor to_host() const;
  // Copy into `allocator` memory for `device` (synchronous).
  Tensor copy_to(Allocator* allocator, DeviceSpec device) const;
  // The same buffer labelled as living on `device` (logical CPU devices share host memory).
  // REQUIRES: the buffer's allocator is the one `device` uses.
  Tensor relabeled(DeviceSpec device) const {
    Tensor t = *this;
    t.device_ = device;
    return t;
  }
  // Deep copy on the same device.
  Tensor clone() const;
  // Same buffer viewed with another shape of the same element count.
  Tensor reshaped(const Shape& shape) const;
  // True when both tensors share one buffer.
  bool shares_buffer_with(const Tensor& o) const { return buffer_ == o.buffer_; }
  // True when no other Tensor handle shares this buffer (variables copy on write otherwise).
  bool buffer_is_unique() const { return buffer_.use_count() <= 1; }

  // numpy-like text: "[[1. 2.]\n [3. 4.]]".
  std::string to_string() const;
  // "Tensor<float32 [2,3] /cpu:0>".
  std::string debug_string() const;

 private:
  void check_type(DType expected) const;

  DType dtype_ = DType::kInvalid;
  Shape shape_;
  DeviceSpec device_;
  std::shared_ptr<TensorBuffer> buffer_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

template <typename T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape) {
  if (shape.num_elements() != static_cast<int64_t>(values.size()))
    throw InvalidArgumentError("Tensor shape " + shape.to_string() + " needs " +
                               std::to_string(shape.num_elements()) + " values, got " +
                               std::to_string(values.size()));
  Tensor t(DTypeOf<T>::value, shape);
  T* out = t.data<T>();
  for (size_t i = 0; i < values.size(); ++i) out[i] = values[i];
  return t;
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  check_type(DTypeOf<T>::value);
  Tensor host = to_host();
  const T* p = host.data<T>();
  return std::vector<T>(p, p + host.num_elements());
}

template <typename T>
T Tensor::item() const {
  if (num_elements() != 1)
    throw InvalidArgumentError("item() needs a one-element tensor, got shape " +
                               shape_.to_string());
  return to_vector<T>()[0];
}

}  // namespace kiln

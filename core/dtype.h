// Element types, numbered exactly as TensorFlow's DataType enum (types.proto), so a dtype can be
// written into a checkpoint or GraphDef without translation.
//
// float16/bfloat16 are 16-bit storage types with round-to-nearest-even conversion from float;
// strings are host-only tensors of std::string.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace kiln {

enum class DType : int {
  kInvalid = 0,
  kFloat = 1,
  kDouble = 2,
  kInt32 = 3,
  kUInt8 = 4,
  kInt16 = 5,
  kInt8 = 6,
  kString = 7,
  kInt64 = 9,
  kBool = 10,
  kBFloat16 = 14,
  kHalf = 19,
};

// Short aliases in the spirit of tf.float32.
inline constexpr DType float32 = DType::kFloat;
inline constexpr DType float64 = DType::kDouble;
inline constexpr DType float16 = DType::kHalf;
inline constexpr DType bfloat16 = DType::kBFloat16;
inline constexpr DType int8 = DType::kInt8;
inline constexpr DType int16 = DType::kInt16;
inline constexpr DType int32 = DType::kInt32;
inline constexpr DType int64 = DType::kInt64;
inline constexpr DType uint8 = DType::kUInt8;
inline constexpr DType boolean = DType::kBool;
inline constexpr DType string = DType::kString;

// IEEE binary16 storage.
struct Half {
  uint16_t bits = 0;
  Half() = default;
  explicit Half(float f);
  explicit operator float() const;
  static Half from_bits(uint16_t b) { Half h; h.bits = b; return h; }
};

// bfloat16 storage: the top 16 bits of a float32.
struct BFloat16 {
  uint16_t bits = 0;
  BFloat16() = default;
  explicit BFloat16(float f);
  explicit operator float() const;
  static BFloat16 from_bits(uint16_t b) { BFloat16 h; h.bits = b; return h; }
};

// Size in bytes of one element; strings report sizeof(std::string).
size_t dtype_size(DType dtype);
// numpy-style name: "float32", "int64", "string", ...
const char* dtype_name(DType dtype);
// TensorFlow's enum name: "DT_FLOAT", "DT_INT64", ...
const char* dtype_tf_name(DType dtype);
// TF's python name used in messages: "float", "double", "int32" (as DataTypeString prints).
const char* dtype_short_name(DType dtype);
// Parses "float32"/"float"/"DT_FLOAT"...; throws InvalidArgumentError on an unknown name.
DType dtype_from_name(const std::string& name);
// True for the dtypes kiln knows (the TF numbering above).
bool dtype_is_valid(int value);
bool dtype_is_floating(DType dtype);
bool dtype_is_integer(DType dtype);

// Maps a C++ type to its DType at compile time.
template <typename T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::kFloat; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::kDouble; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::kInt32; };
template <> struct DTypeOf<uint8_t> { static constexpr DType value = DType::kUInt8; };
template <> struct DTypeOf<int16_t> { static constexpr DType value = DType::kInt16; };
template <> struct DTypeOf<int8_t> { static constexpr DType value = DType::kInt8; };
template <> struct DTypeOf<std::string> { static constexpr DType value = DType::kString; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::kInt64; };
template <> struct DTypeOf<bool> { static constexpr DType value = DType::kBool; };
template <> struct DTypeOf<BFloat16> { static constexpr DType value = DType::kBFloat16; };
template <> struct DTypeOf<Half> { static constexpr DType value = DType::kHalf; };

}  // namespace kiln

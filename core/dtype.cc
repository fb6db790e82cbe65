#include "core/dtype.h"

#include <cstring>

#include "core/errors.h"

namespace kiln {

namespace {

uint32_t float_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
float bits_float(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }

struct DTypeInfo {
  DType dtype;
  size_t size;
  const char* name;
  const char* tf_name;
  const char* short_name;
};

constexpr DTypeInfo kInfos[] = {
    {DType::kFloat, 4, "float32", "DT_FLOAT", "float"},
    {DType::kDouble, 8, "float64", "DT_DOUBLE", "double"},
    {DType::kInt32, 4, "int32", "DT_INT32", "int32"},
    {DType::kUInt8, 1, "uint8", "DT_UINT8", "uint8"},
    {DType::kInt16, 2, "int16", "DT_INT16", "int16"},
    {DType::kInt8, 1, "int8", "DT_INT8", "int8"},
    {DType::kString, sizeof(std::string), "string", "DT_STRING", "string"},
    {DType::kInt64, 8, "int64", "DT_INT64", "int64"},
    {DType::kBool, 1, "bool", "DT_BOOL", "bool"},
    {DType::kBFloat16, 2, "bfloat16", "DT_BFLOAT16", "bfloat16"},
    {DType::kHalf, 2, "float16", "DT_HALF", "half"},
};

const DTypeInfo* find_info(DType dtype) {
  for (const auto& info : kInfos)
    if (info.dtype == dtype) return &info;
  return nullptr;
}

}  // namespace

Half::Half(float f) {
  // Round-to-nearest-even float32 -> binary16, with overflow to inf and NaN kept quiet.
  uint32_t x = float_bits(f);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // inf or nan
    bits = static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
    return;
  }
  if (abs >= 0x477ff000u) {  // rounds to >= 65520: overflow to inf
    bits = static_cast<uint16_t>(sign | 0x7c00u);
    return;
  }
  if (abs < 0x38800000u) {  // subnormal half (or zero): scale by 2^24 and round
    float scaled = bits_float(abs) * 16777216.0f;  // exact for these magnitudes
    // Round to nearest even integer (the current FP rounding mode is nearest-even).
    float r = scaled + 8388608.0f;  // 2^23 forces rounding to integer
    uint32_t m = float_bits(r) - float_bits(8388608.0f);
    bits = static_cast<uint16_t>(sign | m);
    return;
  }
  uint32_t mant_odd = (abs >> 13) & 1u;
  abs += 0xc8000fffu + mant_odd;  // rebias exponent (-112 << 23) and round
  bits = static_cast<uint16_t>(sign | (abs >> 13));
}

Half::operator float() const {
  uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  uint32_t exp = (bits >> 10) & 0x1fu;
  uint32_t mant = bits & 0x3ffu;
  if (exp == 0x1f) return bits_float(sign | 0x7f800000u | (mant << 13));
  if (exp == 0) {
    float v = static_cast<float>(mant) * (1.0f / 16777216.0f);  // mant * 2^-24
    return sign ? -v : v;
  }
  return bits_float(sign | ((exp + 112u) << 23) | (mant << 13));
}

BFloat16::BFloat16(float f) {
  uint32_t x = float_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) {  // NaN stays a quiet NaN
    bits = static_cast<uint16_t>((x >> 16) | 0x40u);
    return;
  }
  uint32_t rounding = 0x7fffu + ((x >> 16) & 1u);
  bits = static_cast<uint16_t>((x + rounding) >> 16);
}

BFloat16::operator float() const { return bits_float(static_cast<uint32_t>(bits) << 16); }

size_t dtype_size(DType dtype) {
  const DTypeInfo* info = find_info(dtype);
  return info ? info->size : 0;
}

const char* dtype_name(DType dtype) {
  const DTypeInfo* info = find_info(dtype);
  return info ? info->name : "invalid";
}

const char* dtype_tf_name(DType dtype) {
  const DTypeInfo* info = find_info(dtype);
  return info ? info->tf_name : "DT_INVALID";
}

const char* dtype_short_name(DType dtype) {
  const DTypeInfo* info = find_info(dtype);
  return info ? info->short_name : "invalid";
}

DType dtype_from_name(const std::string& name) {
  for (const auto& info : kInfos)
    if (name == info.name || name == info.tf_name || name == info.short_name) return info.dtype;
  throw InvalidArgumentError("Unknown dtype name '" + name + "'");
}

bool dtype_is_valid(int value) {
  return find_info(static_cast<DType>(value)) != nullptr;
}

bool dtype_is_floating(DType dtype) {
  return dtype == DType::kFloat || dtype == DType::kDouble || dtype == DType::kHalf ||
         dtype == DType::kBFloat16;
}

bool dtype_is_integer(DType dtype) {
  return dtype == DType::kInt32 || dtype == DType::kInt64 || dtype == DType::kInt16 ||
         dtype == DType::kInt8 || dtype == DType::kUInt8;
}

}  // namespace kiln

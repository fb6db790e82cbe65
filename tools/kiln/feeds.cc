#include "tools/kiln/feeds.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/errors.h"

namespace kiln::cli {

namespace {

using json = nlohmann::json;

// Shape of a rectangular nested array; throws on ragged input.
void collect(const json& j, size_t depth, std::vector<int64_t>* shape, std::vector<const json*>* leaves,
             const std::string& what) {
  if (!j.is_array()) {
    if (depth != shape->size())
      throw InvalidArgumentError(what + ": the array is ragged (a value where a list was expected)");
    leaves->push_back(&j);
    return;
  }
  if (depth == shape->size()) {
    if (!leaves->empty())
      throw InvalidArgumentError(what + ": the array is ragged (a list where a value was expected)");
    shape->push_back(static_cast<int64_t>(j.size()));
  } else if (depth > shape->size() || (*shape)[depth] != static_cast<int64_t>(j.size())) {
    throw InvalidArgumentError(what + ": the array is ragged (rows of different lengths)");
  }
  for (const auto& e : j) collect(e, depth + 1, shape, leaves, what);
}

template <typename T>
void store_number(const json& v, T* out, DType dtype, const std::string& what) {
  double d;
  if (v.is_boolean()) d = v.get<bool>() ? 1 : 0;
  else if (v.is_number_integer() && !std::is_floating_point_v<T>) {
    int64_t i = v.is_number_unsigned() ? static_cast<int64_t>(v.get<uint64_t>()) : v.get<int64_t>();
    if (i < static_cast<int64_t>(std::numeric_limits<T>::lowest()) ||
        i > static_cast<int64_t>(std::numeric_limits<T>::max()))
      throw InvalidArgumentError(what + ": " + v.dump() + " does not fit " + dtype_name(dtype));
    *out = static_cast<T>(i);
    return;
  } else if (v.is_number()) d = v.get<double>();
  else if (v.is_string() && std::is_floating_point_v<T>) {
    std::string s = v.get<std::string>();
    if (s == "nan") d = std::nan("");
    else if (s == "inf") d = INFINITY;
    else if (s == "-inf") d = -INFINITY;
    else throw InvalidArgumentError(what + ": \"" + s + "\" is not a number");
  } else {
    throw InvalidArgumentError(what + ": " + v.dump() + " is not a " + dtype_name(dtype) + " value");
  }
  if constexpr (std::is_floating_point_v<T>) {
    *out = static_cast<T>(d);
  } else {
    if (d != std::floor(d) || d < static_cast<double>(std::numeric_limits<T>::lowest()) ||
        d > static_cast<double>(std::numeric_limits<T>::max()))
      throw InvalidArgumentError(what + ": " + v.dump() + " is not a " + dtype_name(dtype) + " value");
    *out = static_cast<T>(d);
  }
}

// Applies f(T* data) with the C++ type of a numeric dtype.
template <typename F>
void with_numeric_type(DType dtype, const std::string& what, F f) {
  switch (dtype) {
    case DType::kFloat: f(static_cast<float*>(nullptr)); break;
    case DType::kDouble: f(static_cast<double*>(nullptr)); break;
    case DType::kInt8: f(static_cast<int8_t*>(nullptr)); break;
    case DType::kInt16: f(static_cast<int16_t*>(nullptr)); break;
    case DType::kInt32: f(static_cast<int32_t*>(nullptr)); break;
    case DType::kInt64: f(static_cast<int64_t*>(nullptr)); break;
    case DType::kUInt8: f(static_cast<uint8_t*>(nullptr)); break;
    default:
      throw InvalidArgumentError(what + ": cannot feed dtype " + dtype_name(dtype) + " from the command line");
  }
}

Tensor from_json(const json& j, DType dtype, const std::string& what) {
  std::vector<int64_t> shape;
  std::vector<const json*> leaves;
  collect(j, 0, &shape, &leaves, what);
  Tensor t(dtype, Shape(shape));
  const size_t n = leaves.size();
  if (dtype == DType::kString) {
    for (size_t i = 0; i < n; ++i) {
      if (!leaves[i]->is_string()) throw InvalidArgumentError(what + ": " + leaves[i]->dump() + " is not a string");
      t.data<std::string>()[i] = leaves[i]->get<std::string>();
    }
  } else if (dtype == DType::kBool) {
    for (size_t i = 0; i < n; ++i) {
      if (!leaves[i]->is_boolean()) throw InvalidArgumentError(what + ": " + leaves[i]->dump() + " is not true/false");
      t.data<bool>()[i] = leaves[i]->get<bool>();
    }
  } else if (dtype == DType::kHalf || dtype == DType::kBFloat16) {
    Tensor f = from_json(j, DType::kFloat, what);
    return convert_dtype(f, dtype, what);
  } else {
    with_numeric_type(dtype, what, [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      for (size_t i = 0; i < n; ++i) store_number(*leaves[i], t.data<T>() + i, dtype, what);
    });
  }
  return t;
}

double element_as_double(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::kFloat: return t.data<float>()[i];
    case DType::kDouble: return t.data<double>()[i];
    case DType::kHalf: return static_cast<float>(t.data<Half>()[i]);
    case DType::kBFloat16: return static_cast<float>(t.data<BFloat16>()[i]);
    case DType::kInt8: return t.data<int8_t>()[i];
    case DType::kInt16: return t.data<int16_t>()[i];
    case DType::kInt32: return t.data<int32_t>()[i];
    case DType::kInt64: return static_cast<double>(t.data<int64_t>()[i]);
    case DType::kUInt8: return t.data<uint8_t>()[i];
    case DType::kBool: return t.data<bool>()[i] ? 1 : 0;
    default: throw InvalidArgumentError(std::string("cannot convert ") + dtype_name(t.dtype()));
  }
}

}  // namespace

Tensor convert_dtype(const Tensor& value, DType dtype, const std::string& what) {
  Tensor v = value.to_host();
  if (v.dtype() == dtype) return v;
  if (v.dtype() == DType::kString || dtype == DType::kString)
    throw InvalidArgumentError(what + ": cannot convert " + dtype_name(v.dtype()) + " to " +
                               dtype_name(dtype));
  Tensor out(dtype, v.shape());
  const int64_t n = v.num_elements();
  if (dtype == DType::kInt64 && v.dtype() != DType::kInt64) {
    for (int64_t i = 0; i < n; ++i) out.data<int64_t>()[i] = static_cast<int64_t>(element_as_double(v, i));
    return out;
  }
  for (int64_t i = 0; i < n; ++i) {
    double d = element_as_double(v, i);
    switch (dtype) {
      case DType::kFloat: out.data<float>()[i] = static_cast<float>(d); break;
      case DType::kDouble: out.data<double>()[i] = d; break;
      case DType::kHalf: out.data<Half>()[i] = Half(static_cast<float>(d)); break;
      case DType::kBFloat16: out.data<BFloat16>()[i] = BFloat16(static_cast<float>(d)); break;
      case DType::kBool: out.data<bool>()[i] = d != 0; break;
      default:
        with_numeric_type(dtype, what, [&](auto* tag) {
          using T = std::remove_pointer_t<decltype(tag)>;
          if (d != std::floor(d) || d < static_cast<double>(std::numeric_limits<T>::lowest()) ||
              d > static_cast<double>(std::numeric_limits<T>::max()))
            throw InvalidArgumentError(what + ": value " + std::to_string(d) + " does not fit " +
                                       dtype_name(dtype));
          out.data<T>()[i] = static_cast<T>(d);
        });
    }
  }
  return out;
}

Tensor load_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw NotFoundError("Cannot open " + path);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto bad = [&](const std::string& why) { return InvalidArgumentError(path + " is not a readable .npy file: " + why); };
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw bad("no \\x93NUMPY magic");
  int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len, header_start;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw bad("truncated header");
    header_len = 0;
    for (int i = 0; i < 4; ++i) header_len |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    header_start = 12;
  } else {
    throw bad("unknown format version " + std::to_string(major));
  }
  if (header_start + header_len > bytes.size()) throw bad("truncated header");
  std::string header = bytes.substr(header_start, header_len);
  std::smatch m;
  if (!std::regex_search(header, m, std::regex("'descr'\\s*:\\s*'([^']*)'"))) throw bad("no descr");
  std::string descr = m[1];
  if (std::regex_search(header, m, std::regex("'fortran_order'\\s*:\\s*True")))
    throw bad("Fortran order is not supported; save with np.ascontiguousarray");
  if (!std::regex_search(header, m, std::regex("'shape'\\s*:\\s*\\(([^)]*)\\)"))) throw bad("no shape");
  std::vector<int64_t> shape;
  std::stringstream dims(m[1].str());
  for (std::string d; std::getline(dims, d, ',');) {
    d.erase(0, d.find_first_not_of(" "));
    if (!d.empty()) shape.push_back(std::stoll(d));
  }
  static const std::vector<std::pair<std::string, DType>> kinds{
      {"<f4", DType::kFloat}, {"<f8", DType::kDouble}, {"<f2", DType::kHalf}, {"|i1", DType::kInt8},
      {"<i2", DType::kInt16}, {"<i4", DType::kInt32}, {"<i8", DType::kInt64}, {"|u1", DType::kUInt8},
      {"|b1", DType::kBool}};
  DType dtype = DType::kInvalid;
  for (const auto& [d, t] : kinds)
    if (d == descr) dtype = t;
  if (dtype == DType::kInvalid) throw bad("dtype '" + descr + "' is not supported (little-endian numbers and bools only)");
  Tensor t(dtype, Shape(shape));
  size_t data_start = header_start + header_len;
  if (bytes.size() - data_start != t.bytes())
    throw bad("holds " + std::to_string(bytes.size() - data_start) + " data bytes, shape needs " +
              std::to_string(t.bytes()));
  std::memcpy(t.raw_data(), bytes.data() + data_start, t.bytes());
  return t;
}

Tensor parse_feed_value(const std::string& text, DType dtype, const std::string& what) {
  if (!text.empty() && text[0] == '@') return convert_dtype(load_npy(text.substr(1)), dtype, what);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    // A bare word is a string scalar for string feeds (--feed name=hello).
    if (dtype == DType::kString) j = text;
    else throw InvalidArgumentError(what + ": not a JSON value: " + text);
  }
  return from_json(j, dtype, what);
}

}  // namespace kiln::cli

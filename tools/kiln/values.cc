#include "tools/kiln/values.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace kiln::cli {

namespace {

// True when decimal text `s` reads back as the same value of `dtype` as `v`.
bool round_trips(const char* s, double v, DType dtype) {
  double back = std::strtod(s, nullptr);
  switch (dtype) {
    case DType::kDouble: return back == v;
    case DType::kHalf: return Half(static_cast<float>(back)).bits == Half(static_cast<float>(v)).bits;
    case DType::kBFloat16:
      return BFloat16(static_cast<float>(back)).bits == BFloat16(static_cast<float>(v)).bits;
    default: return static_cast<float>(back) == static_cast<float>(v);
  }
}

double element_as_double(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::kFloat: return t.data<float>()[i];
    case DType::kDouble: return t.data<double>()[i];
    case DType::kHalf: return static_cast<float>(t.data<Half>()[i]);
    case DType::kBFloat16: return static_cast<float>(t.data<BFloat16>()[i]);
    default: return 0;
  }
}

// numpy's scalar repr of a float: positional between 1e-4 and a dtype-dependent bound
// (float16: 1e3, float32: 1e6, float64: 1e16), scientific ("1e-05", "1.5e+16") outside.
std::string numpy_float_scalar(double v, DType dtype) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  if (dtype == DType::kBFloat16) {  // ml_dtypes prints bfloat16 like C++ streams: %g
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
  }
  std::string sign = v < 0 ? "-" : "";
  double a = std::fabs(v);
  double upper = dtype == DType::kHalf ? 1e3 : dtype == DType::kDouble ? 1e16 : 1e6;
  Digits d = shortest_digits(a, dtype);
  if (a >= 1e-4 && a < upper) {
    std::string s;
    int e = d.exponent;
    if (e < 0) {
      s = "0." + std::string(-e - 1, '0') + d.digits;
    } else if (e + 1 >= static_cast<int>(d.digits.size())) {
      s = d.digits + std::string(e + 1 - d.digits.size(), '0') + ".0";
    } else {
      s = d.digits.substr(0, e + 1) + "." + d.digits.substr(e + 1);
    }
    return sign + s;
  }
  std::string s = d.digits.substr(0, 1);
  if (d.digits.size() > 1) s += "." + d.digits.substr(1);
  char exp[16];
  std::snprintf(exp, sizeof exp, "e%c%02d", d.exponent < 0 ? '-' : '+', std::abs(d.exponent));
  return sign + s + exp;
}

std::string scalar_text(const Tensor& t) {
  switch (t.dtype()) {
    case DType::kFloat: case DType::kDouble: case DType::kHalf: case DType::kBFloat16:
      return numpy_float_scalar(element_as_double(t, 0), t.dtype());
    case DType::kString: return python_bytes_repr(t.data<std::string>()[0]);
    case DType::kBool: return t.data<bool>()[0] ? "True" : "False";
    default: return t.to_string();
  }
}

// numpy's nested-bracket layout for elements already formatted and not padded (object and
// bfloat16 arrays): "[[b'a' b'bc']\n [b'd' b'e']]".
void nested(const std::vector<int64_t>& dims, const std::vector<std::string>& elems, size_t depth,
            int64_t offset, std::string& out) {
  if (depth == dims.size()) { out += elems[offset]; return; }
  int64_t stride = 1;
  for (size_t d = depth + 1; d < dims.size(); ++d) stride *= dims[d];
  out += '[';
  for (int64_t i = 0; i < dims[depth]; ++i) {
    if (i > 0) {
      if (depth + 1 == dims.size()) out += ' ';
      else out += std::string(dims.size() - depth - 1, '\n') + std::string(depth + 1, ' ');
    }
    nested(dims, elems, depth + 1, offset + i * stride, out);
  }
  out += ']';
}

}  // namespace

Digits shortest_digits(double v, DType dtype) {
  char buf[64];
  for (int p = 0; p <= 17; ++p) {
    std::snprintf(buf, sizeof buf, "%.*e", p, v);
    if (p == 17 || round_trips(buf, v, dtype)) break;
  }
  // buf is "D.DDDDe[+-]XX" (or "De[+-]XX").
  std::string s(buf);
  size_t e = s.find('e');
  Digits d;
  for (size_t i = 0; i < e; ++i)
    if (s[i] >= '0' && s[i] <= '9') d.digits += s[i];
  while (d.digits.size() > 1 && d.digits.back() == '0') d.digits.pop_back();
  d.exponent = std::atoi(s.c_str() + e + 1);
  return d;
}

std::string python_bytes_repr(const std::string& bytes) {
  char quote = (bytes.find('\'') != std::string::npos && bytes.find('"') == std::string::npos)
                   ? '"' : '\'';
  std::string out = "b";
  out += quote;
  for (unsigned char c : bytes) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c == static_cast<unsigned char>(quote)) {
          out += '\\';
          out += static_cast<char>(c);
        } else if (c < 0x20 || c >= 0x7f) {
          char hex[8];
          std::snprintf(hex, sizeof hex, "\\x%02x", c);
          out += hex;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += quote;
  return out;
}

std::string numpy_text(const Tensor& host) {
  if (host.rank() == 0) return scalar_text(host);
  if (host.num_elements() == 0 || (host.dtype() != DType::kString && host.dtype() != DType::kBFloat16))
    return host.to_string();
  std::vector<std::string> elems(static_cast<size_t>(host.num_elements()));
  for (int64_t i = 0; i < host.num_elements(); ++i) {
    elems[i] = host.dtype() == DType::kString
                   ? python_bytes_repr(host.data<std::string>()[i])
                   : numpy_float_scalar(element_as_double(host, i), DType::kBFloat16);
  }
  std::string out;
  nested(host.shape().dims(), elems, 0, 0, out);
  return out;
}

bool is_valid_utf8(const std::string& s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = s[i];
    int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (len == 0 || i + len > n) return false;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
    for (int k = 1; k < len; ++k) {
      unsigned char cc = s[i + k];
      if ((cc >> 6) != 0x2) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are invalid.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
      return false;
    i += len;
  }
  return true;
}

namespace {

std::string base64(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += k[(v >> s) & 63];
  }
  if (i < in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
    out += k[(v >> 18) & 63];
    out += k[(v >> 12) & 63];
    out += i + 1 < in.size() ? k[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

nlohmann::ordered_json json_float(double v, DType dtype) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0) return v;
  // The double nearest the shortest decimal: nlohmann prints it with those same digits.
  Digits d = shortest_digits(std::fabs(v), dtype);
  std::string text = (v < 0 ? "-0." : "0.") + d.digits + "e" + std::to_string(d.exponent + 1);
  return std::strtod(text.c_str(), nullptr);
}

}  // namespace

nlohmann::ordered_json json_values(const Tensor& t) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  int64_t n = t.num_elements();
  for (int64_t i = 0; i < n; ++i) {
    switch (t.dtype()) {
      case DType::kFloat: case DType::kDouble: case DType::kHalf: case DType::kBFloat16:
        out.push_back(json_float(element_as_double(t, i), t.dtype()));
        break;
      case DType::kInt32: out.push_back(t.data<int32_t>()[i]); break;
      case DType::kInt64: out.push_back(t.data<int64_t>()[i]); break;
      case DType::kInt16: out.push_back(t.data<int16_t>()[i]); break;
      case DType::kInt8: out.push_back(t.data<int8_t>()[i]); break;
      case DType::kUInt8: out.push_back(t.data<uint8_t>()[i]); break;
      case DType::kBool: out.push_back(t.data<bool>()[i]); break;
      case DType::kString: {
        const std::string& s = t.data<std::string>()[i];
        if (is_valid_utf8(s)) out.push_back(s);
        else out.push_back({{"base64", base64(s)}});
        break;
      }
      default: break;
    }
  }
  return out;
}

}  // namespace kiln::cli

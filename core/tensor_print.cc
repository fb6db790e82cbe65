// numpy-style printing of tensors: nested brackets, aligned columns, floats with at most 8
// significant fractional digits and trailing zeros dropped ("1.", "0.25"), scientific notation
// when magnitudes span a wide range, "..." summaries above 1000 elements (3 edge items).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/tensor.h"

namespace kiln {

namespace {

constexpr int64_t kSummarizeThreshold = 1000;
constexpr int64_t kEdgeItems = 3;

// The shortest text (at most kPrecision digits after the point) that reads back as the same
// value at the tensor's precision, as numpy's default "unique" float printing: 0.1f prints as
// "0.1", not "0.100000001"; integral values keep their point ("2.").
constexpr int kPrecision = 8;
std::string shortest(double v, bool single, bool sci) {
  char buf[64];
  for (int p = 0; p <= kPrecision; ++p) {
    std::snprintf(buf, sizeof buf, sci ? "%#.*e" : "%#.*f", p, v);
    double back = std::strtod(buf, nullptr);
    if (single ? static_cast<float>(back) == static_cast<float>(v) : back == v) return buf;
  }
  std::snprintf(buf, sizeof buf, sci ? "%#.*e" : "%#.*f", kPrecision, v);
  return buf;
}

// Formats every element as text; floats share one notation so the columns line up.
// Formats the elements at flat offsets `shown` (in that order).
std::vector<std::string> format_elements(const Tensor& host, const std::vector<int64_t>& shown) {
  const size_t n = shown.size();
  std::vector<std::string> out(n);
  bool single = host.dtype() != DType::kDouble;
  auto floats = [&](auto getter) {
    double max_abs = 0, min_abs = INFINITY;
    bool all_int = true;
    for (size_t k = 0; k < n; ++k) {
      double v = getter(shown[k]);
      if (!std::isfinite(v)) continue;
      double a = std::fabs(v);
      max_abs = std::max(max_abs, a);
      if (a > 0) min_abs = std::min(min_abs, a);
      if (v != std::floor(v)) all_int = false;
    }
    bool sci = max_abs >= 1e8 || (min_abs < 1e-4 && !all_int) ||
               (min_abs < INFINITY && max_abs / min_abs > 1e3 && !all_int);
    for (size_t k = 0; k < n; ++k) {
      double v = getter(shown[k]);
      if (std::isnan(v)) { out[k] = "nan"; continue; }
      if (std::isinf(v)) { out[k] = v > 0 ? "inf" : "-inf"; continue; }
      out[k] = shortest(v, single, sci);
    }
    if (!sci) {  // pad fractions on the right so the decimal points align
      size_t frac = 0;
      for (auto& s : out) {
        size_t dot = s.find('.');
        if (dot != std::string::npos) frac = std::max(frac, s.size() - dot - 1);
      }
      for (auto& s : out) {
        size_t dot = s.find('.');
        if (dot != std::string::npos) s.append(frac - (s.size() - dot - 1), ' ');
      }
    }
  };
  switch (host.dtype()) {
    case DType::kFloat: { auto p = host.data<float>(); floats([p](int64_t i) { return double(p[i]); }); break; }
    case DType::kDouble: { auto p = host.data<double>(); floats([p](int64_t i) { return p[i]; }); break; }
    case DType::kHalf: { auto p = host.data<Half>(); floats([p](int64_t i) { return double(float(p[i])); }); break; }
    case DType::kBFloat16: { auto p = host.data<BFloat16>(); floats([p](int64_t i) { return double(float(p[i])); }); break; }
    case DType::kInt32: { auto p = host.data<int32_t>(); for (size_t k = 0; k < n; ++k) out[k] = std::to_string(p[shown[k]]); break; }
    case DType::kInt64: { auto p = host.data<int64_t>(); for (size_t k = 0; k < n; ++k) out[k] = std::to_string(p[shown[k]]); break; }
    case DType::kInt16: { auto p = host.data<int16_t>(); for (size_t k = 0; k < n; ++k) out[k] = std::to_string(p[shown[k]]); break; }
    case DType::kInt8: { auto p = host.data<int8_t>(); for (size_t k = 0; k < n; ++k) out[k] = std::to_string(p[shown[k]]); break; }
    case DType::kUInt8: { auto p = host.data<uint8_t>(); for (size_t k = 0; k < n; ++k) out[k] = std::to_string(p[shown[k]]); break; }
    case DType::kBool: { auto p = host.data<bool>(); for (size_t k = 0; k < n; ++k) out[k] = p[shown[k]] ? "True" : "False"; break; }
    case DType::kString: { auto p = host.data<std::string>(); for (size_t k = 0; k < n; ++k) out[k] = "b'" + p[shown[k]] + "'"; break; }
    default: break;
  }
  return out;
}

// Flat offsets of the elements a (possibly summarized) print shows, in print order.
void collect_shown(const std::vector<int64_t>& dims, bool summarize, int depth, int64_t offset,
                   std::vector<int64_t>& shown) {
  if (depth == static_cast<int>(dims.size())) {
    shown.push_back(offset);
    return;
  }
  int64_t stride = 1;
  for (size_t d = depth + 1; d < dims.size(); ++d) stride *= dims[d];
  int64_t n = dims[depth];
  for (int64_t i = 0; i < n; ++i) {
    if (summarize && n > 2 * kEdgeItems && i == kEdgeItems) i = n - kEdgeItems;
    collect_shown(dims, summarize, depth + 1, offset + i * stride, shown);
  }
}

struct Printer {
  const std::vector<int64_t>& dims;
  const std::unordered_map<int64_t, std::string>& elems;
  bool summarize;
  size_t width;
  std::ostringstream os;

  // Prints the sub-array at `depth` starting at flat offset `offset` with `stride` elements.
  void print(int depth, int64_t offset, int indent) {
    if (depth == static_cast<int>(dims.size())) {
      const std::string& s = elems.at(offset);
      if (s.size() < width) os << std::string(width - s.size(), ' ');
      os << s;
      return;
    }
    int64_t stride = 1;
    for (size_t d = depth + 1; d < dims.size(); ++d) stride *= dims[d];
    int64_t n = dims[depth];
    bool last = depth == static_cast<int>(dims.size()) - 1;
    os << "[";
    for (int64_t i = 0; i < n; ++i) {
      if (summarize && n > 2 * kEdgeItems && i == kEdgeItems) {
        if (last) os << "...";
        else os << "..." << std::string(dims.size() - depth - 1, '\n') << std::string(indent + 1, ' ');
        if (last) os << " ";
        i = n - kEdgeItems - 1;
        continue;
      }
      print(depth + 1, offset + i * stride, indent + 1);
      if (i + 1 < n) {
        if (last) os << " ";
        else os << std::string(dims.size() - depth - 1, '\n') << std::string(indent + 1, ' ');
      }
    }
    os << "]";
  }
};

}  // namespace

std::string Tensor::to_string() const {
  if (!valid()) return "<empty tensor>";
  Tensor host = to_host();
  const auto& dims = shape_.dims();
  if (num_elements() == 0) return dims.empty() ? "" : "[]";
  // Only the elements shown are formatted (a 64M-element tensor prints 3 edge items per axis),
  // and, as numpy, the notation and column width come from those alone.
  bool summarize = num_elements() > kSummarizeThreshold;
  std::vector<int64_t> shown;
  collect_shown(dims, summarize, 0, 0, shown);
  std::vector<std::string> texts = format_elements(host, shown);
  if (dims.empty()) return texts[0];
  std::unordered_map<int64_t, std::string> elems;
  size_t width = 0;
  for (size_t k = 0; k < shown.size(); ++k) {
    width = std::max(width, texts[k].size());
    elems.emplace(shown[k], std::move(texts[k]));
  }
  Printer p{dims, elems, summarize, width, {}};
  p.print(0, 0, 0);
  return p.os.str();
}

}  // namespace kiln

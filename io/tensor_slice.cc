#include "io/tensor_slice.h"

#include <charconv>
#include <cstring>

#include "core/errors.h"

namespace kiln::io {
namespace {

std::string dims_string(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (size_t pos; (pos = s.find(sep)) != std::string_view::npos; s.remove_prefix(pos + 1))
    out.push_back(s.substr(0, pos));
  out.push_back(s);
  return out;
}

bool parse_int(std::string_view s, int64_t* v) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

TensorSlice full_slice(int rank) { return TensorSlice(static_cast<size_t>(rank)); }

TensorSlice parse_slice_spec(std::string_view spec) {
  TensorSlice slice;
  if (spec.empty()) return slice;  // a scalar
  for (std::string_view item : split(spec, ':')) {
    if (item == "-") {
      slice.push_back(SliceExtent{});
      continue;
    }
    std::vector<std::string_view> parts = split(item, ',');
    SliceExtent e;
    if (parts.size() != 2 || !parse_int(parts[0], &e.start) || !parse_int(parts[1], &e.length) ||
        e.start < 0 || e.length < 0)
      throw InvalidArgumentError("Invalid slice spec \"" + std::string(spec) + "\": expected '-' or "
                                 "'start,length' (non-negative) per dimension, got \"" +
                                 std::string(item) + "\"");
    slice.push_back(e);
  }
  return slice;
}

std::string slice_spec_string(const TensorSlice& slice) {
  std::string s;
  for (size_t i = 0; i < slice.size(); ++i) {
    if (i) s += ':';
    const SliceExtent& e = slice[i];
    s += e.length < 0 ? "-" : std::to_string(e.start) + "," + std::to_string(e.length);
  }
  return s;
}

ShapeAndSlice parse_shape_and_slice(std::string_view text) {
  ShapeAndSlice out;
  std::vector<std::string_view> parts = split(text, ' ');
  if (parts.size() < 2)
    throw InvalidArgumentError("Invalid shape_and_slice \"" + std::string(text) +
                               "\": expected the full shape then the slice spec");
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    int64_t d;
    if (!parse_int(parts[i], &d) || d < 0)
      throw InvalidArgumentError("Invalid dimension \"" + std::string(parts[i]) +
                                 "\" in shape_and_slice \"" + std::string(text) + "\"");
    out.shape.push_back(d);
  }
  out.slice = parse_slice_spec(parts.back());
  check_slice(out.slice, out.shape, "shape_and_slice \"" + std::string(text) + "\"");
  return out;
}

void check_slice(const TensorSlice& slice, const std::vector<int64_t>& shape,
                 const std::string& what) {
  auto fail = [&](const std::string& why) {
    throw InvalidArgumentError("Slice " + slice_spec_string(slice) + " of " + what + " " + why +
                               " (shape " + dims_string(shape) + ")");
  };
  if (slice.size() != shape.size())
    fail("has rank " + std::to_string(slice.size()) + ", expected " + std::to_string(shape.size()));
  for (size_t i = 0; i < slice.size(); ++i) {
    const SliceExtent& e = slice[i];
    if (e.length < 0) continue;
    if (e.start < 0 || e.start > shape[i] || e.length > shape[i] - e.start)
      fail("is outside dimension " + std::to_string(i));
  }
}

TensorSlice resolve_slice(const TensorSlice& slice, const std::vector<int64_t>& shape) {
  TensorSlice out = slice;
  for (size_t i = 0; i < out.size(); ++i)
    if (out[i].length < 0) out[i] = SliceExtent{0, shape[i]};
  return out;
}

bool is_full_slice(const TensorSlice& slice, const std::vector<int64_t>& shape) {
  if (slice.size() != shape.size()) return false;
  for (size_t i = 0; i < slice.size(); ++i)
    if (slice[i].length >= 0 && (slice[i].start != 0 || slice[i].length != shape[i])) return false;
  return true;
}

std::vector<int64_t> slice_shape(const TensorSlice& slice, const std::vector<int64_t>& shape) {
  std::vector<int64_t> out;
  for (const SliceExtent& e : resolve_slice(slice, shape)) out.push_back(e.length);
  return out;
}

std::optional<TensorSlice> intersect(const TensorSlice& a, const TensorSlice& b) {
  TensorSlice out(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    const int64_t lo = std::max(a[i].start, b[i].start);
    const int64_t hi = std::min(a[i].start + a[i].length, b[i].start + b[i].length);
    if (hi <= lo) return std::nullopt;
    out[i] = SliceExtent{lo, hi - lo};
  }
  return out;
}

int64_t slice_volume(const TensorSlice& resolved) {
  int64_t n = 1;
  for (const SliceExtent& e : resolved) n *= e.length;
  return n;
}

void copy_region(const Tensor& src, const TensorSlice& src_slice, const TensorSlice& region,
                 Tensor* dst, const TensorSlice& dst_slice) {
  const size_t rank = region.size();
  if (slice_volume(region) == 0) return;
  const bool strings = src.dtype() == DType::kString;
  const size_t elem = dtype_size(src.dtype());
  // Row-major strides of the source and destination blocks.
  std::vector<int64_t> src_stride(rank, 1), dst_stride(rank, 1);
  for (size_t i = rank; i-- > 1;) {
    src_stride[i - 1] = src_stride[i] * src_slice[i].length;
    dst_stride[i - 1] = dst_stride[i] * dst_slice[i].length;
  }
  const int64_t run = rank == 0 ? 1 : region[rank - 1].length;  // contiguous along the last dim
  std::vector<int64_t> index(rank, 0);  // position inside `region`, last dimension kept at 0
  const auto* s = static_cast<const char*>(src.raw_data());
  auto* d = static_cast<char*>(dst->raw_data());
  while (true) {
    int64_t so = 0, doff = 0;
    for (size_t i = 0; i < rank; ++i) {
      const int64_t pos = region[i].start + index[i];
      so += (pos - src_slice[i].start) * src_stride[i];
      doff += (pos - dst_slice[i].start) * dst_stride[i];
    }
    if (strings) {
      const auto* from = reinterpret_cast<const std::string*>(s) + so;
      auto* to = reinterpret_cast<std::string*>(d) + doff;
      for (int64_t k = 0; k < run; ++k) to[k] = from[k];
    } else {
      std::memcpy(d + doff * elem, s + so * elem, static_cast<size_t>(run) * elem);
    }
    // Advance the multi-index over every dimension but the last.
    int i = static_cast<int>(rank) - 2;
    for (; i >= 0; --i) {
      if (++index[i] < region[i].length) break;
      index[i] = 0;
    }
    if (i < 0) return;
  }
}

}  // namespace kiln::io

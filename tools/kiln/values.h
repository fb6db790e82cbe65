// How `kiln inspect` shows tensor values: numpy's text (what TF's inspect_checkpoint prints) and
// JSON values.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/tensor.h"

namespace kiln::cli {

// The fewest significant digits that read back as the same value of `dtype` (float, double,
// half, bfloat16), as numpy's repr: {"1", 0} for 1.0, {"15", -5} for 1.5e-05. `exponent` is the
// decimal exponent of the first digit. REQUIRES: v finite and nonzero.
struct Digits {
  std::string digits;
  int exponent = 0;
};
Digits shortest_digits(double v, DType dtype);

// A Python bytes literal: b'abc', b"it's", b'\x00\n'.
std::string python_bytes_repr(const std::string& bytes);

// What `print(reader.get_tensor(name))` prints in TF: numpy's str of the array. Scalars are exact
// (numpy's scalar repr: "0.5", "2.0", "1e-05", b'...', True); arrays follow numpy's layout
// without its 75-column line wrapping.
std::string numpy_text(const Tensor& host);

// The flat row-major values as JSON: numbers (floats with shortest_digits, so they read back to
// the same value of the tensor's dtype; NaN and infinities as the strings "nan", "inf", "-inf"),
// bools, and strings (UTF-8 text, else {"base64": ...}).
nlohmann::ordered_json json_values(const Tensor& host);

bool is_valid_utf8(const std::string& s);

}  // namespace kiln::cli

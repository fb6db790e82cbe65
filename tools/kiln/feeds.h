// What `kiln run --feed NAME=VALUES` accepts: a JSON literal (a number, bool, string, or nested
// arrays of them, rectangular) or "@file.npy" (a NumPy .npy file, C order, dtypes <f2 <f4 <f8
// |i1 <i2 <i4 <i8 |u1 |b1), converted to the fed tensor's dtype.
#pragma once

#include <string>

#include "core/tensor.h"

namespace kiln::cli {

// Parses `text` into a host tensor of `dtype`. `what` names the feed in errors
// ("--feed x:0"). InvalidArgumentError on ragged arrays, values of the wrong kind, integers out
// of range, unreadable .npy files.
Tensor parse_feed_value(const std::string& text, DType dtype, const std::string& what);

// A NumPy .npy file as a host tensor of the file's own dtype.
Tensor load_npy(const std::string& path);

// `value` converted elementwise to `dtype` (numeric and bool dtypes; strings only to strings).
Tensor convert_dtype(const Tensor& value, DType dtype, const std::string& what);

}  // namespace kiln::cli

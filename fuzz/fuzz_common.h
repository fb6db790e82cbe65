// Shared by the libFuzzer targets in this folder (see fuzz/README.md). Each target feeds the
// fuzzed bytes to one parser through a MemFileSystem and catches kiln::Error only: any other
// exception, a crash, a leak or a sanitizer report is a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/errors.h"

namespace kiln::fuzz {

inline std::string bytes(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// Runs fn, swallowing kiln::Error (the typed rejection every parser must end in).
template <typename Fn>
void expect_typed(Fn&& fn) {
  try {
    fn();
  } catch (const kiln::Error&) {
  }
}

}  // namespace kiln::fuzz

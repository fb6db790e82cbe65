// Fixtures shared by the Saver tests (tests/io/saver*_test.cc): a two-variable model, directory
// listings without lock files, and small file helpers.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "io_test_util.h"
#include "kiln/kiln.h"

namespace kiln::saver_testing {

namespace stdfs = std::filesystem;
using io::testing::ScratchDir;

inline std::string tf(const std::string& path) { return io::testing::testdata_dir() + "/tf/" + path; }

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The entries of `dir`, without the state file's lock file (DIR/<latest_filename>.lock, which
// every save on the POSIX file system creates and keeps; io/saver.h "Concurrency").
inline std::vector<std::string> listing(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : stdfs::directory_iterator(dir))
    if (!e.path().filename().string().ends_with(".lock")) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

inline std::vector<float> values(Session& s, const Variable& v) {
  return s.variable_value(v.name()).to_vector<float>();
}

struct TwoVars {
  Graph g;
  Variable v1{g, constant<float>(g, {1, 2}, Shape{1, 2}), "v1"};
  Variable v2{g, constant<float>(g, {1, 2, 3, 4, 5, 6}, Shape{2, 3}), "v2"};
  Operation init = global_variables_initializer(g);
};

// Runs a function with the working directory set to `dir`.
template <typename F>
void in_dir(const std::string& dir, F f) {
  auto old = stdfs::current_path();
  stdfs::current_path(dir);
  try {
    f();
  } catch (...) {
    stdfs::current_path(old);
    throw;
  }
  stdfs::current_path(old);
}

}  // namespace kiln::saver_testing

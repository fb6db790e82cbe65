// Helpers shared by the io tests: where the golden TF files are, and scratch directories.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace kiln::io::testing {

// The shared test data folder: $KILN_TESTDATA (set by tests/CMakeLists.txt), else
// <repo>/../shared/testdata found from this file's location.
inline std::string testdata_dir() {
  if (const char* env = std::getenv("KILN_TESTDATA"); env && *env) return env;
  std::filesystem::path repo = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
  return (repo / ".." / "shared" / "testdata").lexically_normal().string();
}

// A fresh directory under the test temp dir, removed with its contents on destruction.
class ScratchDir {
 public:
  ScratchDir() {
    static int counter = 0;
    path_ = (std::filesystem::path(::testing::TempDir()) /
             ("kiln_io_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)))
                .string();
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Runs `statement` and expects it to throw exactly ErrorType (or a subclass) whose message
// contains `substring`.
#define KILN_EXPECT_ERROR(statement, ErrorType, substring)                                  \
  do {                                                                                       \
    try {                                                                                    \
      statement;                                                                             \
      ADD_FAILURE() << "expected " #ErrorType " from " #statement;                           \
    } catch (const ErrorType& e) {                                                           \
      EXPECT_NE(std::string(e.what()).find(substring), std::string::npos)                    \
          << "message: " << e.what();                                                        \
    } catch (const std::exception& e) {                                                      \
      ADD_FAILURE() << "expected " #ErrorType ", got another exception: " << e.what();       \
    }                                                                                        \
  } while (0)

}  // namespace kiln::io::testing

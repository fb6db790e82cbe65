// Runs the `kiln` executable as a subprocess for the tools tests.
//
//   KilnResult r = run_kiln({"inspect", prefix});   // r.status, r.out, r.err
//
// The binary is $KILN_BIN, else the path CMake compiled in (KILN_BIN_DEFAULT). stdout and stderr
// are captured through temporary files; status is the exit code, or 128+signal when the process
// died from a signal (a crash is therefore never mistaken for a clean exit 1).
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace kiln::tools::testing {

struct KilnResult {
  int status = -1;
  std::string out;
  std::string err;
};

inline std::string kiln_bin() {
  if (const char* env = std::getenv("KILN_BIN"); env && *env) return env;
  return KILN_BIN_DEFAULT;
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline KilnResult run_kiln(const std::vector<std::string>& args) {
  static int counter = 0;
  std::string base = ::testing::TempDir() + "/kiln_run_" + std::to_string(::getpid()) + "_" +
                     std::to_string(counter++);
  std::string out_path = base + ".out", err_path = base + ".err";
  std::string bin = kiln_bin();
  pid_t pid = ::fork();
  if (pid == 0) {
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0) ::_exit(126);
    ::dup2(out, 1);
    ::dup2(err, 2);
    std::vector<char*> argv{const_cast<char*>(bin.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  KilnResult r;
  int wstatus = 0;
  if (pid > 0 && ::waitpid(pid, &wstatus, 0) == pid)
    r.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  ::unlink(out_path.c_str());
  ::unlink(err_path.c_str());
  return r;
}

// A failure as every subcommand reports it: exit 1, nothing on stdout, exactly one line on
// stderr starting "kiln SUB: " and containing `substring`.
inline void expect_failure(const KilnResult& r, const std::string& sub, const std::string& substring) {
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("kiln " + sub + ": ", 0), 0u) << r.err;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line: " << r.err;
  EXPECT_NE(r.err.find(substring), std::string::npos) << r.err;
}

}  // namespace kiln::tools::testing

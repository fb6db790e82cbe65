// kiln: command-line tool for TensorFlow checkpoints (V2 bundles and V1 checkpoints).
//
//   kiln inspect PREFIX [--tensor NAME | --all-tensors | --all-tensor-names] [--json]
//   kiln verify PREFIX
//   kiln latest DIR
//   kiln convert SRC DST [--shards N] [--align BYTES]
//   kiln run GRAPH.meta [--checkpoint PREFIX] [--feed NAME=VALUES]... --fetch NAME... [--json]
//
// Exit status: 0 success, 1 failure (one line on stderr), 2 usage error.
#include <iostream>
#include <string>

#include "core/errors.h"
#include "tools/kiln/common.h"

namespace {

// One line: newlines inside a message become "; ".
std::string one_line(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  for (size_t i = 0; (i = s.find('\n', i)) != std::string::npos;) s.replace(i, 1, "; ");
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kiln: inspect, verify, find and convert TensorFlow checkpoints; run saved graphs", "kiln"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Print help for every subcommand");
  int status = 0;
  kiln::cli::add_inspect(app, &status);
  kiln::cli::add_verify(app, &status);
  kiln::cli::add_latest(app, &status);
  kiln::cli::add_convert(app, &status);
  kiln::cli::add_run(app, &status);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);  // prints help (code 0) or the usage error
    return code == 0 ? 0 : 2;
  } catch (const std::exception& e) {
    std::string sub = app.get_subcommands().empty() ? "" : " " + app.get_subcommands()[0]->get_name();
    std::cout.flush();
    std::cerr << "kiln" << sub << ": " << one_line(e.what()) << "\n";
    return 1;
  }
  std::cout.flush();
  if (!std::cout) {
    std::cerr << "kiln: error writing to standard output\n";
    return 1;
  }
  return status;
}

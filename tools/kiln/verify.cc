// kiln verify PREFIX: checks every block and tensor checksum and every entry's bounds
// (io/verify.h). Sound: "PREFIX: OK" on stdout, exit 0. Otherwise the first problem on stderr,
// exit 1.
#include <iostream>
#include <memory>

#include "io/verify.h"
#include "tools/kiln/common.h"

namespace kiln::cli {

namespace {

int run_verify(const std::string& prefix) {
  std::string hint = prefix_hint(prefix);
  if (!hint.empty()) throw Failure(hint);
  std::string problem = io::verify_checkpoint(prefix);
  if (!problem.empty()) throw Failure(problem);
  std::cout << prefix << ": OK\n";
  return 0;
}

}  // namespace

void add_verify(CLI::App& app, int* status) {
  auto prefix = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand(
      "verify", "Check every checksum and bound of a checkpoint; exit 1 naming the first problem");
  sub->add_option("prefix", *prefix, "Checkpoint prefix, e.g. train/model.ckpt-1000")->required();
  sub->callback([prefix, status] { *status = run_verify(*prefix); });
}

}  // namespace kiln::cli

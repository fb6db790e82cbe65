// Shared pieces of the `kiln` command-line tool (tools/kiln/*.cc, one file per subcommand).
//
// Contract for every subcommand: results go to stdout; a failure is one line on stderr,
// "kiln SUBCOMMAND: message", and exit status 1 (usage errors: CLI11's message, status 2).
// Subcommands report failures by throwing; main() turns any exception into that line.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

#include "io/checkpoint_reader.h"

namespace kiln::cli {

// A user-facing failure whose message is already complete (printed as is).
class Failure : public std::runtime_error {
 public:
  explicit Failure(const std::string& message) : std::runtime_error(message) {}
};

// Each subcommand registers itself on `app`; when it is the one chosen, its callback stores the
// exit status in `*status`.
void add_inspect(CLI::App& app, int* status);
void add_verify(CLI::App& app, int* status);
void add_latest(CLI::App& app, int* status);
void add_convert(CLI::App& app, int* status);
void add_run(CLI::App& app, int* status);

// When `arg` names one file of a checkpoint (P.index, P.data-00000-of-00001, P.meta, a
// `checkpoint` state file) or a directory rather than a checkpoint prefix, the message saying
// which prefix to pass instead; "" when `arg` may be a prefix. P.index taking precedence: an
// `arg` for which arg.index exists is always a prefix.
std::string prefix_hint(const std::string& arg);

// Opens the checkpoint at `arg`, throwing Failure with prefix_hint's message first.
std::unique_ptr<io::CheckpointReader> open_checkpoint(const std::string& arg);

// TF's python dtype name ("float32", "string", "complex64"...) for any TF DataType number.
std::string dtype_python_name(DType dtype);

}  // namespace kiln::cli

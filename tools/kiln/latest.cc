// kiln latest DIR: prints the newest checkpoint prefix named by DIR/checkpoint (a relative path
// resolved against DIR), as tf.train.latest_checkpoint. Exit 1 with a clear message when DIR has
// no state file, the state names no checkpoint, or the named checkpoint's files are gone.
// DIR/checkpoint itself is accepted in place of DIR.
#include <iostream>
#include <memory>

#include <sys/stat.h>

#include "io/checkpoint_state.h"
#include "tools/kiln/common.h"

namespace kiln::cli {

namespace {

int run_latest(std::string dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) throw Failure("no such directory: " + dir);
  if (!S_ISDIR(st.st_mode)) {
    if (io::join_path(io::dirname(dir), io::kCheckpointStateFilename) != dir &&
        dir != io::kCheckpointStateFilename)
      throw Failure(dir + " is not a directory; pass the directory holding the `checkpoint` "
                          "state file");
    dir = io::dirname(dir);
  }
  std::string state_file = io::join_path(dir, io::kCheckpointStateFilename);
  if (::stat(state_file.c_str(), &st) != 0)
    throw Failure("no checkpoint in " + dir + ": " + state_file + " does not exist");
  io::CheckpointState state = io::read_checkpoint_state(dir);
  if (state.model_checkpoint_path.empty())
    throw Failure("no checkpoint in " + dir + ": " + state_file +
                  " has no model_checkpoint_path");
  std::string prefix = io::resolve_checkpoint_path(dir, state.model_checkpoint_path);
  if (!io::checkpoint_exists(prefix))
    throw Failure(state_file + " names checkpoint " + prefix +
                  ", but its files do not exist (no " + prefix + ".index)");
  std::cout << prefix << "\n";
  return 0;
}

}  // namespace

void add_latest(CLI::App& app, int* status) {
  auto dir = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand(
      "latest", "Print the newest checkpoint prefix recorded in DIR/checkpoint");
  sub->add_option("dir", *dir, "Directory holding the `checkpoint` state file")->required();
  sub->callback([dir, status] { *status = run_latest(*dir); });
}

}  // namespace kiln::cli

#include "io/checkpoint_management.h"

#include <fnmatch.h>

#include "core/errors.h"

namespace kiln {

namespace {

io::FileSystem* or_posix(io::FileSystem* fs) { return fs ? fs : io::posix_file_system(); }

std::string basename_of(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool delete_quietly(io::FileSystem* fs, const std::string& path) {
  try {
    if (fs->exists(path)) fs->delete_file(path);
    return true;
  } catch (const Error&) {
    // TF logs and ignores failures to delete old checkpoint files.
    return false;
  }
}

void delete_matching(io::FileSystem* fs, const std::string& dir, const std::string& pattern) {
  std::vector<std::string> names;
  try {
    names = fs->list_dir(dir);
  } catch (const Error&) {
    return;
  }
  for (const auto& name : names)
    if (fnmatch(pattern.c_str(), name.c_str(), FNM_PATHNAME) == 0)
      delete_quietly(fs, io::join_path(dir, name));
}

}  // namespace

std::optional<io::CheckpointState> get_checkpoint_state(const std::string& dir,
                                                        const std::string& latest_filename,
                                                        io::FileSystem* fs) {
  fs = or_posix(fs);
  std::string file = io::join_path(dir, latest_filename);
  if (!fs->exists(file)) return std::nullopt;
  io::CheckpointState state;
  try {
    state = io::read_checkpoint_state(dir, fs, latest_filename);
  } catch (const DataLossError&) {
    return std::nullopt;  // TF: "<file>: Checkpoint ignored"
  }
  if (state.model_checkpoint_path.empty())
    throw InvalidArgumentError("Invalid checkpoint state loaded from " + dir);
  state.model_checkpoint_path = io::resolve_checkpoint_path(dir, state.model_checkpoint_path);
  for (auto& p : state.all_model_checkpoint_paths) p = io::resolve_checkpoint_path(dir, p);
  return state;
}

std::optional<std::string> latest_checkpoint(const std::string& dir,
                                             const std::string& latest_filename,
                                             io::FileSystem* fs) {
  auto state = get_checkpoint_state(dir, latest_filename, fs);
  if (!state) return std::nullopt;
  if (!kiln::checkpoint_exists(state->model_checkpoint_path, fs)) return std::nullopt;
  return state->model_checkpoint_path;
}

bool checkpoint_exists(const std::string& prefix, io::FileSystem* fs) {
  return io::checkpoint_exists(prefix, or_posix(fs));
}

void remove_checkpoint(const std::string& prefix, io::FileSystem* fs) {
  fs = or_posix(fs);
  std::string dir = io::dirname(prefix);
  std::string base = basename_of(prefix);
  if (fs->exists(prefix + ".index")) {
    // The index first, and nothing else when it cannot be deleted: a failure leaves either a
    // complete checkpoint or data files no index names, never an index without its data.
    if (!delete_quietly(fs, prefix + ".index")) return;
    delete_matching(fs, dir, base + ".data-?????" "-of-?????");
    delete_quietly(fs, prefix + ".meta");
  } else {
    delete_quietly(fs, prefix + ".meta");
    delete_matching(fs, dir, base);
  }
}

}  // namespace kiln

// The `checkpoint` state file: which checkpoint in a directory is the newest (TF's
// CheckpointState, written by Saver.save and read by tf.train.latest_checkpoint).
//
//   auto prefix = io::latest_checkpoint("/train");      // "/train/model.ckpt-1000" or nullopt
//   io::CheckpointState s = io::read_checkpoint_state("/train");
//
// The file is protobuf text format (io/proto/checkpoint_state.proto). Paths are returned as
// written; latest_checkpoint() resolves a relative path against the directory, as TF does.
// Paths outside the directory are followed for reading exactly as TF does: a relative path is
// joined onto DIR without normalization ("../x" -> "DIR/../x", which escapes DIR) and an absolute
// path is used as is. Nothing here writes or deletes through them; the state file itself is the
// only file written (Saver: see recover_state in io/saver.h).
//
// Errors: a missing state file -> NotFoundError naming it; text that does not parse ->
// DataLossError naming the file and the parser's line:column message.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/file.h"

namespace kiln::io {

inline constexpr const char* kCheckpointStateFilename = "checkpoint";

struct CheckpointState {
  std::string model_checkpoint_path;
  std::vector<std::string> all_model_checkpoint_paths;
  std::vector<double> all_model_checkpoint_timestamps;
  double last_preserved_timestamp = 0;
};

// Text-format (de)serialization; `filename` only names the source in error messages.
CheckpointState parse_checkpoint_state(std::string_view text, const std::string& filename = "");
std::string format_checkpoint_state(const CheckpointState& state);

// Reads DIR/`state_filename`.  `fs` null: posix_file_system().
CheckpointState read_checkpoint_state(const std::string& dir, FileSystem* fs = nullptr,
                                      const std::string& state_filename = kCheckpointStateFilename);
// Writes DIR/`state_filename` atomically (temporary file, sync, rename; sync = false: no fsync).
void write_checkpoint_state(const std::string& dir, const CheckpointState& state,
                            FileSystem* fs = nullptr,
                            const std::string& state_filename = kCheckpointStateFilename,
                            bool sync = true);

// TF's update_checkpoint_state_internal: writes DIR/`state_filename` (DIR = save_dir) naming
// `model_checkpoint_path` as the newest and `all_model_checkpoint_paths` (the model path is
// appended when the list is empty or ends with another path). Paths: when save_dir is relative,
// relative paths are written relative to it; with save_relative_paths, absolute ones are too;
// otherwise paths are written as given. InvalidArgumentError "Save path 'P' conflicts with path
// used for checkpoint state.  Please use a different save path." when DIR/state_filename is P.
void update_checkpoint_state(const std::string& save_dir, const std::string& model_checkpoint_path,
                             const std::vector<std::string>& all_model_checkpoint_paths,
                             const std::string& state_filename = kCheckpointStateFilename,
                             bool save_relative_paths = false, FileSystem* fs = nullptr,
                             bool sync = true);

// `path` resolved against `dir` when relative (join_path), unchanged when absolute.
std::string resolve_checkpoint_path(const std::string& dir, const std::string& path);

// True when a checkpoint exists at `prefix`: P.index (V2), the file P itself (V1), or, for a V1
// pattern such as "model-?????-of-00003", at least one matching file.
bool checkpoint_exists(const std::string& prefix, FileSystem* fs = nullptr);

// The newest checkpoint's prefix in `dir` (model_checkpoint_path, resolved), or nullopt when
// there is no state file, it names no checkpoint, or that checkpoint's files are gone.
// A state file that does not parse still throws DataLossError.
std::optional<std::string> latest_checkpoint(const std::string& dir, FileSystem* fs = nullptr);

}  // namespace kiln::io

// TF1's checkpoint management functions (tf.train.latest_checkpoint, get_checkpoint_state,
// checkpoint_exists, remove_checkpoint), public API in namespace kiln; see
// shared/reference/tf-checkpoint-format.md §2.
//
//   if (auto p = kiln::latest_checkpoint("/train")) saver.restore(sess, *p);
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "io/checkpoint_state.h"
#include "io/file.h"

namespace kiln {

// DIR/latest_filename parsed, with every relative path joined onto DIR (no normalization, as
// TF). nullopt when the file is missing or does not parse. InvalidArgumentError "Invalid
// checkpoint state loaded from DIR" when it names no model_checkpoint_path.
std::optional<io::CheckpointState> get_checkpoint_state(
    const std::string& dir, const std::string& latest_filename = io::kCheckpointStateFilename,
    io::FileSystem* fs = nullptr);

// The newest checkpoint's prefix when its files exist, else nullopt.
std::optional<std::string> latest_checkpoint(
    const std::string& dir, const std::string& latest_filename = io::kCheckpointStateFilename,
    io::FileSystem* fs = nullptr);

// True when P.index (V2) or a V1 file for P exists. (Inside namespace kiln, a call passing an
// io::FileSystem* must be qualified, kiln::checkpoint_exists, since ADL also finds
// io::checkpoint_exists.)
bool checkpoint_exists(const std::string& prefix, io::FileSystem* fs = nullptr);

// Deletes P.index, then P.data-?????-of-????? and P.meta (V2); when P has no index, P.meta and
// the V1 files P names. Missing files and failed deletions are ignored, but when P.index cannot
// be deleted nothing else is (a complete checkpoint stays rather than an index without data).
void remove_checkpoint(const std::string& prefix, io::FileSystem* fs = nullptr);

}  // namespace kiln

// The files of a Saver's checkpoints on disk, as io/saver.cc names, drops and sweeps them.
// Internal to the Saver (io/saver.cc, io/saver_write.cc); POSIX paths.
#pragma once

#include <optional>
#include <string>

#include "io/file.h"

namespace kiln::io {

// The last path component ("a/b/m.ckpt" -> "m.ckpt").
std::string basename_of(const std::string& path);
// "<prefix>-0000i-of-0000n", the name of shard i of n.
std::string shard_name(const std::string& prefix, int i, int n);
// Modification time in seconds of P.index, else of P; nullopt when neither exists.
std::optional<double> checkpoint_mtime(const std::string& prefix);
// Deletes what is left of a dropped checkpoint: P.index first (when that fails, nothing else,
// so the checkpoint stays complete), then P.data-?????-of-????? and P.meta. Returns true when no
// file of P is left. Errors are swallowed (TF ignores failed deletions of old checkpoints).
bool delete_checkpoint_files(FileSystem* fs, const std::string& prefix);
// True when `path`'s parent is `dir`, lexically ("a/../b/x" is in "b", not in "a").
bool in_directory(const std::string& path, const std::string& dir);
// How long an index-less data file must have been in place before the sweep takes it for an
// orphan (see remove_save_leftovers): far above the milliseconds between a writer's data and
// index renames, and above modest clock skew of a network file system.
constexpr double kOrphanDataMinAgeSeconds = 600;
// Removes, best effort, what a save killed half way leaves in `dir` (temporary bundle, state
// and meta files; sharded temp directories; data files whose index never came or was deleted,
// once they are `orphan_min_age_seconds` old). Committed checkpoints are never touched; see the
// definition for exactly what is and is not removed. REQUIRES: no save into `dir` in flight
// (the caller holds the directory lock exclusively).
void remove_save_leftovers(FileSystem* fs, const std::string& dir,
                           const std::string& latest_filename, const std::string& meta_suffix,
                           double orphan_min_age_seconds = kOrphanDataMinAgeSeconds);

}  // namespace kiln::io

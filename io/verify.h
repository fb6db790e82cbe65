// verify_checkpoint: a full consistency check of a V1 or V2 checkpoint, for `kiln verify`.
//
// Reads every block of every table (.index of a V2 bundle, each file of a V1 checkpoint) and
// every tensor, checking each block checksum, each tensor checksum (and strings' length
// checksums), each entry's dtype, shape, shard and offset+size against its data file, that the
// slices of each partitioned tensor lie inside its shape and are all stored, and that every data
// file the header announces exists.
//
// Returns the first problem found as one line naming the file and tensor, or "" when the
// checkpoint is sound. Never throws for a bad checkpoint (only for std::bad_alloc).
#pragma once

#include <string>

#include "io/file.h"

namespace kiln::io {

// `prefix_or_pattern` as CheckpointReader takes it; `fs` null: posix_file_system().
std::string verify_checkpoint(const std::string& prefix_or_pattern, FileSystem* fs = nullptr);

}  // namespace kiln::io

// Finding a checkpoint's files from what a user typed, with TF's detection rules
// (shared/reference/tf-checkpoint-format.md §1.12, §3.8, §5):
//   V2  P.index exists
//   V1  P contains '?', '*' or '[': the files its last component matches (a glob)
//       the file P itself
//       P-00000-of-0000N ... P-0000(N-1)-of-0000N (all N must be there)
// Anything else is TF's NotFoundError "Unsuccessful TensorSliceReader constructor: Failed to find
// any matching files for P", to which we add what to pass instead when P names a file of a
// checkpoint (P.index, P.data-00000-of-00001, P.meta, a `checkpoint` state file) or a directory.
#pragma once

#include <string>
#include <vector>

#include "io/file.h"

namespace kiln::io {

struct CheckpointFiles {
  bool v2 = false;
  std::string prefix;                 // what was given
  std::vector<std::string> v1_files;  // V1 only: the files, sorted
};

CheckpointFiles find_checkpoint_files(FileSystem* fs, const std::string& prefix_or_pattern);

// When `path` names a file of a checkpoint rather than its prefix, one sentence saying which
// prefix to pass; "" otherwise.
std::string wrong_prefix_hint(FileSystem* fs, const std::string& path);

}  // namespace kiln::io

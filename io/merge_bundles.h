// merge_bundles: TF's MergeBundles, the last step of a sharded save. Several bundles (one per
// device, written side by side) become one bundle at `merged_prefix`:
//   - the entries of all inputs go into one new merged_prefix.index (key order), each entry's
//     shard_id rewritten;
//   - every data file an entry points into is RENAMED to merged_prefix.data-0000i-of-0000N, ids
//     handed out in order of first appearance (inputs in the given order); no tensor bytes are
//     copied, so the inputs must live on the same file system;
//   - the input .index files are deleted (errors ignored). Deleting the inputs' directories is
//     the caller's business (TF's op does it when they differ from merged_prefix's).
// Partitioned tensors may be spread over inputs: their slice lists are concatenated (dtype and
// full shape must agree).
//
// Errors, TF's messages, all InvalidArgumentError and raised before anything is renamed:
//   "Merging bundles with conflicting endianness; inputs corrupted?"
//   "Merging bundles with different format versions: merged A vs. B"
//   "Duplicate tensor keyed by K encountered, when merging prefix: P"
// A missing input is NotFoundError; corrupt inputs DataLossError (see BundleReader). When a
// rename or the index write fails, the data files already renamed are renamed back (best effort)
// and the error is rethrown: no merged data file is left without its index.
//
// One difference from TF, on purpose: the merged header's num_shards is the number of data files
// written (TF writes the sum of the inputs' num_shards, which differs only when an input has a
// data file no entry uses, and then leaves a header that names files that do not exist). With no
// tensors at all an empty merged_prefix.data-00000-of-00001 is written so the bundle is complete.
#pragma once

#include <string>
#include <vector>

#include "io/file.h"

namespace kiln::io {

// `fs` null: posix_file_system(). REQUIRES: prefixes is not empty.
void merge_bundles(FileSystem* fs, const std::vector<std::string>& prefixes,
                   const std::string& merged_prefix);

}  // namespace kiln::io

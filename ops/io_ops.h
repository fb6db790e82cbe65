// The ops of TF's checkpoint subgraph (io_ops): SaveV2, RestoreV2, MergeV2Checkpoints,
// ShardedFilename, ShardedFilespec, StringJoin, and the V1 Save/SaveSlices/Restore/RestoreSlice,
// plus PlaceholderWithDefault and Pack, which that subgraph uses. Signatures, attrs and shape
// inference only: kiln::Saver builds these nodes so that an exported MetaGraphDef carries a
// SaverDef TensorFlow can run, and reads them in imported graphs to learn which checkpoint key
// restores which variable. kiln itself saves and restores natively (io/saver.h), so these ops
// have no kernels: running one directly fails with an error naming it.
#pragma once

namespace kiln {

void RegisterIoOps();

}  // namespace kiln

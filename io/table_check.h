// Internal to io/table.cc: structural checks a table must pass before LevelDB sees it.
//
// LevelDB allocates a buffer of a block handle's size before it reads the block, so a corrupt
// or hostile footer or index entry could make it allocate terabytes. These checks read the
// footer and the index block themselves (both are small) and verify that every block handle
// lies inside the file. They do not verify data blocks' contents; LevelDB does that on read.
#pragma once

#include <cstdint>

#include "io/file.h"

namespace kiln::io {

// Throws DataLossError naming the file unless the footer's magic number is right, the metaindex
// and index blocks' checksums match, and every handle (metaindex, index, each data block) fits in
// [0, file_size - 48).
void check_table_structure(const RandomAccessFile& file, uint64_t file_size);

}  // namespace kiln::io

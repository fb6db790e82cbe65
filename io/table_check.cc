// Table layout checked here (LevelDB's table format, as TF's .index files use it):
//   [data block + trailer]* [metaindex block + trailer] [index block + trailer] [footer]
//   trailer: 1 byte compression type (0 none, 1 snappy), fixed32 masked crc32c(block ‖ type)
//   footer (48 bytes): metaindex handle, index handle (varint64 offset, varint64 size each),
//                      zero padding to 40 bytes, fixed64 magic 0xdb4775248b80fb57
//   block: entries (varint32 shared, varint32 unshared, varint32 value length, key delta,
//          value), then fixed32 restart offsets, then fixed32 restart count
//   index block values: the handle of one data block each
#include "io/table_check.h"

#include <snappy-c.h>

#include <string>

#include "core/errors.h"
#include "io/coding.h"
#include "io/crc32c.h"

namespace kiln::io {
namespace {

constexpr uint64_t kFooterSize = 48;
constexpr uint64_t kTrailerSize = 5;
constexpr uint64_t kTableMagic = 0xdb4775248b80fb57ull;
// Snappy never expands by more than ~21x (a 3-byte copy op yields at most 64 bytes).
constexpr uint64_t kMaxSnappyExpansion = 24;

struct Handle {
  uint64_t offset = 0;
  uint64_t size = 0;
};

[[noreturn]] void corrupt(const RandomAccessFile& file, const std::string& what) {
  throw DataLossError("Unable to open table file " + file.name() + ": " + what);
}

const char* decode_handle(const char* p, const char* limit, Handle* h) {
  p = get_varint64(p, limit, &h->offset);
  return p ? get_varint64(p, limit, &h->size) : nullptr;
}

void check_handle(const RandomAccessFile& file, const Handle& h, uint64_t limit,
                  const char* what) {
  if (h.offset > limit || h.size > limit - h.offset || kTrailerSize > limit - h.offset - h.size)
    corrupt(file, std::string("corrupted ") + what + " block handle (offset " +
                      std::to_string(h.offset) + ", size " + std::to_string(h.size) +
                      ") beyond the end of the table (" + std::to_string(limit) + " bytes)");
}

// Reads a block whose handle was checked, verifies its checksum and decompresses it.
std::string read_block(const RandomAccessFile& file, const Handle& h, bool verify_crc = true) {
  std::string raw = file.read(h.offset, h.size + kTrailerSize);
  const char type = raw[h.size];  // read before resize() overwrites it with the terminator
  uint32_t stored = crc32c::unmask(decode_fixed32(raw.data() + h.size + 1));
  if (verify_crc && crc32c::value(raw.data(), h.size + 1) != stored)
    corrupt(file, "block checksum mismatch");
  raw.resize(h.size);
  if (type == 0) return raw;
  if (type != 1) corrupt(file, "bad block type");
  size_t length = 0;
  if (snappy_uncompressed_length(raw.data(), raw.size(), &length) != SNAPPY_OK ||
      length > kMaxSnappyExpansion * raw.size() + 64)
    corrupt(file, "corrupted compressed block contents");
  std::string out(length, '\0');
  if (snappy_uncompress(raw.data(), raw.size(), out.data(), &length) != SNAPPY_OK ||
      length != out.size())
    corrupt(file, "corrupted compressed block contents");
  return out;
}

// Walks a block's entries, calling on_entry(value, value_size) for each. Every length must fit in
// what is left of the block, computed in 64 bits: LevelDB's own check adds two 32-bit lengths and
// can wrap, after which it appends a ~4 GB key read past the block (a fuzz finding of 2026-12-04,
// inside LevelDB's Block::Iter, so blocks are walked here before LevelDB parses them).
template <typename OnEntry>
void walk_block(const RandomAccessFile& file, const std::string& block, const char* what,
                OnEntry&& on_entry) {
  if (block.size() < 4) corrupt(file, std::string("bad ") + what + " block contents");
  const char* base = block.data();
  uint64_t restarts = decode_fixed32(base + block.size() - 4);
  if (restarts > (block.size() - 4) / 4) corrupt(file, std::string("bad ") + what + " block contents");
  const char* end = base + block.size() - 4 - 4 * restarts;
  const char* p = base;
  uint64_t last_key_size = 0;
  while (p < end) {
    uint32_t shared, unshared, value_size;
    p = get_varint32(p, end, &shared);
    if (p) p = get_varint32(p, end, &unshared);
    if (p) p = get_varint32(p, end, &value_size);
    if (p == nullptr || shared > last_key_size || unshared > uint64_t(end - p) ||
        value_size > uint64_t(end - p) - unshared)
      corrupt(file, std::string("bad entry in ") + what + " block");
    on_entry(p + unshared, value_size);
    p += uint64_t{unshared} + value_size;
    last_key_size = uint64_t{shared} + unshared;
  }
}

// Checks each data block handle of the index block and walks the data block itself. (Reads every
// data block once more at open: small for .index files; for a V1 checkpoint, whose tensor bytes
// live in the table, it doubles the reading, the price of never letting LevelDB parse an
// unchecked block.)
void check_index_block(const RandomAccessFile& file, const std::string& block, uint64_t limit) {
  walk_block(file, block, "index", [&](const char* value, uint32_t value_size) {
    Handle h;
    if (decode_handle(value, value + value_size, &h) == nullptr)
      corrupt(file, "bad entry in index block");
    check_handle(file, h, limit, "data");
#ifdef KILN_FUZZ_NO_TABLE_CHECKSUMS
    const std::string data = read_block(file, h, /*verify_crc=*/false);
#else
    const std::string data = read_block(file, h);
#endif
    walk_block(file, data, "data", [](const char*, uint32_t) {});
  });
}

}  // namespace

void check_table_structure(const RandomAccessFile& file, uint64_t file_size) {
  if (file_size < kFooterSize) corrupt(file, "file is too short to be an sstable");
  std::string footer = file.read(file_size - kFooterSize, kFooterSize);
  if (decode_fixed64(footer.data() + 40) != kTableMagic)
    corrupt(file, "not an sstable (bad magic number)");
  Handle meta, index;
  const char* p = decode_handle(footer.data(), footer.data() + 40, &meta);
  if (p == nullptr || decode_handle(p, footer.data() + 40, &index) == nullptr)
    corrupt(file, "bad block handle in footer");
  const uint64_t limit = file_size - kFooterSize;
  check_handle(file, meta, limit, "metaindex");
  check_handle(file, index, limit, "index");
  read_block(file, meta);  // LevelDB never reads it without a filter policy; check it anyway
  check_index_block(file, read_block(file, index), limit);
}

}  // namespace kiln::io

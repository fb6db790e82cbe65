// LevelDB-format tables (SSTables), the container of a bundle's .index file, through LevelDB's
// public table API with the options TensorFlow's bundle writer uses.
//
// Writer options (TF's table_options.h): no compression, 256 KiB data blocks, restart interval 16
// for data blocks and 1 for the index block (LevelDB forces 1 there too), no filter block, an
// empty metaindex block. For tables of small entries the output is byte-identical to TF's
// writer. One known difference: newer TF builders also cut a block *before* an entry whose
// key+value is >= 2 * block_size; LevelDB 1.23 does not. Bundle entries are tiny protos, so only
// a tensor with tens of thousands of slices could ever tell the two apart.
//
// The reader accepts uncompressed and Snappy-compressed blocks (older TF wrote the latter),
// verifies every block checksum, and before handing the file to LevelDB checks that the footer
// and every block handle in the index lie inside the file, so a hostile or truncated file can
// never make it allocate more than the file's size. Errors: DataLossError naming the file.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "io/file.h"

namespace kiln::io {

inline constexpr size_t kTableBlockSize = 256 * 1024;
inline constexpr int kTableRestartInterval = 16;

class TableWriter {
 public:
  // Writes to `file` (not owned; must outlive the writer). The file is neither synced nor closed.
  explicit TableWriter(WritableFile* file);
  ~TableWriter();
  TableWriter(const TableWriter&) = delete;
  TableWriter& operator=(const TableWriter&) = delete;

  // REQUIRES: key is greater than every key added before (else InvalidArgumentError);
  // finish() has not been called. A write failure throws the file's error, and every later call
  // throws it again (sticky first error).
  void add(std::string_view key, std::string_view value);
  // Writes the remaining data block, the metaindex and index blocks and the footer.
  void finish();
  uint64_t num_entries() const;
  // Bytes written so far (the file's final size after finish()).
  uint64_t file_size() const;

 private:
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

class TableReader {
 public:
  // Takes ownership of `file`, whose size is `file_size`. Throws DataLossError when the file is
  // not a sound table ("not an sstable (bad magic number)", "block checksum mismatch", ...).
  TableReader(std::unique_ptr<RandomAccessFile> file, uint64_t file_size);
  ~TableReader();
  TableReader(const TableReader&) = delete;
  TableReader& operator=(const TableReader&) = delete;

  // The value stored under `key`, or nullopt. Thread-safe.
  std::optional<std::string> get(std::string_view key) const;

  // Walks entries in key order. One iterator per thread.
  class Iterator {
   public:
    ~Iterator();
    void seek_to_first();
    void seek(std::string_view target);  // first entry with key >= target
    bool valid() const;
    void next();
    std::string_view key() const;    // REQUIRES: valid()
    std::string_view value() const;  // REQUIRES: valid()

   private:
    friend class TableReader;
    struct Rep;
    explicit Iterator(std::unique_ptr<Rep> rep);
    void check() const;  // throws when the underlying iterator hit corruption
    std::unique_ptr<Rep> rep_;
  };
  std::unique_ptr<Iterator> new_iterator() const;

  const std::string& name() const;

 private:
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

}  // namespace kiln::io

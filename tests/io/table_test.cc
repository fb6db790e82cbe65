// The table layer on its own: key order, lookups, and tables with Snappy-compressed blocks
// everywhere (older TF wrote those; LevelDB itself builds one here).
#include "io/table.h"

#include <gtest/gtest.h>
#include <leveldb/env.h>
#include <leveldb/options.h>
#include <leveldb/table_builder.h>

#include "core/errors.h"
#include "io/coding.h"
#include "io/mem_file_system.h"
#include "io_test_util.h"

namespace kiln::io {
namespace {

// LevelDB's own writer needs a leveldb::WritableFile: collect the bytes in a string.
class StringSink final : public leveldb::WritableFile {
 public:
  leveldb::Status Append(const leveldb::Slice& data) override {
    contents.append(data.data(), data.size());
    return leveldb::Status::OK();
  }
  leveldb::Status Close() override { return leveldb::Status::OK(); }
  leveldb::Status Flush() override { return leveldb::Status::OK(); }
  leveldb::Status Sync() override { return leveldb::Status::OK(); }
  std::string contents;
};

std::string key(int i) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "a/long/shared/prefix/that/compresses/well/key%06d", i);
  return buf;
}

TableReader open(MemFileSystem& fs, const std::string& name) {
  return TableReader(fs.new_random_access_file(name), fs.file_size(name));
}

TEST(Table, WriteLookupIterate) {
  MemFileSystem fs;
  auto f = fs.new_writable_file("t");
  TableWriter writer(f.get());
  for (int i = 0; i < 1000; ++i) writer.add(key(i), "value" + std::to_string(i));
  KILN_EXPECT_ERROR(writer.add(key(5), "x"), InvalidArgumentError, "increasing order");
  writer.finish();
  EXPECT_EQ(writer.num_entries(), 1000u);
  f->close();
  EXPECT_EQ(writer.file_size(), fs.file_size("t"));

  TableReader reader = open(fs, "t");
  EXPECT_EQ(reader.get(key(123)), "value123");
  EXPECT_FALSE(reader.get("zzz"));
  auto it = reader.new_iterator();
  it->seek(key(998));
  ASSERT_TRUE(it->valid());
  EXPECT_EQ(it->key(), key(998));
  it->next();
  it->next();
  EXPECT_FALSE(it->valid());
}

TEST(Table, ReadsSnappyCompressedDataAndIndexBlocks) {
  leveldb::Options options;
  options.compression = leveldb::kSnappyCompression;
  options.block_size = 1024;  // many data blocks, so the index block is big enough to compress
  StringSink sink;
  leveldb::TableBuilder builder(options, &sink);
  for (int i = 0; i < 5000; ++i) builder.Add(key(i), std::string(40, 'v'));
  ASSERT_TRUE(builder.Finish().ok());

  // The footer's index handle: its block's trailer type must be 1 (Snappy).
  const std::string& t = sink.contents;
  uint64_t meta_off = 0, meta_size = 0, index_off = 0, index_size = 0;
  const char* p = t.data() + t.size() - 48;
  p = get_varint64(p, p + 40, &meta_off);
  p = get_varint64(p, p + 40, &meta_size);
  p = get_varint64(p, p + 40, &index_off);
  get_varint64(p, p + 40, &index_size);
  ASSERT_EQ(t[index_off + index_size], 1) << "index block is not Snappy-compressed";

  MemFileSystem fs;
  fs.set_contents("t", t);
  TableReader reader = open(fs, "t");
  auto it = reader.new_iterator();
  int n = 0;
  for (it->seek_to_first(); it->valid(); it->next()) {
    ASSERT_EQ(it->key(), key(n));
    ++n;
  }
  EXPECT_EQ(n, 5000);

  // A corrupted compressed index block is caught by its checksum.
  std::string bad = t;
  bad[index_off + 3] ^= 0x40;
  fs.set_contents("bad", bad);
  KILN_EXPECT_ERROR(open(fs, "bad"), DataLossError, "block checksum mismatch");
}

}  // namespace
}  // namespace kiln::io

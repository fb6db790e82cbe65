// Damaged and hostile bundles: every case must end in a typed kiln error (never a crash, hang or
// huge allocation), and damage to tensor bytes must never go unnoticed.
#include <gtest/gtest.h>

#include "core/errors.h"
#include "io/bundle_reader.h"
#include "io/bundle_writer.h"
#include "io/coding.h"
#include "io/mem_file_system.h"
#include "io/table.h"
#include "io_test_util.h"

namespace kiln::io {
namespace {

const char kIndex[] = "b.index";
const char kData[] = "b.data-00000-of-00001";

class BundleCorruption : public ::testing::Test {
 protected:
  void SetUp() override {
    BundleWriter writer("b", {.fs = &fs_});
    writer.add("floats", Tensor::of<float>({1, 2, 3, 4, 5, 6}, {2, 3}));
    writer.add("ints", Tensor::of<int64_t>({7, 8}, {2}));
    writer.add("strings", Tensor::of_strings({"hello", "", "world!"}, {3}));
    writer.finish();
    index_ = fs_.get_contents(kIndex);
    data_ = fs_.get_contents(kData);
  }

  // Opens the bundle and reads every tensor; returns normally only if all of that worked.
  void read_everything() {
    BundleReader reader("b", &fs_);
    for (const std::string& key : reader.keys()) reader.lookup(key);
  }

  // Writes an index holding `header` and the given raw entries.
  void write_index(const BundleHeader& header,
                   const std::vector<std::pair<std::string, std::string>>& entries) {
    auto f = fs_.new_writable_file(kIndex);
    TableWriter table(f.get());
    table.add("", encode_header(header));
    for (const auto& [k, v] : entries) table.add(k, v);
    table.finish();
    f->close();
  }
  static BundleHeader good_header() {
    BundleHeader h;
    h.version.producer = 1;
    return h;
  }
  void write_entry(const BundleEntry& e) { write_index(good_header(), {{"t", encode_entry(e)}}); }

  MemFileSystem fs_;
  std::string index_, data_;
};

TEST_F(BundleCorruption, IntactBundleReads) { read_everything(); }

TEST_F(BundleCorruption, TruncatedIndexAtEveryLength) {
  for (size_t len = 0; len < index_.size(); ++len) {
    SCOPED_TRACE(len);
    fs_.set_contents(kIndex, index_.substr(0, len));
    EXPECT_THROW(read_everything(), DataLossError);
  }
  fs_.set_contents(kIndex, "");
  KILN_EXPECT_ERROR(BundleReader("b", &fs_), DataLossError, "file is too short to be an sstable");
}

TEST_F(BundleCorruption, TruncatedDataAtEveryLength) {
  for (size_t len = 0; len < data_.size(); ++len) {
    SCOPED_TRACE(len);
    fs_.set_contents(kData, data_.substr(0, len));
    EXPECT_THROW(read_everything(), DataLossError);
  }
}

TEST_F(BundleCorruption, EveryByteFlipInDataIsDetected) {
  for (size_t i = 0; i < data_.size(); ++i) {
    SCOPED_TRACE(i);
    std::string bad = data_;
    bad[i] ^= 0x20;
    fs_.set_contents(kData, bad);
    EXPECT_THROW(read_everything(), DataLossError);
  }
}

TEST_F(BundleCorruption, ByteFlipsInIndexAreDetectedOrHarmless) {
  int detected = 0;
  for (size_t i = 0; i < index_.size(); ++i) {
    SCOPED_TRACE(i);
    std::string bad = index_;
    bad[i] ^= 0x01;
    fs_.set_contents(kIndex, bad);
    try {
      read_everything();  // only the footer's unused padding may change without notice
      EXPECT_GE(i, index_.size() - 48) << "undetected flip outside the footer";
    } catch (const Error& e) {
      ++detected;
      EXPECT_TRUE(e.code() == ErrorCode::kDataLoss) << e.what();
    }
  }
  EXPECT_GT(detected, static_cast<int>(index_.size()) - 48);
}

TEST_F(BundleCorruption, WrongMagic) {
  std::string bad = index_;
  bad[bad.size() - 1] ^= 0xff;
  fs_.set_contents(kIndex, bad);
  KILN_EXPECT_ERROR(BundleReader("b", &fs_), DataLossError, "not an sstable (bad magic number)");
  // A data file passed where an index is expected.
  fs_.set_contents(kIndex, data_);
  KILN_EXPECT_ERROR(BundleReader("b", &fs_), DataLossError, "b.index");
}

TEST_F(BundleCorruption, MissingFiles) {
  fs_.delete_file(kData);
  BundleReader reader("b", &fs_);  // data files open lazily
  KILN_EXPECT_ERROR(reader.lookup("ints"), NotFoundError, kData);
  KILN_EXPECT_ERROR(BundleReader("nope", &fs_), NotFoundError, "nope.index");
}

TEST_F(BundleCorruption, HugeBlockHandleInFooterIsRejectedBeforeAllocating) {
  std::string bad = index_;
  std::string footer;
  put_varint64(&footer, 0);
  put_varint64(&footer, 8);
  put_varint64(&footer, 0);
  put_varint64(&footer, uint64_t{1} << 40);  // index block of 1 TiB
  footer.resize(40, '\0');
  bad.replace(bad.size() - 48, 40, footer);
  fs_.set_contents(kIndex, bad);
  KILN_EXPECT_ERROR(BundleReader("b", &fs_), DataLossError, "beyond the end of the table");
}

TEST_F(BundleCorruption, EntryPastTheEndOfItsFile) {
  BundleEntry e;
  e.dtype = DType::kFloat;
  e.shape = {2};
  e.offset = static_cast<int64_t>(data_.size()) - 4;
  e.size = 8;
  write_entry(e);
  KILN_EXPECT_ERROR(BundleReader("b", &fs_).lookup("t"), DataLossError, "points past the end");
  e.offset = int64_t{1} << 62;
  write_entry(e);
  KILN_EXPECT_ERROR(BundleReader("b", &fs_).lookup("t"), DataLossError, "points past the end");
}

TEST_F(BundleCorruption, HostileShapesSizesAndDTypes) {
  BundleEntry e;
  e.dtype = DType::kFloat;
  e.shape = {int64_t{1} << 40};  // 2^40 elements: the size check fails before any allocation
  e.size = 4;
  write_entry(e);
  KILN_EXPECT_ERROR(BundleReader("b", &fs_).lookup("t"), DataLossError,
                    "Invalid size in bundle entry: key t");
  e.size = int64_t{4} << 40;
  write_entry(e);
  KILN_EXPECT_ERROR(BundleReader("b", &fs_).lookup("t"), DataLossError, "points past the end");
  e.shape = {2, -3};
  write_entry(e);
  KILN_EXPECT_ERROR(BundleReader("b", &fs_).lookup("t"), DataLossError, "Invalid tensor shape");
  e.shape = {int64_t{1} << 40, int64_t{1} << 40};  // element count overflows
  write_entry(e);
  KILN_EXPECT_ERROR(BundleReader("b", &fs_).lookup("t"), DataLossError, "Invalid tensor shape");

  e.dtype = DType::kString;  // 2^40 strings claimed in 8 bytes
  e.shape = {int64_t{1} << 40};
  e.size = 8;
  write_entry(e);
  KILN_EXPECT_ERROR(BundleReader("b", &fs_).lookup("t"), DataLossError, "Invalid size");

  e.shape = {1};
  e.dtype = static_cast<DType>(8);  // DT_COMPLEX64: valid TF, not in kiln
  write_entry(e);
  KILN_EXPECT_ERROR(BundleReader("b", &fs_).lookup("t"), UnimplementedError, "dtype 8");
  e.dtype = static_cast<DType>(999);
  write_entry(e);
  KILN_EXPECT_ERROR(BundleReader("b", &fs_).lookup("t"), UnimplementedError, "dtype 999");
  e.dtype = DType::kInvalid;
  write_entry(e);
  KILN_EXPECT_ERROR(BundleReader("b", &fs_).lookup("t"), DataLossError, "DT_INVALID");

  e.dtype = DType::kFloat;
  e.size = 4;
  e.shard_id = 3;
  write_entry(e);
  KILN_EXPECT_ERROR(BundleReader("b", &fs_).lookup("t"), DataLossError, "Invalid shard_id 3");

  write_index(good_header(), {{"t", "\x12\x7f"}});
  KILN_EXPECT_ERROR(BundleReader("b", &fs_).lookup("t"), DataLossError, "not parseable");
}

TEST_F(BundleCorruption, HeaderChecks) {
  BundleHeader h = good_header();
  h.version.min_consumer = 2;
  write_index(h, {});
  KILN_EXPECT_ERROR(BundleReader("b", &fs_), InvalidArgumentError,
                    "Checkpoint min consumer version 2 above current version 1 for TensorFlow");
  h = good_header();
  h.version.producer = -1;
  write_index(h, {});
  KILN_EXPECT_ERROR(BundleReader("b", &fs_), InvalidArgumentError,
                    "Checkpoint producer version -1 below min producer 0 supported by TensorFlow");
  h = good_header();
  h.version.bad_consumers = {1};
  write_index(h, {});
  KILN_EXPECT_ERROR(BundleReader("b", &fs_), InvalidArgumentError,
                    "Checkpoint disallows consumer version 1.  Please upgrade TensorFlow");
  h = good_header();
  h.endianness = BundleHeader::Endianness::kBig;
  write_index(h, {});
  KILN_EXPECT_ERROR(BundleReader("b", &fs_), UnimplementedError, "different endianness");
  h = good_header();
  h.num_shards = 0;
  write_index(h, {});
  KILN_EXPECT_ERROR(BundleReader("b", &fs_), DataLossError, "invalid num_shards 0");

  // No header entry at all, and an unparseable one.
  {
    auto f = fs_.new_writable_file(kIndex);
    TableWriter table(f.get());
    table.add("t", "x");
    table.finish();
  }
  KILN_EXPECT_ERROR(BundleReader("b", &fs_), DataLossError, "failed to seek to header entry");
  {
    auto f = fs_.new_writable_file(kIndex);
    TableWriter table(f.get());
    table.add("", "\xff");
    table.finish();
  }
  KILN_EXPECT_ERROR(BundleReader("b", &fs_), DataLossError, "unable to parse header");
}

TEST_F(BundleCorruption, ChecksumMessagesNameTensorAndFile) {
  std::string bad = data_;
  bad[0] ^= 1;  // first float of "floats"
  fs_.set_contents(kData, bad);
  BundleReader reader("b", &fs_);
  KILN_EXPECT_ERROR(reader.lookup("floats"), DataLossError, "Checksum does not match");
  KILN_EXPECT_ERROR(reader.lookup("floats"), DataLossError, "tensor floats in b.data-00000-of-00001");
}

TEST_F(BundleCorruption, StringLengthChecksum) {
  // "strings" starts after 24 + 16 bytes: its first length byte is 5 ("hello").
  std::string bad = data_;
  ASSERT_EQ(bad[40], 5);
  bad[40] = 4;
  fs_.set_contents(kData, bad);
  KILN_EXPECT_ERROR(BundleReader("b", &fs_).lookup("strings"), DataLossError,
                    "The length checksum does not match");
}

}  // namespace
}  // namespace kiln::io

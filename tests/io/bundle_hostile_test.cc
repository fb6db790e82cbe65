// Hostile bundle items (issue 6), each built with the table and bundle_format helpers: an index
// header claiming a million (or 2^31-1) shards, entries whose offset+size point past the data
// file or overflow, shapes of 2^40 elements, negative dimensions, string lengths larger than the
// file, stored slice specs outside the full shape, and a `checkpoint` state file naming
// checkpoints outside its directory. Every read ends in a typed error (or, for the state file,
// follows TF's reading rules) with the host allocator's peak bounded by the files' sizes.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <climits>
#include <limits>

#include "core/allocator.h"
#include "core/errors.h"
#include "io/bundle_reader.h"
#include "io/bundle_writer.h"
#include "io/checkpoint_reader.h"
#include "io/checkpoint_state.h"
#include "io/coding.h"
#include "io/crc32c.h"
#include "io/mem_file_system.h"
#include "io/ordered_code.h"
#include "io/table.h"
#include "io/verify.h"
#include "io_test_util.h"
#include "kiln/kiln.h"

namespace kiln::io {
namespace {

// Fails the test if the host allocator's peak grows by 16 MiB or more while it lives.
struct PeakCheck {
  Allocator* host = host_allocator();
  int64_t before = host->stats().bytes_in_use;
  PeakCheck() { host->reset_peak(); }
  ~PeakCheck() {
    EXPECT_LT(host->stats().peak_bytes_in_use - before, int64_t{16} << 20)
        << "a hostile bundle cost more host memory than its files justify";
  }
};

class BundleHostile : public ::testing::Test {
 protected:
  // Writes b.index holding `header` and the given entries (sorted here).
  void write_index(const BundleHeader& header,
                   std::vector<std::pair<std::string, BundleEntry>> entries) {
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    auto f = fs_.new_writable_file("b.index");
    TableWriter table(f.get());
    table.add("", encode_header(header));
    for (const auto& [k, e] : entries) table.add(k, encode_entry(e));
    table.finish();
    f->close();
  }
  static BundleHeader header(int num_shards = 1) {
    BundleHeader h;
    h.num_shards = num_shards;
    h.version.producer = 1;
    return h;
  }
  // An entry for `values` (float) at `offset` of shard `shard`, with its true crc.
  static BundleEntry float_entry(const std::vector<float>& values, int64_t offset, int shard = 0) {
    BundleEntry e;
    e.dtype = DType::kFloat;
    e.shape = {static_cast<int64_t>(values.size())};
    e.shard_id = shard;
    e.offset = offset;
    e.size = static_cast<int64_t>(values.size() * 4);
    e.masked_crc32c =
        crc32c::mask(crc32c::value(reinterpret_cast<const char*>(values.data()), e.size));
    return e;
  }
  static std::string float_bytes(const std::vector<float>& values) {
    return std::string(reinterpret_cast<const char*>(values.data()), values.size() * 4);
  }
  // Reads `key` and expects ErrorType naming `substring`, within the memory bound.
  template <typename ErrorType>
  void expect_lookup_error(const std::string& key, const std::string& substring) {
    PeakCheck peak;
    BundleReader reader("b", &fs_);
    KILN_EXPECT_ERROR(reader.lookup(key), ErrorType, substring);
  }

  MemFileSystem fs_;
};

TEST_F(BundleHostile, HeaderClaimingAMillionShardsOpensNothingUpFront) {
  const std::vector<float> v{1, 2, 3};
  BundleEntry far = float_entry(v, 0, 999999);
  write_index(header(1000000), {{"near", float_entry(v, 0, 0)}, {"far", far}});
  fs_.set_contents(data_filename("b", 0, 1000000), float_bytes(v));
  EXPECT_EQ(data_filename("b", 0, 1000000), "b.data-00000-of-1000000");

  PeakCheck peak;
  const auto start = std::chrono::steady_clock::now();
  BundleReader reader("b", &fs_);  // data files are opened on first use only
  EXPECT_EQ(reader.header().num_shards, 1000000);
  EXPECT_EQ(reader.lookup("near").to_vector<float>(), v);
  KILN_EXPECT_ERROR(reader.lookup("far"), NotFoundError, "b.data-999999-of-1000000");
  // The verifier stops at the first announced data file that is missing (shard 1).
  EXPECT_NE(verify_checkpoint("b", &fs_).find("b.data-00001-of-1000000"), std::string::npos);
  CheckpointReader ckpt("b", &fs_);
  EXPECT_EQ(ckpt.get_tensor("near").to_vector<float>(), v);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));

  // INT_MAX shards, and shard ids outside [0, num_shards).
  write_index(header(INT_MAX), {{"t", float_entry(v, 0, 0)}});
  fs_.set_contents(data_filename("b", 0, INT_MAX), float_bytes(v));
  EXPECT_EQ(BundleReader("b", &fs_).lookup("t").to_vector<float>(), v);
  write_index(header(2), {{"neg", float_entry(v, 0, -1)}, {"out", float_entry(v, 0, 2)}});
  expect_lookup_error<DataLossError>("neg", "Invalid shard_id -1");
  expect_lookup_error<DataLossError>("out", "Invalid shard_id 2");
}

TEST_F(BundleHostile, OffsetPlusSizePastTheFileOrOverflowing) {
  const std::vector<float> v{1, 2, 3, 4};
  fs_.set_contents("b.data-00000-of-00001", float_bytes(v));  // 16 bytes
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  struct Case {
    const char* key;
    int64_t offset;
  };
  for (const Case& c : {Case{"one_past", 1}, Case{"at_end", 16}, Case{"far", 1 << 30},
                        Case{"max", kMax}, Case{"max_minus_8", kMax - 8}}) {
    SCOPED_TRACE(c.key);
    write_index(header(), {{c.key, float_entry(v, c.offset)}});
    expect_lookup_error<DataLossError>(c.key, "points past the end of data file");
    EXPECT_NE(verify_checkpoint("b", &fs_), "");
  }
  // Negative offsets; sizes that disagree with dtype x shape, up to INT64_MAX (uint64 wrap).
  BundleEntry neg = float_entry(v, -4);
  BundleEntry huge = float_entry(v, 8);
  huge.size = kMax;
  BundleEntry negsize = float_entry(v, 0);
  negsize.size = -16;
  write_index(header(), {{"huge", huge}, {"neg", neg}, {"negsize", negsize}});
  expect_lookup_error<DataLossError>("neg", "Invalid size in bundle entry");
  expect_lookup_error<DataLossError>("huge", "Invalid size in bundle entry");
  expect_lookup_error<DataLossError>("negsize", "Invalid size in bundle entry");
  EXPECT_NE(verify_checkpoint("b", &fs_), "");
}

TEST_F(BundleHostile, ShapesOf2To40ElementsAndNegativeDims) {
  fs_.set_contents("b.data-00000-of-00001", std::string(64, '\0'));
  const int64_t k2_20 = int64_t{1} << 20;
  BundleEntry big;  // 2^40 floats, size claimed consistently (4 TiB): past the 64-byte file
  big.dtype = DType::kFloat;
  big.shape = {k2_20, k2_20};
  big.size = int64_t{4} << 40;
  BundleEntry big_small_size = big;  // 2^40 floats claimed in 64 bytes
  big_small_size.size = 64;
  BundleEntry overflow = big;  // 2^60 * 2^20 elements: the element count overflows
  overflow.shape = {int64_t{1} << 60, k2_20};
  BundleEntry negative = big;
  negative.shape = {-1, 3};
  negative.size = 12;
  BundleEntry negative_zero = negative;  // a zero dimension must not hide a negative one
  negative_zero.shape = {0, -5};
  negative_zero.size = 0;
  BundleEntry strings = big;  // 2^40 strings in 64 bytes
  strings.dtype = DType::kString;
  strings.size = 64;
  write_index(header(), {{"big", big},
                         {"big_small_size", big_small_size},
                         {"negative", negative},
                         {"negative_zero", negative_zero},
                         {"overflow", overflow},
                         {"strings", strings}});
  expect_lookup_error<DataLossError>("big", "points past the end");
  expect_lookup_error<DataLossError>("big_small_size", "Invalid size in bundle entry");
  expect_lookup_error<DataLossError>("overflow", "Invalid tensor shape");
  expect_lookup_error<DataLossError>("negative", "Invalid tensor shape: [-1,3]");
  expect_lookup_error<DataLossError>("negative_zero", "Invalid tensor shape: [0,-5]");
  expect_lookup_error<DataLossError>("strings", "Invalid size in bundle entry");
  {
    PeakCheck peak;
    EXPECT_NE(verify_checkpoint("b", &fs_), "");
    CheckpointReader reader("b", &fs_);
    EXPECT_THROW(reader.get_tensor("big"), DataLossError);
  }
}

TEST_F(BundleHostile, StringLengthsLargerThanTheFile) {
  // Two strings whose varint lengths claim 2^40 and 2^62 bytes; the entry's size is the file's.
  std::string data;
  put_varint64(&data, uint64_t{1} << 40);
  put_varint64(&data, uint64_t{1} << 62);
  put_fixed32(&data, 0);
  data += "abcdef";
  fs_.set_contents("b.data-00000-of-00001", data);
  BundleEntry e;
  e.dtype = DType::kString;
  e.shape = {2};
  e.size = static_cast<int64_t>(data.size());
  BundleEntry one_long = e;  // one string, length 2^40, the rest of the file its bytes
  one_long.shape = {1};
  BundleEntry past = e;  // size claims more than the file holds
  past.size = int64_t{1} << 40;
  write_index(header(), {{"one_long", one_long}, {"past", past}, {"two", e}});
  expect_lookup_error<DataLossError>("two", "exceeds the stored size");
  expect_lookup_error<DataLossError>("one_long", "exceeds the stored size");
  expect_lookup_error<DataLossError>("past", "points past the end");
  // A truncated varint (every byte with its continuation bit set).
  fs_.set_contents("b.data-00000-of-00001", std::string(20, '\xff'));
  BundleEntry truncated = e;
  truncated.size = 20;
  write_index(header(), {{"truncated", truncated}});
  expect_lookup_error<DataLossError>("truncated", "string lengths are truncated or malformed");
}

TEST_F(BundleHostile, StoredSliceSpecsOutsideTheFullShape) {
  const std::vector<float> v{1, 2, 3, 4, 5};
  fs_.set_contents("b.data-00000-of-00001", float_bytes(v));
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  struct Case {
    const char* name;
    TensorSlice slice;
  };
  // The full tensor "t" is [4]; its one stored slice lies (partly) outside it.
  for (const Case& c : {Case{"past_end", {{2, 5}}},
                        Case{"start_past_end", {{7, 1}}},
                        Case{"overflowing", {{kMax, kMax}}},
                        Case{"start_max", {{kMax, 1}}},
                        Case{"negative_start", {{-3, 2}}},
                        Case{"rank_2", {{0, 2}, {0, 2}}}}) {
    SCOPED_TRACE(c.name);
    BundleEntry full;
    full.dtype = DType::kFloat;
    full.shape = {4};
    full.slices = {c.slice};
    std::vector<std::pair<std::string, BundleEntry>> entries{
        {"t", full}, {encode_slice_key("t", c.slice), float_entry(v, 0)}};
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    write_index(header(), entries);
    PeakCheck peak;
    BundleReader reader("b", &fs_);
    KILN_EXPECT_ERROR(reader.lookup("t"), DataLossError, "Stored slice is invalid");
    KILN_EXPECT_ERROR(reader.lookup_slice("t", {{0, 1}}), DataLossError, "Stored slice is invalid");
    // A request outside the shape is the caller's error.
    KILN_EXPECT_ERROR(reader.lookup_slice("t", {{3, 2}}), InvalidArgumentError, "outside");
    EXPECT_NE(verify_checkpoint("b", &fs_), "");
    CheckpointReader ckpt("b", &fs_);
    EXPECT_THROW(ckpt.get_tensor("t"), DataLossError);
  }
}

}  // namespace
}  // namespace kiln::io

// ---- A `checkpoint` state file naming checkpoints outside its directory ----
namespace kiln {
namespace {

struct OneVar {
  Graph g;
  Variable v{g, constant<float>(g, {1, 2}, Shape{2}), "v"};
  Operation init = global_variables_initializer(g);
};

// Reading follows TF: a relative path is joined onto the directory as written (so "../x"
// escapes it) and an absolute path is used as is; latest_checkpoint returns it when its files
// exist. The Saver never writes or deletes through such a path: it writes only files under its
// own save path and DIR/<latest_filename>, and recover_state adopts into its history (hence into
// retention) only checkpoints directly inside the save directory.
TEST(StateFileOutsideItsDirectory, FollowedForReadingNeverDeletedOrWritten) {
  io::testing::ScratchDir tmp;
  namespace stdfs = std::filesystem;
  const std::string ck = tmp.file("ck"), other = tmp.file("other");
  for (const std::string& d : {ck, other, ck + "/sub"}) stdfs::create_directories(d);
  OneVar m;
  Session sess(m.g);
  sess.run(m.init);
  Saver plain(m.g);
  plain.save(sess, other + "/abs", {.global_step = 1, .write_state = false});
  plain.save(sess, other + "/rel", {.global_step = 1, .write_state = false});
  plain.save(sess, ck + "/sub/nested", {.global_step = 1, .write_state = false});
  plain.save(sess, ck + "/inside", {.global_step = 1, .write_state = false});

  // Reading: "../other/rel-1" resolves to "CK/../other/rel-1" (TF joins, no normalization).
  io::CheckpointState state;
  state.model_checkpoint_path = "../other/rel-1";
  state.all_model_checkpoint_paths = {other + "/abs-1", "sub/nested-1", "inside-1",
                                      "../other/rel-1"};
  io::write_checkpoint_state(ck, state);
  EXPECT_EQ(latest_checkpoint(ck), ck + "/../other/rel-1");
  EXPECT_EQ(io::latest_checkpoint(ck), ck + "/../other/rel-1");
  auto got = get_checkpoint_state(ck);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->all_model_checkpoint_paths,
            (std::vector<std::string>{other + "/abs-1", ck + "/sub/nested-1", ck + "/inside-1",
                                      ck + "/../other/rel-1"}));
  Session fresh(m.g);
  plain.restore(fresh, *latest_checkpoint(ck));
  state.model_checkpoint_path = other + "/abs-1";
  io::write_checkpoint_state(ck, state);
  EXPECT_EQ(latest_checkpoint(ck), other + "/abs-1");
  plain.restore(fresh, *latest_checkpoint(ck));

  // Saving with recover_state and max_to_keep 1: only "inside-1" is adopted and retired.
  Saver saver(m.g, {.max_to_keep = 1, .recover_state = true});
  saver.save(sess, ck + "/m", {.global_step = 2});
  saver.save(sess, ck + "/m", {.global_step = 3});
  EXPECT_FALSE(kiln::checkpoint_exists(ck + "/inside-1"));
  EXPECT_FALSE(kiln::checkpoint_exists(ck + "/m-2"));
  for (const std::string& p : {other + "/abs-1", other + "/rel-1", ck + "/sub/nested-1", ck + "/m-3"})
    EXPECT_TRUE(kiln::checkpoint_exists(p)) << p;
  std::vector<std::string> names;
  for (const auto& e : stdfs::directory_iterator(other)) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"abs-1.data-00000-of-00001", "abs-1.index",
                                             "abs-1.meta", "rel-1.data-00000-of-00001",
                                             "rel-1.index", "rel-1.meta"}));
  EXPECT_EQ(latest_checkpoint(ck), ck + "/m-3");
  got = get_checkpoint_state(ck);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->all_model_checkpoint_paths, std::vector<std::string>{ck + "/m-3"});
}

}  // namespace
}  // namespace kiln

// Corruption sweeps over the checkpoints bundle_corruption_test.cc does not cover (RELIABILITY.md,
// "Not done yet"):
//   - a sharded V2 checkpoint as kiln::Saver writes it with sharded = true over three logical CPU
//     devices (three data files, one per device, and the merged .index): sampled single-byte
//     flips across the data files, every truncation of each data file, every byte of the merged
//     index flipped with each single-bit mask and with 0xff;
//   - the V1 checkpoint TensorFlow wrote (testdata/tf/v1_half_plus_two): every truncation, and
//     every byte replaced by each of its 255 other values.
// Each damaged copy is read through io::CheckpointReader (get_tensor and read_into of every key)
// and io::verify_checkpoint. The only acceptable outcomes are
//   - DataLossError from the reader, and a problem reported by the verifier, or
//   - exactly the saved tensors, and no problem from the verifier, which is allowed only for a
//     change no reader can see: in a table footer's zero padding, or a continuation bit on a
//     footer handle's last byte (the same number, encoded one byte longer into that padding).
// Another exception type, wrong values, a crash or a sanitizer report is a bug. Why: a checkpoint
// damaged on disk must never restore wrong weights, and restore and `kiln verify` tell damage
// apart from other failures (a missing file, a bad argument) by DataLossError.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/errors.h"
#include "io/checkpoint_reader.h"
#include "io/coding.h"
#include "io/mem_file_system.h"
#include "io/verify.h"
#include "io_test_util.h"
#include "kiln/kiln.h"

namespace kiln::io {
namespace {

using TensorMap = std::map<std::string, Tensor>;

bool same_tensor(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  if (a.dtype() == DType::kString) return a.to_vector<std::string>() == b.to_vector<std::string>();
  return a.bytes() == 0 || std::memcmp(a.raw_data(), b.raw_data(), a.bytes()) == 0;
}

// The four varints of a table footer's two block handles (metaindex, index), when they parse.
std::optional<std::array<uint64_t, 4>> footer_handles(const std::string& table) {
  if (table.size() < 48) return std::nullopt;
  const char* p = table.data() + table.size() - 48;
  const char* limit = p + 40;
  std::array<uint64_t, 4> fields;
  for (uint64_t& field : fields)
    if ((p = get_varint64(p, limit, &field)) == nullptr) return std::nullopt;
  return fields;
}

// True when `damaged` differs from the table file `original` (an .index, a V1 file) only in the
// footer's first 40 bytes and its block handles still decode to the same numbers: a change in
// the zero padding after them, or a continuation bit set on a handle's last byte, which makes the
// varint one byte longer (into the zero padding) with the same value. No reader can see either.
bool only_footer_encoding_changed(const std::string& original, const std::string& damaged) {
  const size_t footer = original.size() - 48;
  auto before = footer_handles(original);
  return before && damaged.size() == original.size() &&
         damaged.compare(0, footer, original, 0, footer) == 0 &&
         damaged.compare(footer + 40, 8, original, footer + 40, 8) == 0 &&
         footer_handles(damaged) == before;
}

// Replaces files of a checkpoint in a MemFileSystem with damaged copies, reads each copy both
// ways and tallies the outcomes. Bugs are counted; the first few are described.
class DamageSweep {
 public:
  DamageSweep(MemFileSystem* fs, std::string prefix, TensorMap expected)
      : fs_(fs), prefix_(std::move(prefix)), expected_(std::move(expected)) {}

  enum class Outcome { kDataLoss, kIntact, kBug };

  // Puts `damaged` in place of `file`, reads the checkpoint, puts the original back.
  Outcome try_damage(const std::string& file, const std::string& damaged, const std::string& what) {
    const std::string original = fs_->get_contents(file);
    fs_->set_contents(file, damaged);
    const Outcome outcome = read_both_ways(what);
    fs_->set_contents(file, original);
    if (outcome == Outcome::kDataLoss) ++data_loss_;
    if (outcome == Outcome::kIntact) ++intact_;  // kBug was counted by bug()
    return outcome;
  }

  // Records an outcome the caller judged wrong (e.g. intact where damage must be seen).
  void bug(const std::string& what) {
    ++bugs_;
    if (descriptions_.size() < 20) descriptions_.push_back(what);
  }

  // The tallies as test properties (--gtest_output=xml shows them).
  void record_counts() const {
    ::testing::Test::RecordProperty("data_loss", data_loss_);
    ::testing::Test::RecordProperty("intact", intact_);
    ::testing::Test::RecordProperty("bugs", bugs_);
  }

  int data_loss() const { return data_loss_; }
  int intact() const { return intact_; }
  int bugs() const { return bugs_; }
  std::string report() const {
    std::string s = std::to_string(bugs_) + " bug(s), first ones:\n";
    for (const std::string& d : descriptions_) s += "  " + d + "\n";
    return s;
  }

 private:
  Outcome read_both_ways(const std::string& what) {
    Outcome reader = read_every_tensor(what);
    if (reader == Outcome::kBug) return reader;
    const std::string problem = verify_checkpoint(prefix_, fs_);
    if ((reader == Outcome::kDataLoss) != !problem.empty()) {
      bug(what + ": the reader " +
          (reader == Outcome::kDataLoss ? "throws DataLossError" : "reads the right values") +
          " but verify_checkpoint says \"" + problem + "\"");
      return Outcome::kBug;
    }
    return reader;
  }

  // Every tensor through get_tensor, and again through read_into (the restore path: straight
  // into a caller's tensor, checksums on the crc worker); both must end alike.
  Outcome read_every_tensor(const std::string& what) {
    const Outcome by_value =
        read_with(what, [](const CheckpointReader& reader, const std::string& name) {
          return reader.get_tensor(name);
        });
    const Outcome into =
        read_with(what, [](const CheckpointReader& reader, const std::string& name) {
          Tensor dst(reader.dtype(name), reader.shape(name));
          reader.read_into(name, dst);
          return dst;
        });
    if (by_value == Outcome::kBug || into == Outcome::kBug) return Outcome::kBug;
    if (by_value != into) {
      bug(what + ": get_tensor and read_into disagree");
      return Outcome::kBug;
    }
    return by_value;
  }

  // Opens the checkpoint and reads every tensor with `read(reader, name)`.
  template <typename Read>
  Outcome read_with(const std::string& what, Read read) {
    try {
      CheckpointReader reader(prefix_, fs_);
      std::vector<std::string> names;
      for (const auto& [name, t] : expected_) names.push_back(name);
      if (reader.tensor_names() != names) {
        bug(what + ": tensor names changed without an error");
        return Outcome::kBug;
      }
      for (const auto& [name, want] : expected_)
        if (!same_tensor(read(reader, name), want)) {
          bug(what + ": wrong value for " + name + " without an error");
          return Outcome::kBug;
        }
      return Outcome::kIntact;
    } catch (const DataLossError&) {
      return Outcome::kDataLoss;
    } catch (const std::exception& e) {
      bug(what + ": not a DataLossError: " + e.what());
      return Outcome::kBug;
    }
  }

  MemFileSystem* fs_;
  std::string prefix_;
  TensorMap expected_;
  int data_loss_ = 0, intact_ = 0, bugs_ = 0;
  std::vector<std::string> descriptions_;
};

// Every flip of `file` by each of `masks` at every byte. Intact is allowed only where
// only_footer_encoding_changed(); returns how many flips that was.
int flip_every_byte(DamageSweep& sweep, MemFileSystem& fs, const std::string& file,
                    const std::vector<uint8_t>& masks) {
  const std::string original = fs.get_contents(file);
  int unseen = 0;
  for (size_t i = 0; i < original.size(); ++i)
    for (uint8_t mask : masks) {
      std::string bad = original;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      const std::string what = file + " byte " + std::to_string(i) + " ^ " + std::to_string(mask);
      const bool may_be_unseen = only_footer_encoding_changed(original, bad);
      unseen += may_be_unseen;
      if (sweep.try_damage(file, bad, what) == DamageSweep::Outcome::kIntact && !may_be_unseen)
        sweep.bug(what + ": damage a reader parses read as intact");
    }
  return unseen;
}

// Every proper prefix of `file` (lengths 0 .. size-1): each must be DataLossError.
void truncate_at_every_length(DamageSweep& sweep, MemFileSystem& fs, const std::string& file) {
  const std::string original = fs.get_contents(file);
  for (size_t len = 0; len < original.size(); ++len) {
    const std::string what = file + " truncated to " + std::to_string(len) + " bytes";
    if (sweep.try_damage(file, original.substr(0, len), what) == DamageSweep::Outcome::kIntact)
      sweep.bug(what + ": read as intact");
  }
}

std::vector<uint8_t> single_bit_masks_and_ff() {
  return {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff};
}

// ---- A sharded V2 checkpoint written by kiln::Saver ---------------------------------------------

constexpr int kDevices = 3;
const std::string kDir = "/ckpt";
const std::string kPrefix = "/ckpt/model";

template <typename T>
Tensor ramp(const Shape& shape, double scale) {
  std::vector<T> v(static_cast<size_t>(shape.num_elements()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>(scale * static_cast<double>(i + 1));
  return Tensor::from_vector(v, shape);
}

// Six variables of five dtypes, two per device, so every data file holds two tensors; /cpu:0's
// file also holds strings, whose length varints carry a checksum of their own.
TensorMap sharded_model_values() {
  return {{"dense/kernel", ramp<float>(Shape{48, 32}, 0.25)},
          {"dense/bias", ramp<double>(Shape{32}, -1.5)},
          {"vocab",
           Tensor::of_strings({"the", "", "checkpoint", std::string(200, 'x'), "end"}, {5})},
          {"embedding/ids", ramp<int64_t>(Shape{6, 7}, 1e12)},
          {"counts", ramp<int32_t>(Shape{100}, 3)},
          {"step", Tensor::scalar<int64_t>(12345)}};
}
const char* const kDeviceOf[][2] = {{"vocab", "/cpu:0"},      {"dense/kernel", "/cpu:0"},
                                    {"dense/bias", "/cpu:1"}, {"embedding/ids", "/cpu:1"},
                                    {"counts", "/cpu:2"},     {"step", "/cpu:2"}};

// Saves the model with a sharded Saver into `fs` under kPrefix.
void save_sharded(MemFileSystem* fs, const TensorMap& values) {
  Graph g;
  std::vector<Variable> vars;
  for (const auto& [name, device] : kDeviceOf) {
    auto scope = g.device(device);
    vars.emplace_back(g, constant(g, values.at(name)), name);
  }
  Operation init = global_variables_initializer(g);
  Session sess(g, SessionOptions{.cpu_devices = kDevices});
  sess.run(init);
  fs->create_dir(kDir);
  Saver saver(g, {.sharded = true, .fs = fs});
  ASSERT_EQ(saver.save(sess, kPrefix, {.write_meta_graph = false, .write_state = false}), kPrefix);
}

class ShardedCheckpointCorruption : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(save_sharded(&fs_, expected_));
    for (int i = 0; i < kDevices; ++i)
      data_files_.push_back(kPrefix + ".data-0000" + std::to_string(i) + "-of-0000" +
                            std::to_string(kDevices));
    // The layout this sweep assumes: one index, one data file per device, each non-empty.
    CheckpointReader reader(kPrefix, &fs_);
    ASSERT_TRUE(reader.is_v2());
    ASSERT_EQ(reader.data_files(), data_files_);
    for (const std::string& f : data_files_) ASSERT_GT(fs_.file_size(f), 0u) << f;
  }
  void TearDown() override { sweep_.record_counts(); }

  MemFileSystem fs_;
  TensorMap expected_ = sharded_model_values();
  std::vector<std::string> data_files_;
  DamageSweep sweep_{&fs_, kPrefix, expected_};
};

TEST_F(ShardedCheckpointCorruption, IntactCheckpointReadsAndVerifies) {
  EXPECT_EQ(sweep_.try_damage(kPrefix + ".index", fs_.get_contents(kPrefix + ".index"), "intact"),
            DamageSweep::Outcome::kIntact)
      << sweep_.report();
  EXPECT_EQ(verify_checkpoint(kPrefix, &fs_), "");
}

// 4000 flips at positions drawn uniformly over the three data files together, each with a random
// non-zero xor mask. Every data byte belongs to a tensor (the Saver writes no alignment padding),
// so every flip must be DataLossError.
TEST_F(ShardedCheckpointCorruption, SampledByteFlipsInDataFilesAreDetected) {
  std::vector<std::string> contents;
  size_t total = 0;
  for (const std::string& f : data_files_) {
    contents.push_back(fs_.get_contents(f));
    total += contents.back().size();
  }
  std::mt19937 rng(20261204);
  std::uniform_int_distribution<size_t> position(0, total - 1);
  std::uniform_int_distribution<int> mask(1, 255);
  constexpr int kFlips = 4000;
  std::vector<int> flips_per_file(data_files_.size());
  for (int n = 0; n < kFlips; ++n) {
    size_t pos = position(rng), file = 0;
    while (pos >= contents[file].size()) pos -= contents[file++].size();
    std::string bad = contents[file];
    const int m = mask(rng);
    bad[pos] = static_cast<char>(bad[pos] ^ m);
    const std::string what =
        data_files_[file] + " byte " + std::to_string(pos) + " ^ " + std::to_string(m);
    if (sweep_.try_damage(data_files_[file], bad, what) == DamageSweep::Outcome::kIntact)
      sweep_.bug(what + ": read as intact");
    ++flips_per_file[file];
  }
  EXPECT_EQ(sweep_.bugs(), 0) << sweep_.report();
  EXPECT_EQ(sweep_.data_loss(), kFlips);
  for (size_t f = 0; f < data_files_.size(); ++f)
    EXPECT_GT(flips_per_file[f], 0) << data_files_[f] << " was never flipped";
}

TEST_F(ShardedCheckpointCorruption, EveryTruncationOfEachDataFileIsDetected) {
  size_t lengths = 0;
  for (const std::string& f : data_files_) {
    truncate_at_every_length(sweep_, fs_, f);
    lengths += fs_.file_size(f);
  }
  EXPECT_EQ(sweep_.bugs(), 0) << sweep_.report();
  EXPECT_EQ(static_cast<size_t>(sweep_.data_loss()), lengths);
}

// Every byte of the merged index, each single-bit flip and ^0xff. Block checksums cover
// everything but the footer, whose padding (and handle encoding) is all a flip may leave unseen.
TEST_F(ShardedCheckpointCorruption, EveryByteFlipOfTheMergedIndexIsDetectedOrUnseen) {
  const std::string index = kPrefix + ".index";
  const int flips = static_cast<int>(fs_.file_size(index) * single_bit_masks_and_ff().size());
  const int unseen = flip_every_byte(sweep_, fs_, index, single_bit_masks_and_ff());
  EXPECT_EQ(sweep_.bugs(), 0) << sweep_.report();
  EXPECT_EQ(sweep_.intact(), unseen);
  EXPECT_EQ(sweep_.data_loss(), flips - unseen);
  EXPECT_GT(unseen, 0);  // the footer padding exists, so the unseen case was exercised
}

// ---- The V1 checkpoint TensorFlow wrote ---------------------------------------------------------

const std::string kV1File = "/v1/export-00000-of-00001";
const std::string kV1Prefix = "/v1/export";

class V1CheckpointCorruption : public ::testing::Test {
 protected:
  void SetUp() override {
    fs_.create_dir("/v1");
    const std::string golden =
        testing::testdata_dir() + "/tf/v1_half_plus_two/export-00000-of-00001";
    FileSystem* disk = posix_file_system();
    fs_.set_contents(kV1File,
                     disk->new_random_access_file(golden)->read(0, disk->file_size(golden)));
    // Small enough for every byte value at every position; a file over 20 kB would need sampling.
    ASSERT_LE(fs_.file_size(kV1File), 20000u);
    CheckpointReader reader(kV1Prefix, &fs_);
    ASSERT_FALSE(reader.is_v2());
  }
  void TearDown() override { sweep_.record_counts(); }

  MemFileSystem fs_;
  TensorMap expected_ = {{"a", Tensor::scalar<float>(0.5f)}, {"b", Tensor::scalar<float>(2.0f)}};
  DamageSweep sweep_{&fs_, kV1Prefix, expected_};
};

TEST_F(V1CheckpointCorruption, IntactCheckpointReadsAndVerifies) {
  EXPECT_EQ(sweep_.try_damage(kV1File, fs_.get_contents(kV1File), "intact"),
            DamageSweep::Outcome::kIntact)
      << sweep_.report();
}

TEST_F(V1CheckpointCorruption, EveryTruncationIsDetected) {
  truncate_at_every_length(sweep_, fs_, kV1File);
  EXPECT_EQ(sweep_.bugs(), 0) << sweep_.report();
  EXPECT_EQ(static_cast<uint64_t>(sweep_.data_loss()), fs_.file_size(kV1File));
}

TEST_F(V1CheckpointCorruption, EveryByteValueAtEveryPositionIsDetectedOrUnseen) {
  std::vector<uint8_t> all_masks;
  for (int m = 1; m < 256; ++m) all_masks.push_back(static_cast<uint8_t>(m));
  const int flips = static_cast<int>(fs_.file_size(kV1File) * all_masks.size());
  const int unseen = flip_every_byte(sweep_, fs_, kV1File, all_masks);
  EXPECT_EQ(sweep_.bugs(), 0) << sweep_.report();
  EXPECT_EQ(sweep_.intact(), unseen);
  EXPECT_EQ(sweep_.data_loss(), flips - unseen);
  EXPECT_GT(unseen, 0);
}

}  // namespace
}  // namespace kiln::io

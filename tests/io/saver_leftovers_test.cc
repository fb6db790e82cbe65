// kiln::Saver's sweep of leftovers of crashed saves (io/saver.h, commit protocol step 0): exactly
// the temporary names a save uses are removed, look-alikes and saves in flight are spared.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/errors.h"
#include "io/checkpoint_reader.h"
#include "io/fault_file_system.h"
#include "io/mem_file_system.h"
#include "io/saver_files.h"
#include "io_test_util.h"
#include "kiln/kiln.h"
#include "saver_test_util.h"

namespace kiln {
namespace {

using namespace saver_testing;
namespace stdfs = std::filesystem;

// ---- Leftovers of crashed saves (commit protocol step 0, io/saver.h) ----

// What a save killed at various points leaves behind, and look-alikes that must survive.
const char kHex32[] = "0123456789abcdef0123456789abcdef";

std::vector<std::string> leftover_files() {
  return {"m-3.index.tempstate123",
          "m-3.data-00000-of-00003.tempstate99",
          "m-3.data-00002-of-00003.tempstate18446744073709551615",
          "checkpoint.tmp42",
          "m-3.meta.tmp7"};
}
std::vector<std::string> lookalike_files() {
  return {"m-3.index.tempstate",                       // no digits
          "m-3.index.tempstate12x",                    // not only digits
          "m-3.data-0-of-1.tempstate5",                // shard numbers not 5 digits
          "my.tempstate1",                             // not a bundle file name
          ".index.tempstate1",                         // empty base
          "notes.tmp1",                                // .tmp of a file the Saver never writes
          "checkpoint.tmp",                            // no digits
          "checkpoint.tmp1a",
          "m-2.index",                                 // a real checkpoint's files
          "m-2.data-00000-of-00001",
          std::string("z_temp_") + kHex32};            // a plain FILE with a temp dir's name
}

// Directories named like sharded temp dirs (removed) and look-alikes (kept).
std::vector<std::string> leftover_dirs() {
  return {std::string("m-3_temp_") + kHex32, std::string("other_temp_") + kHex32};
}
std::vector<std::string> lookalike_dirs() {
  return {std::string("m-3_temp_") + std::string(kHex32).substr(1),        // 31 hex digits
          std::string("m-3_temp_") + "0123456789ABCDEF0123456789ABCDEF",   // upper case
          std::string("_temp_") + kHex32,                                  // nothing before _temp_
          std::string("m-3_temp_") + kHex32 + "x"};
}

TEST(SaverLeftovers, SaveRemovesLeftoversOfCrashedSavesAndNothingElse) {
  for (bool sharded : {false, true}) {
    Graph g;
    for (int i = 0; i < 3; ++i) {
      auto scope = g.device("/cpu:" + std::to_string(i));
      Variable(g, constant<float>(g, {1.f * i, 2.f * i}, Shape{2}), "w" + std::to_string(i));
    }
    Session sess(g, SessionOptions{.cpu_devices = 3});
    sess.run(global_variables_initializer(g));
    io::MemFileSystem mem;
    mem.create_dir("/ck");
    for (const auto& f : leftover_files()) mem.set_contents("/ck/" + f, "x");
    for (const auto& f : lookalike_files()) mem.set_contents("/ck/" + f, "keep");
    for (const auto& d : leftover_dirs()) {
      mem.create_dir("/ck/" + d);
      mem.set_contents("/ck/" + d + "/part-00000-of-00003.index", "x");
      mem.set_contents("/ck/" + d + "/part-00001-of-00003.data-00000-of-00001.tempstate5", "x");
    }
    for (const auto& d : lookalike_dirs()) {
      mem.create_dir("/ck/" + d);
      mem.set_contents("/ck/" + d + "/part-00000-of-00003.index", "keep");
    }
    // A temp-named directory that holds something the sharded writer never writes: its part
    // files go, the directory and the foreign file stay.
    const std::string mixed = std::string("x_temp_") + std::string(kHex32).replace(0, 1, "f");
    mem.create_dir("/ck/" + mixed);
    mem.set_contents("/ck/" + mixed + "/part-00000-of-00001.index", "x");
    mem.set_contents("/ck/" + mixed + "/README", "keep");

    Saver saver(g, {.sharded = sharded, .fs = &mem});
    EXPECT_EQ(saver.save(sess, "/ck/m", {.global_step = 4}), "/ck/m-4");

    std::vector<std::string> expected = lookalike_files();
    for (const auto& d : lookalike_dirs()) expected.push_back(d);
    expected.push_back(mixed);
    expected.push_back("checkpoint");
    expected.push_back("m-4.index");
    expected.push_back("m-4.meta");
    const int shards = sharded ? 3 : 1;
    for (int i = 0; i < shards; ++i)
      expected.push_back("m-4.data-0000" + std::to_string(i) + "-of-0000" + std::to_string(shards));
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(mem.list_dir("/ck"), expected) << "sharded=" << sharded;
    for (const auto& f : lookalike_files()) EXPECT_EQ(mem.get_contents("/ck/" + f), "keep") << f;
    for (const auto& d : lookalike_dirs())
      EXPECT_EQ(mem.list_dir("/ck/" + d), std::vector<std::string>{"part-00000-of-00003.index"});
    EXPECT_EQ(mem.list_dir("/ck/" + mixed), std::vector<std::string>{"README"});
    Session fresh(g, SessionOptions{.cpu_devices = 3});
    saver.restore(fresh, "/ck/m-4");
    EXPECT_EQ(fresh.variable_value("w2").to_vector<float>(), (std::vector<float>{2, 4}));
  }
}

// The same on the POSIX file system, with a custom latest_filename and meta suffix, and a
// leftover sharded temp directory exactly as a killed TF-style sharded save leaves it.
TEST(SaverLeftovers, RealDirectoryWithCustomStateAndMetaNames) {
  ScratchDir tmp;
  TwoVars m;
  Session sess(m.g);
  sess.run(m.init);
  auto touch = [&](const std::string& name) { std::ofstream(tmp.file(name)) << "x"; };
  touch("state.tmp77");
  touch("model-1.index.tempstate5");
  touch("model-1.mg.tmp3");
  touch("model-1.meta.tmp3");  // .meta is not this save's suffix, but the default one: kept
  touch("state.tmp");
  const std::string dir = std::string("model-1_temp_") + kHex32;
  stdfs::create_directory(tmp.file(dir));
  touch(dir + "/part-00000-of-00002.data-00000-of-00001");
  touch(dir + "/part-00001-of-00002.index.tempstate9");
  Saver saver(m.g);
  saver.save(sess, tmp.file("model"), {.global_step = 2, .latest_filename = "state",
                                        .meta_graph_suffix = "mg"});
  EXPECT_EQ(listing(tmp.path()),
            (std::vector<std::string>{"model-1.meta.tmp3", "model-2.data-00000-of-00001",
                                      "model-2.index", "model-2.mg", "state", "state.tmp"}));
}

// A FileSystem that, the first time a temporary bundle file is created, runs `hook` (another
// save into the same directory, while the outer one is in flight).
class HookFileSystem final : public io::FileSystem {
 public:
  HookFileSystem(io::FileSystem* base, std::function<void()> hook)
      : base_(base), hook_(std::move(hook)) {}
  std::unique_ptr<io::WritableFile> new_writable_file(const std::string& path) override {
    auto f = base_->new_writable_file(path);
    if (hook_ && path.find(".tempstate") != std::string::npos) std::exchange(hook_, nullptr)();
    return f;
  }
  std::unique_ptr<io::RandomAccessFile> new_random_access_file(const std::string& p) override {
    return base_->new_random_access_file(p);
  }
  void rename(const std::string& a, const std::string& b) override { base_->rename(a, b); }
  void delete_file(const std::string& p) override { base_->delete_file(p); }
  void delete_dir(const std::string& p) override { base_->delete_dir(p); }
  bool exists(const std::string& p) override { return base_->exists(p); }
  uint64_t file_size(const std::string& p) override { return base_->file_size(p); }
  void create_dir(const std::string& p) override { base_->create_dir(p); }
  std::vector<std::string> list_dir(const std::string& p) override { return base_->list_dir(p); }
  void sync_dir(const std::string& p) override { base_->sync_dir(p); }

 private:
  io::FileSystem* base_;
  std::function<void()> hook_;
};

// A second Saver saving into the same directory while the first one's temporary files exist
// must not sweep them (the first save would then fail its rename).
TEST(SaverLeftovers, SweepSparesTemporaryFilesOfASaveInFlight) {
  for (bool sharded : {false, true}) {
    TwoVars m;
    Session sess(m.g);
    sess.run(m.init);
    io::MemFileSystem mem;
    mem.create_dir("/ck");
    Saver inner(m.g, {.fs = &mem});
    HookFileSystem hooked(&mem, [&] {
      EXPECT_EQ(inner.save(sess, "/ck/other", {.global_step = 1, .latest_filename = "other_state"}),
                "/ck/other-1");
    });
    Saver outer(m.g, {.sharded = sharded, .fs = &hooked});
    EXPECT_EQ(outer.save(sess, "/ck/m", {.global_step = 1}), "/ck/m-1") << "sharded=" << sharded;
    EXPECT_TRUE(kiln::checkpoint_exists("/ck/m-1", &mem));
    EXPECT_TRUE(kiln::checkpoint_exists("/ck/other-1", &mem));
    Session fresh(m.g);
    outer.restore(fresh, "/ck/m-1");
    EXPECT_EQ(values(fresh, m.v2), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  }
}

// Data files whose index is missing (a merge killed between its data and index renames, a
// deletion killed after the index went) are removed once they have been in place long enough;
// young ones (an index possibly on its way from a writer that does not take kiln's lock), data
// files with their index, and everything on a file system that keeps no change time, stay.
TEST(SaverLeftovers, OrphanDataFilesGoOnceOldEnough) {
  ScratchDir tmp;
  TwoVars m;
  Session sess(m.g);
  sess.run(m.init);
  Saver saver(m.g);
  const std::string kept = saver.save(sess, tmp.file("model"), {.global_step = 1});
  auto touch = [&](const std::string& name) { std::ofstream(tmp.file(name)) << "x"; };
  touch("model-0.data-00000-of-00002");  // both shards of a checkpoint whose index never came
  touch("model-0.data-00001-of-00002");
  touch("other.data-00000-of-00001");    // and one whose deletion stopped after the index
  touch("model-0.data-0-of-2");          // not a bundle data file name: never touched
  const std::vector<std::string> before = listing(tmp.path());

  io::remove_save_leftovers(io::posix_file_system(), tmp.path(), "checkpoint", "meta");
  EXPECT_EQ(listing(tmp.path()), before) << "fresh index-less data files must stay";

  io::MemFileSystem mem;  // keeps no change time: nothing can be known to be old
  mem.create_dir("/d");
  mem.set_contents("/d/x.data-00000-of-00001", "x");
  io::remove_save_leftovers(&mem, "/d", "checkpoint", "meta", /*orphan_min_age_seconds=*/0);
  EXPECT_TRUE(mem.exists("/d/x.data-00000-of-00001"));

  io::remove_save_leftovers(io::posix_file_system(), tmp.path(), "checkpoint", "meta",
                            /*orphan_min_age_seconds=*/0);
  EXPECT_EQ(listing(tmp.path()),
            (std::vector<std::string>{"checkpoint", "model-0.data-0-of-2",
                                      "model-1.data-00000-of-00001", "model-1.index",
                                      "model-1.meta"}));
  Session restored(m.g);
  saver.restore(restored, kept);  // the committed checkpoint is whole
  EXPECT_EQ(restored.variable_value("v2").to_vector<float>(),
            sess.variable_value("v2").to_vector<float>());
}

}  // namespace
}  // namespace kiln

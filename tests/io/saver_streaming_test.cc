// The Saver's streaming engine options (issue 5, io/saver.h CheckpointIoOptions): several data
// files per device, sync off, O_DIRECT (used where the file system takes it, refused cleanly
// where it does not), the host memory a save/restore needs, concurrent per-device restore, and
// on a GPU: save and restore through pinned staging with host memory bounded by the pool.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>

#include "core/pinned_pool.h"
#include "io/posix_direct_file.h"
#include "io/verify.h"
#include "saver_test_util.h"

namespace kiln {
namespace {

using namespace saver_testing;

std::vector<std::string> data_files(const std::string& dir, const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& name : listing(dir))
    if (name.starts_with(prefix + ".data-")) out.push_back(name);
  return out;
}

// n variables of growing sizes on `devices` logical CPUs.
struct Model {
  Graph g;
  std::vector<Variable> vars;
  Operation init;
  Model(int n, int devices, int64_t base = 1000) {
    for (int i = 0; i < n; ++i) {
      auto scope = g.device("/cpu:" + std::to_string(i % devices));
      vars.emplace_back(g, random_normal(g, {base * (i + 1)}), "v" + std::to_string(i));
    }
    init = global_variables_initializer(g);
  }
};

void expect_same(Session& a, Session& b, const std::vector<Variable>& vars) {
  for (const auto& v : vars) EXPECT_EQ(values(a, v), values(b, v)) << v.name();
}

TEST(SaverStreaming, ShardsPerDeviceSplitsEachDevice) {
  for (bool sharded : {false, true}) {
    ScratchDir tmp;
    Model m(8, 2);
    Session sess(m.g, SessionOptions{.cpu_devices = 2});
    sess.run(m.init);
    SaverOptions o{.sharded = sharded};
    o.io.shards_per_device = 3;
    Saver saver(m.g, o);
    const std::string p = saver.save(sess, tmp.file("m"));
    const int expected_files = sharded ? 6 : 3;
    char last[64];
    std::snprintf(last, sizeof last, "m.data-%05d-of-%05d", expected_files - 1, expected_files);
    auto files = data_files(tmp.path(), "m");
    ASSERT_EQ(files.size(), static_cast<size_t>(expected_files)) << sharded;
    EXPECT_EQ(files.back(), last);
    // The bytes are spread: no data file holds more than half of a device's bytes.
    uint64_t total = 0, largest = 0;
    for (const auto& f : files) {
      uint64_t size = stdfs::file_size(tmp.file(f));
      total += size;
      largest = std::max(largest, size);
    }
    EXPECT_LT(largest, total / (sharded ? 2 : 1) / 2 + 1) << sharded;
    EXPECT_NO_THROW(io::verify_checkpoint(p));
    Session fresh(m.g, SessionOptions{.cpu_devices = 2});
    saver.restore(fresh, p);
    expect_same(sess, fresh, m.vars);
  }
}

TEST(SaverStreaming, BadIoOptionsAreInvalidArgument) {
  ScratchDir tmp;
  Model m(2, 1);
  Session sess(m.g);
  sess.run(m.init);
  SaverOptions o;
  o.io.shards_per_device = 0;
  Saver saver(m.g, o);
  EXPECT_THROW(saver.save(sess, tmp.file("m")), InvalidArgumentError);
  EXPECT_FALSE(latest_checkpoint(tmp.path()).has_value());
}

TEST(SaverStreaming, SyncOffAndDirectIoRoundTrip) {
  // /tmp is usually ext4 (O_DIRECT taken), /dev/shm tmpfs (O_DIRECT refused: ordinary writes).
  for (std::string base : {std::string(::testing::TempDir()), std::string("/dev/shm")}) {
    if (!stdfs::is_directory(base)) continue;
    const std::string dir = base + "/kiln_streaming_" + std::to_string(::getpid());
    stdfs::remove_all(dir);
    stdfs::create_directories(dir);
    for (bool sync : {false, true}) {
      for (bool direct : {false, true}) {
        Model m(5, 2, 3001);  // sizes not multiples of 4 KiB
        Session sess(m.g, SessionOptions{.cpu_devices = 2});
        sess.run(m.init);
        SaverOptions o{.sharded = true};
        o.io.sync = sync;
        o.io.direct_io = direct;
        Saver saver(m.g, o);
        const std::string p = saver.save(sess, dir + "/m", {.global_step = int(sync) * 2 + direct});
        EXPECT_NO_THROW(io::verify_checkpoint(p)) << base << sync << direct;
        Session fresh(m.g, SessionOptions{.cpu_devices = 2});
        saver.restore(fresh, p);
        expect_same(sess, fresh, m.vars);
      }
    }
    stdfs::remove_all(dir);
  }
}

TEST(DirectWritableFile, WritesAnyLengthsAndReportsItsMode) {
  ScratchDir tmp;
  const std::string path = tmp.file("direct");
  auto f = io::new_direct_writable_file(path);
  if (!f) GTEST_SKIP() << "this file system refuses O_DIRECT: " << tmp.path();
  EXPECT_TRUE(io::direct_io_used(*f));
  std::string expected;
  std::string big((5 << 20) + 123, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  void* aligned = nullptr;
  ASSERT_EQ(::posix_memalign(&aligned, 4096, 1 << 20), 0);
  std::memset(aligned, 'a', 1 << 20);
  for (std::string_view piece : {std::string_view("x"), std::string_view(big),
                                 std::string_view(static_cast<char*>(aligned), 1 << 20),
                                 std::string_view(big.data(), 4095)}) {
    f->append(piece);
    expected.append(piece);
  }
  f->flush();
  EXPECT_TRUE(io::direct_io_used(*f));
  f->sync();  // the partial last block is written without O_DIRECT
  f->append("tail");
  expected += "tail";
  f->close();
  std::free(aligned);
  EXPECT_EQ(read_text(path), expected);
}

TEST(DirectWritableFile, RefusedWhereTheFileSystemCannot) {
  if (!stdfs::is_directory("/dev/shm")) GTEST_SKIP() << "no /dev/shm";
  const std::string path = "/dev/shm/kiln_direct_" + std::to_string(::getpid());
  auto f = io::new_direct_writable_file(path);
  if (f) {
    GTEST_SKIP() << "/dev/shm accepts O_DIRECT here";
  }
  EXPECT_FALSE(stdfs::exists(path));
  // The file system falls back to ordinary writes.
  auto g = io::posix_file_system()->new_writable_file(path, {.direct_io = true});
  g->append("ok");
  g->close();
  EXPECT_FALSE(io::direct_io_used(*g));
  EXPECT_EQ(read_text(path), "ok");
  stdfs::remove(path);
}

TEST(SaverStreaming, SavingCpuVariablesCopiesNothing) {
  // CPU tensors are written from their own memory: the host allocator sees no allocation of the
  // model's size during a save (4 variables of 4 MiB).
  ScratchDir tmp;
  Model m(4, 2, 1 << 20);
  Session sess(m.g, SessionOptions{.cpu_devices = 2});
  sess.run(m.init);
  for (bool sharded : {false, true}) {
    Saver saver(m.g, {.sharded = sharded});
    Allocator* host = host_allocator();
    host->reset_peak();
    const int64_t before = host->stats().bytes_in_use;
    saver.save(sess, tmp.file("m"), {.global_step = int(sharded)});
    EXPECT_LT(host->stats().peak_bytes_in_use - before, int64_t{1} << 20) << sharded;
  }
}

TEST(SaverStreaming, ConcurrentRestoreOfEveryDevice) {
  ScratchDir tmp;
  Model m(12, 4, 5000);
  Session sess(m.g, SessionOptions{.cpu_devices = 4});
  sess.run(m.init);
  Saver saver(m.g, {.sharded = true});
  const std::string p = saver.save(sess, tmp.file("m"));
  Session fresh(m.g, SessionOptions{.cpu_devices = 4});
  saver.restore(fresh, p);
  expect_same(sess, fresh, m.vars);
  for (const auto& v : m.vars)
    EXPECT_EQ(fresh.variable_value(v.name()).device(), sess.variable_value(v.name()).device());
  // A damaged data file fails the restore with DataLossError whichever thread reads it.
  {
    std::fstream f(tmp.file("m.data-00002-of-00004"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x5a');
  }
  Session broken(m.g, SessionOptions{.cpu_devices = 4});
  EXPECT_THROW(saver.restore(broken, p), DataLossError);
}

// ---- GPU (skipped without one) ----

TEST(SaverStreamingGpu, SaveAndRestoreThroughBoundedStaging) {
  if (gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  ScratchDir tmp;
  Graph g;
  std::vector<Variable> vars;
  for (int i = 0; i < 3; ++i)  // 40 MiB each (and a short last chunk), on /gpu:0
    vars.emplace_back(g, random_normal(g, {(10 << 20) + 123}), "big" + std::to_string(i));
  vars.emplace_back(g, random_normal(g, {1000}), "small");
  {
    auto scope = g.device("/cpu:0");  // a second device: the restore runs one thread per device
    vars.emplace_back(g, random_normal(g, {5000}), "on_cpu");
  }
  auto init = global_variables_initializer(g);
  Session sess(g);
  sess.run(init);
  SaverOptions o;
  o.io.staging_buffer_bytes = 4 << 20;
  o.io.staging_buffers = 2;
  Saver saver(g, o);
  // The staging pool (2 x 4 MiB pinned, outside the host allocator) is all the host memory
  // the GPU tensors pass through; the host allocator must not see a tensor-sized block.
  Allocator* host = host_allocator();
  Allocator* pinned = pinned_host_allocator();
  host->reset_peak();
  pinned->reset_peak();
  int64_t before = host->stats().bytes_in_use;
  const int64_t pinned_before = pinned->stats().bytes_in_use;
  const std::string p = saver.save(sess, tmp.file("g"));
  // No host copy of a 40 MiB tensor: only the index and small buffers (pinned pool apart).
  EXPECT_LT(host->stats().peak_bytes_in_use - before, int64_t{2} << 20);
  EXPECT_EQ(pinned->stats().peak_bytes_in_use, pinned_before);
  EXPECT_NO_THROW(io::verify_checkpoint(p));
  // The file holds exactly the device values.
  io::CheckpointReader reader(p);
  for (const auto& v : vars)
    EXPECT_EQ(reader.get_tensor(v.name()).to_vector<float>(), values(sess, v)) << v.name();

  Session fresh(g);
  host->reset_peak();
  before = host->stats().bytes_in_use;
  saver.restore(fresh, p);
  EXPECT_LT(host->stats().peak_bytes_in_use - before, int64_t{2} << 20);
  for (const auto& v : vars) {
    EXPECT_EQ(fresh.variable_value(v.name()).on_host(), v.name() == "on_cpu");
    EXPECT_EQ(values(fresh, v), values(sess, v)) << v.name();
  }
}

}  // namespace
}  // namespace kiln

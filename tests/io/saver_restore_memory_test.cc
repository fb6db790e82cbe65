// kiln::Saver::restore's memory: beyond the variables themselves, a restore holds at most the
// variables being read (one with restore_sequentially, io.restore_threads otherwise), because each
// is handed to the session, and its old value freed, as soon as it is read.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "core/allocator.h"
#include "io_test_util.h"
#include "kiln/kiln.h"
#include "saver_test_util.h"

namespace kiln {
namespace {

using namespace saver_testing;

// restore_sequentially's promise: one variable at a time, so the memory beyond the variables
// themselves peaks at the largest one (TF's restore_sequentially=True; TF's default reads
// everything first).
TEST(Saver, RestorePeakMemoryIsTheLargestVariable) {
  ScratchDir tmp;
  Graph g;
  const std::vector<int64_t> sizes_mib{1, 2, 4, 3};
  int64_t total = 0, largest = 0;
  for (size_t i = 0; i < sizes_mib.size(); ++i) {
    int64_t n = sizes_mib[i] * (1 << 20) / 4;
    Variable(g, random_uniform(g, {n}), "v" + std::to_string(i));
    total += n * 4;
    largest = std::max(largest, n * 4);
  }
  Saver saver(g, {.restore_sequentially = true});
  Session sess(g);
  sess.run(global_variables_initializer(g));
  std::string path = saver.save(sess, tmp.file("m"));

  Allocator* host = host_allocator();
  const int64_t slack = 256 << 10;  // index block, small tensors, rounding
  {
    // Into initialized variables: each new value coexists with the old one only while it lands.
    int64_t before = host->stats().bytes_in_use;
    host->reset_peak();
    saver.restore(sess, path);
    int64_t extra = host->stats().peak_bytes_in_use - before;
    EXPECT_LE(extra, largest + slack) << "total " << total;
    EXPECT_GE(extra, largest) << "the peak must at least hold the largest variable once";
  }
  {
    // Into a fresh session: the peak is the restored variables, nothing more.
    Session fresh(g);
    int64_t before = host->stats().bytes_in_use;
    host->reset_peak();
    saver.restore(fresh, path);
    EXPECT_LE(host->stats().peak_bytes_in_use - before, total + slack);
    EXPECT_EQ(fresh.variable_value("v2").to_vector<float>(), sess.variable_value("v2").to_vector<float>());
  }
}

// Without restore_sequentially, CPU variables are read by io.restore_threads threads and each
// placed as soon as it is read: the memory beyond the variables is at most that many of them.
TEST(Saver, ThreadedRestorePeakMemoryIsAtMostThreadsVariables) {
  ScratchDir tmp;
  Graph g;
  const std::vector<int64_t> sizes_mib{1, 6, 2, 4, 3, 5};
  int64_t largest = 0, second = 0;
  for (size_t i = 0; i < sizes_mib.size(); ++i) {
    Variable(g, random_uniform(g, {sizes_mib[i] * (1 << 20) / 4}), "v" + std::to_string(i));
  }
  std::vector<int64_t> sorted = sizes_mib;
  std::sort(sorted.rbegin(), sorted.rend());
  largest = sorted[0] << 20;
  second = sorted[1] << 20;
  SaverOptions o;
  o.io.restore_threads = 2;
  Saver saver(g, o);
  Session sess(g);
  sess.run(global_variables_initializer(g));
  std::string path = saver.save(sess, tmp.file("m"));
  const std::vector<float> saved_v1 = sess.variable_value("v1").to_vector<float>();

  Allocator* host = host_allocator();
  const int64_t slack = 256 << 10;
  int64_t before = host->stats().bytes_in_use;
  host->reset_peak();
  saver.restore(sess, path);
  EXPECT_LE(host->stats().peak_bytes_in_use - before, largest + second + slack);
  EXPECT_EQ(sess.variable_value("v1").to_vector<float>(), saved_v1);
}

}  // namespace
}  // namespace kiln

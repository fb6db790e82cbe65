// A failure at any file-system call during a save throws a typed error and leaves no file of the
// bundle behind (neither temporary nor final).
#include <gtest/gtest.h>

#include "core/errors.h"
#include "io/bundle_reader.h"
#include "io/bundle_writer.h"
#include "io/fault_file_system.h"
#include "io/mem_file_system.h"
#include "io_test_util.h"

namespace kiln::io {
namespace {

using Op = FaultInjectingFileSystem::Op;
using Fault = FaultInjectingFileSystem::Fault;

void save(FileSystem* fs) {
  BundleWriter writer("ckpt/model", {.fs = fs});
  writer.add("big", Tensor(DType::kFloat, Shape{300, 1024}));  // > the 1 MiB write buffer
  writer.add("s", Tensor::of_strings({"abc", std::string(70000, 'z')}, {2}));
  for (int i = 0; i < 50; ++i) writer.add("v" + std::to_string(i), Tensor::scalar<int32_t>(i));
  writer.finish();
}

struct Case {
  Op op;
  Fault fault;
  const char* name;
};

class BundleFault : public ::testing::TestWithParam<Case> {};

TEST_P(BundleFault, EveryCallFailingLeavesNoFiles) {
  const Case c = GetParam();
  // A clean run counts the calls, then each one fails in turn.
  int calls;
  {
    MemFileSystem mem;
    FaultInjectingFileSystem fs(&mem);
    save(&fs);
    calls = fs.count(c.op);
  }
  ASSERT_GT(calls, 0) << c.name;
  for (int k = 1; k <= calls; ++k) {
    SCOPED_TRACE(std::string(c.name) + " #" + std::to_string(k));
    MemFileSystem mem;
    FaultInjectingFileSystem fs(&mem);
    fs.fail_on(c.op, k, c.fault);
    try {
      save(&fs);
      ADD_FAILURE() << "no error";
    } catch (const ResourceExhaustedError&) {
      EXPECT_EQ(c.fault, Fault::kNoSpace);
    } catch (const UnknownError&) {
      EXPECT_EQ(c.fault, Fault::kError);
    }
    EXPECT_TRUE(mem.list_dir("ckpt").empty()) << ::testing::PrintToString(mem.list_dir("ckpt"));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Ops, BundleFault,
    ::testing::Values(Case{Op::kOpenWritable, Fault::kError, "open"},
                      Case{Op::kAppend, Fault::kError, "append"},
                      Case{Op::kAppend, Fault::kNoSpace, "append_enospc"},
                      Case{Op::kFlush, Fault::kError, "flush"},
                      Case{Op::kSync, Fault::kError, "sync"},
                      Case{Op::kClose, Fault::kError, "close"},
                      Case{Op::kRename, Fault::kError, "rename"},
                      Case{Op::kSyncDir, Fault::kError, "sync_dir"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(BundleFaultCleanup, FailingDeletesDoNotHideTheFirstError) {
  MemFileSystem mem;
  FaultInjectingFileSystem fs(&mem);
  fs.fail_on(Op::kAppend, 1, Fault::kNoSpace);
  fs.fail_on(Op::kDelete, 1);
  EXPECT_THROW(save(&fs), ResourceExhaustedError);
}

TEST(BundleFaultCleanup, TornDataWriteIsCaughtByTheReader) {
  MemFileSystem mem;
  FaultInjectingFileSystem fs(&mem);
  fs.fail_on(Op::kAppend, 1, Fault::kTornWrite);  // half of "big" silently lost
  save(&fs);
  BundleReader reader("ckpt/model", &mem);
  EXPECT_THROW(
      {
        for (const std::string& k : reader.keys()) reader.lookup(k);
      },
      DataLossError);
}

}  // namespace
}  // namespace kiln::io

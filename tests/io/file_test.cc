// The three FileSystems behave alike where a caller can tell: each test body runs on POSIX and
// in memory; the fault-injecting wrapper has its own tests.
#include "io/file.h"

#include <gtest/gtest.h>

#include "core/errors.h"
#include "io/fault_file_system.h"
#include "io/mem_file_system.h"
#include "io_test_util.h"

namespace kiln::io {
namespace {

using testing::ScratchDir;

class FileSystemTest : public ::testing::TestWithParam<bool> {
 protected:
  FileSystemTest() {
    if (GetParam()) {
      fs_ = posix_file_system();
      root_ = scratch_.path();
    } else {
      fs_ = &mem_;
      root_ = "/work";
      mem_.create_dir(root_);
    }
  }
  std::string path(const std::string& name) const { return join_path(root_, name); }

  ScratchDir scratch_;
  MemFileSystem mem_;
  FileSystem* fs_;
  std::string root_;
};

TEST_P(FileSystemTest, WriteThenRead) {
  auto w = fs_->new_writable_file(path("a"));
  w->append("hello ");
  w->append(std::string(3 << 20, 'x'));  // bigger than the POSIX write buffer
  w->append("end");
  w->sync();
  w->close();
  w->close();  // a second close is a no-op
  EXPECT_THROW(w->append("more"), FailedPreconditionError);

  EXPECT_TRUE(fs_->exists(path("a")));
  EXPECT_EQ(fs_->file_size(path("a")), 6u + (3 << 20) + 3);
  auto r = fs_->new_random_access_file(path("a"));
  EXPECT_EQ(r->read(0, 6), "hello ");
  EXPECT_EQ(r->read(6 + (3 << 20), 3), "end");
  char buf[8];
  EXPECT_EQ(r->read_at(6 + (3 << 20), 8, buf), 3u);  // short at the end of the file
  KILN_EXPECT_ERROR(r->read(6 + (3 << 20), 8), DataLossError, "Requested 8 bytes but read 3 bytes");
  KILN_EXPECT_ERROR(r->read(1 << 30, 1), DataLossError, path("a"));
}

TEST_P(FileSystemTest, MissingFilesAreNotFound) {
  KILN_EXPECT_ERROR(fs_->new_random_access_file(path("nope")), NotFoundError, path("nope"));
  KILN_EXPECT_ERROR(fs_->file_size(path("nope")), NotFoundError, path("nope"));
  KILN_EXPECT_ERROR(fs_->delete_file(path("nope")), NotFoundError, path("nope"));
  KILN_EXPECT_ERROR(fs_->rename(path("nope"), path("b")), NotFoundError, path("nope"));
  KILN_EXPECT_ERROR(fs_->new_writable_file(path("no_dir/f")), NotFoundError, "no_dir/f");
  EXPECT_FALSE(fs_->exists(path("nope")));
}

TEST_P(FileSystemTest, RenameReplacesAndDeleteRemoves) {
  fs_->new_writable_file(path("a"))->append("A");  // destructor closes
  auto b = fs_->new_writable_file(path("b"));
  b->append("BB");
  b->close();
  fs_->rename(path("a"), path("b"));
  EXPECT_FALSE(fs_->exists(path("a")));
  EXPECT_EQ(fs_->new_random_access_file(path("b"))->read(0, 1), "A");
  fs_->delete_file(path("b"));
  EXPECT_FALSE(fs_->exists(path("b")));
}

TEST_P(FileSystemTest, DirectoriesListSyncAndDelete) {
  create_dirs(fs_, path("x/y/z"));
  create_dirs(fs_, path("x/y/z"));  // idempotent
  fs_->create_dir(path("x"));       // existing directory: no error
  fs_->new_writable_file(path("x/f2"))->close();
  fs_->new_writable_file(path("x/f1"))->close();
  EXPECT_EQ(fs_->list_dir(path("x")), (std::vector<std::string>{"f1", "f2", "y"}));
  fs_->sync_dir(path("x"));
  EXPECT_THROW(fs_->delete_dir(path("x")), FailedPreconditionError);  // not empty
  fs_->delete_dir(path("x/y/z"));
  EXPECT_FALSE(fs_->exists(path("x/y/z")));
  EXPECT_THROW(fs_->list_dir(path("nope")), NotFoundError);
}

INSTANTIATE_TEST_SUITE_P(PosixAndMemory, FileSystemTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Posix" : "Memory"; });

TEST(PathHelpers, DirnameAndJoin) {
  EXPECT_EQ(dirname("a/b/c"), "a/b");
  EXPECT_EQ(dirname("c"), ".");
  EXPECT_EQ(dirname("/c"), "/");
  EXPECT_EQ(join_path("a", "b"), "a/b");
  EXPECT_EQ(join_path("a/", "b"), "a/b");
}

TEST(MemFileSystem, ReaderKeepsItsSnapshot) {
  MemFileSystem fs;
  fs.set_contents("f", "old");
  auto r = fs.new_random_access_file("f");
  fs.set_contents("f", "new!");
  EXPECT_EQ(r->read(0, 3), "old");
  EXPECT_EQ(fs.get_contents("f"), "new!");
}

using Op = FaultInjectingFileSystem::Op;
using Fault = FaultInjectingFileSystem::Fault;

TEST(FaultInjectingFileSystem, FailsTheNthCallOnly) {
  MemFileSystem mem;
  FaultInjectingFileSystem fs(&mem);
  auto w = fs.new_writable_file("f");
  fs.fail_on(Op::kAppend, 2);
  w->append("a");
  KILN_EXPECT_ERROR(w->append("b"), UnknownError, "write f");
  w->append("c");
  EXPECT_EQ(mem.get_contents("f"), "ac");
  EXPECT_EQ(fs.count(Op::kAppend), 3);
}

TEST(FaultInjectingFileSystem, NoSpaceWritesHalfThenThrows) {
  MemFileSystem mem;
  FaultInjectingFileSystem fs(&mem);
  auto w = fs.new_writable_file("f");
  fs.fail_on(Op::kAppend, 1, Fault::kNoSpace);
  KILN_EXPECT_ERROR(w->append("abcd"), ResourceExhaustedError, "No space left on device");
  EXPECT_EQ(mem.get_contents("f"), "ab");
}

TEST(FaultInjectingFileSystem, TornWriteIsSilentAndShortReadIsDetected) {
  MemFileSystem mem;
  FaultInjectingFileSystem fs(&mem);
  auto w = fs.new_writable_file("f");
  fs.fail_on(Op::kAppend, 1, Fault::kTornWrite);
  w->append("abcd");
  EXPECT_EQ(mem.get_contents("f"), "ab");
  mem.set_contents("g", "0123456789");
  auto r = fs.new_random_access_file("g");
  fs.fail_on(Op::kRead, 1, Fault::kTornWrite);
  EXPECT_THROW(r->read(0, 10), DataLossError);
  EXPECT_EQ(r->read(0, 10), "0123456789");
}

TEST(FaultInjectingFileSystem, FailsFileSystemOperations) {
  MemFileSystem mem;
  FaultInjectingFileSystem fs(&mem);
  mem.set_contents("a", "x");
  fs.fail_on(Op::kRename, 1);
  EXPECT_THROW(fs.rename("a", "b"), UnknownError);
  EXPECT_TRUE(mem.exists("a"));
  fs.fail_on(Op::kDelete, 1, Fault::kNoSpace);
  EXPECT_THROW(fs.delete_file("a"), ResourceExhaustedError);
  fs.fail_on(Op::kSyncDir, 1);
  EXPECT_THROW(fs.sync_dir("."), UnknownError);
  fs.fail_on(Op::kOpenWritable, 1);
  EXPECT_THROW(fs.new_writable_file("c"), UnknownError);
  EXPECT_FALSE(mem.exists("c"));
  fs.reset();
  EXPECT_EQ(fs.count(Op::kRename), 0);
  fs.rename("a", "b");
  EXPECT_TRUE(mem.exists("b"));
}

}  // namespace
}  // namespace kiln::io

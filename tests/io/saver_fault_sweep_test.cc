// Fault injection over a complete Saver::save (issue 6): for every operation kind a save performs
// (open-writable, append, flush, sync, close, rename, delete, create-dir, sync-dir) and every k
// over a complete save (counted on a clean run first), the k-th call fails (kError, and kNoSpace:
// ENOSPC, which for an append is a short write: half the bytes land, then the error). Each time:
//   - the save ends in a typed kiln error (or succeeds: failed deletions are ignored, as TF);
//   - the previous checkpoint (saved before, without faults) restores to its values and passes
//     verify_checkpoint, and the state file still names it as the latest unless the new state
//     file had already been renamed into place (then the new checkpoint is complete and correct);
//   - once a later save (faults cleared) succeeds, the directory holds nothing but the state
//     file and complete checkpoints: no temporary file or directory, no data file without its
//     index, no index without its data; every checkpoint the state file lists verifies.
// Run unsharded and sharded over 2 and 3 logical CPU devices, with retention (max_to_keep 2), so
// that the faulty save also deletes a checkpoint, merges shards and removes its temp directory.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "core/errors.h"
#include "io/checkpoint_reader.h"
#include "io/fault_file_system.h"
#include "io/mem_file_system.h"
#include "io/verify.h"
#include "kiln/kiln.h"

namespace kiln {
namespace {

using Op = io::FaultInjectingFileSystem::Op;
using Fault = io::FaultInjectingFileSystem::Fault;

constexpr int kVars = 6;

// Values of variable i at a given "generation" (each save has its own).
std::vector<float> value_of(int i, int generation) {
  std::vector<float> v(static_cast<size_t>(16 * (i + 1)));
  for (size_t j = 0; j < v.size(); ++j) v[j] = 1000.f * generation + 10.f * i + j;
  return v;
}

struct Model {
  explicit Model(int devices) : devices(devices) {
    for (int i = 0; i < kVars; ++i) {
      auto scope = g.device("/cpu:" + std::to_string(i % devices));
      vars.emplace_back(g, constant(g, Tensor::from_vector<float>(value_of(i, 0))),
                        "w" + std::to_string(i));
    }
    init = global_variables_initializer(g);
  }
  void set_generation(Session& sess, int generation) {
    for (int i = 0; i < kVars; ++i)
      sess.set_variable_value(vars[i].name(),
                              Tensor::from_vector<float>(value_of(i, generation)));
  }
  int devices;
  Graph g;
  std::vector<Variable> vars;
  Operation init;
};

struct Config {
  int devices;
  bool sharded;
  const char* name;
};

struct FaultCase {
  Op op;
  Fault fault;
  const char* name;
};

const FaultCase kCases[] = {
    {Op::kOpenWritable, Fault::kError, "open"},
    {Op::kOpenWritable, Fault::kNoSpace, "open_enospc"},
    {Op::kAppend, Fault::kError, "append"},
    {Op::kAppend, Fault::kNoSpace, "append_short_enospc"},
    {Op::kFlush, Fault::kError, "flush"},
    {Op::kSync, Fault::kError, "sync"},
    {Op::kSync, Fault::kNoSpace, "sync_enospc"},
    {Op::kClose, Fault::kError, "close"},
    {Op::kClose, Fault::kNoSpace, "close_enospc"},
    {Op::kRename, Fault::kError, "rename"},
    {Op::kDelete, Fault::kError, "delete"},
    {Op::kCreateDir, Fault::kError, "create_dir"},
    {Op::kCreateDir, Fault::kNoSpace, "create_dir_enospc"},
    {Op::kSyncDir, Fault::kError, "sync_dir"},
};

const std::string kDir = "/ck";
const std::string kPrefix = "/ck/m";

class SaverFaultSweep : public ::testing::TestWithParam<Config> {
 protected:
  // Checks that `prefix` is a sound checkpoint holding generation `generation`.
  void expect_checkpoint(Saver& saver, io::FileSystem* mem, const std::string& prefix,
                         int generation) {
    EXPECT_EQ(io::verify_checkpoint(prefix, mem), "") << prefix;
    Session fresh(model_.g, SessionOptions{.cpu_devices = model_.devices});
    saver.restore(fresh, prefix);
    for (int i = 0; i < kVars; ++i)
      EXPECT_EQ(fresh.variable_value(model_.vars[i].name()).to_vector<float>(),
                value_of(i, generation))
          << prefix << " " << model_.vars[i].name();
  }

  // Saves generations 1 and 2 cleanly, then generation 3 with the fault armed by `arm` (nothing
  // armed: the clean run). Returns the number of calls of `op` the third save made.
  int run(const FaultCase& c, int k) {
    const Config cfg = GetParam();
    io::MemFileSystem mem;
    mem.create_dir(kDir);
    io::FaultInjectingFileSystem fs(&mem);
    Session sess(model_.g, SessionOptions{.cpu_devices = cfg.devices});
    sess.run(model_.init);
    Saver saver(model_.g, {.sharded = cfg.sharded, .max_to_keep = 2, .fs = &fs});
    for (int gen = 1; gen <= 2; ++gen) {
      model_.set_generation(sess, gen);
      EXPECT_EQ(saver.save(sess, kPrefix, {.global_step = gen}), kPrefix + "-" + std::to_string(gen));
    }

    model_.set_generation(sess, 3);
    fs.reset();
    if (k > 0) fs.fail_on(c.op, k, c.fault);
    bool threw = false;
    try {
      saver.save(sess, kPrefix, {.global_step = 3});
    } catch (const ResourceExhaustedError& e) {
      threw = true;
      EXPECT_EQ(c.fault, Fault::kNoSpace) << e.what();
    } catch (const UnknownError& e) {
      threw = true;
      EXPECT_EQ(c.fault, Fault::kError) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not the injected typed error: " << e.what();
      threw = true;
    }
    const int calls = fs.count(c.op);
    fs.reset();
    if (k == 0) {
      EXPECT_FALSE(threw);
      return calls;
    }
    // Only deletions may fail without failing the save (retention and cleanup ignore them).
    if (!threw) {
      EXPECT_EQ(c.op, Op::kDelete) << "the fault was swallowed";
    }

    // The previous checkpoint is intact; the state file names it, or (when the new state file
    // was renamed into place before the failure) the new, complete checkpoint.
    expect_checkpoint(saver, &mem, kPrefix + "-2", 2);
    std::optional<std::string> latest = latest_checkpoint(kDir, "checkpoint", &mem);
    if (!latest) {
      ADD_FAILURE() << "no latest checkpoint";
      return calls;
    }
    if (*latest != kPrefix + "-2") {
      EXPECT_EQ(*latest, kPrefix + "-3");
      expect_checkpoint(saver, &mem, kPrefix + "-3", 3);
    }
    // Every checkpoint the state file lists is there.
    auto state = get_checkpoint_state(kDir, "checkpoint", &mem);
    EXPECT_TRUE(state.has_value());
    if (state) {
      for (const auto& p : state->all_model_checkpoint_paths) {
        EXPECT_EQ(io::verify_checkpoint(p, &mem), "") << p;
      }
    }

    // A later save with no fault succeeds and leaves only complete checkpoints behind.
    model_.set_generation(sess, 4);
    EXPECT_EQ(saver.save(sess, kPrefix, {.global_step = 4}), kPrefix + "-4");
    EXPECT_EQ(latest_checkpoint(kDir, "checkpoint", &mem), kPrefix + "-4");
    expect_checkpoint(saver, &mem, kPrefix + "-4", 4);
    state = get_checkpoint_state(kDir, "checkpoint", &mem);
    EXPECT_TRUE(state.has_value());
    if (state) {
      for (const auto& p : state->all_model_checkpoint_paths) {
        EXPECT_EQ(io::verify_checkpoint(p, &mem), "") << p;
      }
    }
    expect_only_complete_checkpoints(mem);
    return calls;
  }

  void expect_only_complete_checkpoints(io::MemFileSystem& mem) {
    std::set<std::string> prefixes;
    const std::vector<std::string> names = mem.list_dir(kDir);
    for (const std::string& name : names) {
      if (name == "checkpoint") continue;
      std::string prefix;
      if (name.ends_with(".index")) {
        prefix = name.substr(0, name.size() - 6);
      } else if (name.ends_with(".meta")) {
        prefix = name.substr(0, name.size() - 5);
      } else if (size_t d = name.find(".data-"); d != std::string::npos &&
                                                 name.size() == d + 20 &&
                                                 name.substr(d + 11, 4) == "-of-") {
        prefix = name.substr(0, d);
      } else {
        ADD_FAILURE() << "left behind: " << name << " in " << ::testing::PrintToString(names);
        continue;
      }
      prefixes.insert(kDir + "/" + prefix);
    }
    for (const std::string& p : prefixes) {
      EXPECT_TRUE(mem.exists(p + ".index"))
          << "files of " << p << " without an index: " << ::testing::PrintToString(names);
      if (mem.exists(p + ".index")) {
        EXPECT_EQ(io::verify_checkpoint(p, &mem), "") << p;
      }
    }
  }

  Model model_{GetParam().devices};
};

TEST_P(SaverFaultSweep, EveryCallOfEveryOpFailing) {
  int total = 0;
  std::string counts;
  for (const FaultCase& c : kCases) {
    SCOPED_TRACE(c.name);
    const int calls = run(c, 0);
    counts += std::string(" ") + c.name + "=" + std::to_string(calls);
    if (c.op != Op::kFlush && c.op != Op::kCreateDir) {
      EXPECT_GT(calls, 0) << c.name << ": a save makes no such call";
    }
    if (c.op == Op::kCreateDir && GetParam().sharded) {
      EXPECT_GT(calls, 0);
    }
    for (int k = 1; k <= calls; ++k) {
      SCOPED_TRACE("call " + std::to_string(k) + " of " + std::to_string(calls));
      run(c, k);
      ++total;
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
  EXPECT_GT(total, 50);
  std::cout << "[ fault sweep ] " << GetParam().name << ": " << total << " faulty saves;" << counts
            << "\n";
}

INSTANTIATE_TEST_SUITE_P(Saves, SaverFaultSweep,
                         ::testing::Values(Config{1, false, "unsharded"},
                                           Config{3, false, "unsharded_3_devices"},
                                           Config{2, true, "sharded_2"},
                                           Config{3, true, "sharded_3"}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace kiln

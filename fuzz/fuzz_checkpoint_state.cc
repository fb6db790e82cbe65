// libFuzzer target: the fuzzed bytes are a `checkpoint` state file (CheckpointState in protobuf
// text format). Parses it directly, then as dir/checkpoint on a MemFileSystem through
// get_checkpoint_state and latest_checkpoint (which also probe the named checkpoints: dir holds
// one real-looking prefix, dir/model.ckpt-1). Only kiln::Error may escape the library.
#include <cstdint>
#include <string>

#include "fuzz/fuzz_common.h"
#include "io/checkpoint_management.h"
#include "io/checkpoint_state.h"
#include "io/mem_file_system.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kiln;
  const std::string text = fuzz::bytes(data, size);
  fuzz::expect_typed([&] {
    io::CheckpointState st = io::parse_checkpoint_state(text, "checkpoint");
    // What parses must format and parse back to the same paths.
    io::CheckpointState back = io::parse_checkpoint_state(io::format_checkpoint_state(st));
    if (back.model_checkpoint_path != st.model_checkpoint_path ||
        back.all_model_checkpoint_paths != st.all_model_checkpoint_paths)
      __builtin_trap();
  });

  io::MemFileSystem fs;
  fs.create_dir("dir");
  fs.set_contents("dir/checkpoint", text);
  fs.set_contents("dir/model.ckpt-1.index", "");
  fs.set_contents("dir/model.ckpt-1.data-00000-of-00001", "");
  fuzz::expect_typed([&] { (void)get_checkpoint_state("dir", "checkpoint", &fs); });
  fuzz::expect_typed([&] { (void)latest_checkpoint("dir", "checkpoint", &fs); });
  fuzz::expect_typed([&] { (void)io::read_checkpoint_state("dir", &fs); });
  fuzz::expect_typed([&] { (void)io::latest_checkpoint("dir", &fs); });
  return 0;
}

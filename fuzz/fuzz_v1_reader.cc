// libFuzzer target: the fuzzed bytes are a V1 checkpoint file (a LevelDB table of
// SavedTensorSlices) at ckpt-00000-of-00001 on a MemFileSystem. Opens it with V1Reader and
// CheckpointReader, reads every tensor and every slice, and runs check_all(). Only kiln::Error
// may escape the library.
#include <cstdint>
#include <string>

#include "fuzz/fuzz_common.h"
#include "io/checkpoint_reader.h"
#include "io/mem_file_system.h"
#include "io/v1_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kiln;
  io::MemFileSystem fs;
  const std::string path = "ckpt-00000-of-00001";
  fs.set_contents(path, fuzz::bytes(data, size));

  fuzz::expect_typed([&] {
    io::V1Reader reader({path}, &fs);
    for (const auto& kv : reader.tensors()) {
      const std::string& name = kv.first;
      const io::V1Reader::TensorInfo& info = kv.second;
      fuzz::expect_typed([&] { (void)reader.lookup(name); });
      for (const io::TensorSlice& s : info.slices)
        fuzz::expect_typed([&] { (void)reader.lookup_slice(name, s); });
    }
    fuzz::expect_typed([&] { reader.check_all(); });
  });

  fuzz::expect_typed([&] {
    io::CheckpointReader reader(path, &fs);
    (void)reader.debug_string();
    for (const std::string& name : reader.tensor_names())
      fuzz::expect_typed([&] { (void)reader.get_tensor(name); });
  });
  return 0;
}

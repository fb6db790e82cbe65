// libFuzzer target: the fuzzed bytes are a V2 bundle's .index file (LevelDB table, header,
// entries) at P.index on a MemFileSystem that also holds fixed small data files for one- and
// two-shard bundles. Opens it with BundleReader and CheckpointReader and reads every tensor
// (and every slice of partitioned tensors). Only kiln::Error may escape the library.
#include <cstdint>
#include <string>

#include "fuzz/fuzz_common.h"
#include "io/bundle_reader.h"
#include "io/checkpoint_reader.h"
#include "io/mem_file_system.h"

namespace {

std::string fixed_data(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint32_t x = seed;
  for (size_t i = 0; i < n; ++i) {
    if (i < n / 4) continue;  // a zero run: valid zeros for any dtype
    x = x * 1664525u + 1013904223u;
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kiln;
  io::MemFileSystem fs;
  fs.set_contents("P.index", fuzz::bytes(data, size));
  fs.set_contents("P.data-00000-of-00001", fixed_data(1024, 1));
  fs.set_contents("P.data-00000-of-00002", fixed_data(512, 2));
  fs.set_contents("P.data-00001-of-00002", fixed_data(512, 3));

  fuzz::expect_typed([&] {
    io::BundleReader reader("P", &fs);
    (void)reader.header();
    for (const std::string& key : reader.keys()) {
      fuzz::expect_typed([&] {
        io::BundleEntry e = reader.entry(key);
        fuzz::expect_typed([&] { (void)reader.lookup(key); });
        for (const io::TensorSlice& s : e.slices)
          fuzz::expect_typed([&] { (void)reader.lookup_slice(key, s); });
      });
    }
  });

  fuzz::expect_typed([&] {
    io::CheckpointReader reader("P", &fs);
    (void)reader.debug_string();
    for (const std::string& name : reader.tensor_names()) {
      fuzz::expect_typed([&] { (void)reader.get_tensor(name); });
      fuzz::expect_typed([&] {
        for (const io::TensorSlice& s : reader.slices(name))
          fuzz::expect_typed([&] { (void)reader.get_slice(name, s); });
      });
    }
  });
  return 0;
}

// libFuzzer target: the fuzzed bytes are a MetaGraphDef file (binary or text protobuf: the
// importer tries binary, then text) imported into a fresh Graph with import_meta_graph. Nothing
// is run. The first byte picks the import options (scope, clear_devices) so both paths are
// exercised; the rest is the file. Only kiln::Error may escape the library.
#include <cstdint>
#include <string>

#include "core/graph.h"
#include "fuzz/fuzz_common.h"
#include "io/mem_file_system.h"
#include "io/meta_graph.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kiln;
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  io::MemFileSystem fs;
  fs.set_contents("model.meta", fuzz::bytes(data + 1, size - 1));
  MetaGraphImportOptions options;
  options.fs = &fs;
  options.clear_devices = (flags & 1) != 0;
  if (flags & 2) options.import_scope = "imported";
  fuzz::expect_typed([&] {
    Graph graph;
    (void)import_meta_graph(graph, "model.meta", options);
  });
  return 0;
}

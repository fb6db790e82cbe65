// kiln convert SRC DST [--shards N] [--align BYTES]: rewrites any checkpoint CheckpointReader
// reads (V1 or V2, sharded or not) as a V2 bundle at prefix DST. Tensors are written in name
// order; a partitioned tensor keeps its slices (each slice read and re-added as a slice). With
// --shards N the bytes are spread over N data files (the writer balances them); --align puts
// every tensor at a multiple of BYTES. Prints "DST: N tensors, M data files" on success.
#include <iostream>
#include <memory>
#include <regex>

#include "io/bundle_writer.h"
#include "tools/kiln/common.h"

namespace kiln::cli {

namespace {

struct ConvertOptions {
  std::string src;
  std::string dst;
  int shards = 1;
  int64_t align = 1;
};

int run_convert(const ConvertOptions& o) {
  static const std::regex file_re(R"(^.*\.(index|meta|data-\d{5}-of-\d{5})$)");
  if (std::regex_match(o.dst, file_re))
    throw Failure("DST " + o.dst + " looks like a checkpoint file name; pass a prefix such as "
                  "out/model.ckpt (kiln adds .index and .data-*)");
  auto reader = open_checkpoint(o.src);
  if (o.dst == o.src) throw Failure("DST must differ from SRC (" + o.src + ")");
  io::BundleWriterOptions options;
  options.num_shards = o.shards;
  options.data_alignment = o.align;
  io::BundleWriter writer(o.dst, options);
  for (const std::string& name : reader->tensor_names()) {
    std::vector<io::TensorSlice> slices = reader->slices(name);
    if (slices.empty()) {
      writer.add(name, reader->get_tensor(name));
      continue;
    }
    Shape full = reader->shape(name);
    for (const io::TensorSlice& slice : slices)
      writer.add_slice(name, full, slice, reader->get_slice(name, slice));
  }
  writer.finish();
  std::cout << o.dst << ": " << reader->tensor_names().size() << " tensors, " << o.shards
            << (o.shards == 1 ? " data file\n" : " data files\n");
  return 0;
}

}  // namespace

void add_convert(CLI::App& app, int* status) {
  auto o = std::make_shared<ConvertOptions>();
  CLI::App* sub = app.add_subcommand(
      "convert", "Rewrite a checkpoint (V1 or V2) as a V2 bundle, optionally re-sharded");
  sub->add_option("src", o->src, "Prefix of the checkpoint to read")->required();
  sub->add_option("dst", o->dst, "Prefix of the V2 bundle to write")->required();
  sub->add_option("--shards", o->shards, "Number of data files")
      ->check(CLI::Range(1, 99999))->default_val(1);
  sub->add_option("--align", o->align, "Start every tensor at a multiple of BYTES")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30))->default_val(1);
  sub->callback([o, status] { *status = run_convert(*o); });
}

}  // namespace kiln::cli

// Writes seed inputs for the fuzz targets with the same APIs the io tests use: bundles (several
// dtypes, strings, a partitioned tensor, a sharded Saver checkpoint), binary and text
// MetaGraphDefs of a model with a (sharded) Saver, and `checkpoint` state files.
// Usage: fuzz_make_seeds OUTDIR  (writes OUTDIR/<target>/...). Run by fuzz/make_corpus.sh.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "io/bundle_writer.h"
#include "io/checkpoint_state.h"
#include "io/file.h"
#include "kiln/kiln.h"

namespace fs = std::filesystem;
using namespace kiln;

static void put(const fs::path& p, const std::string& bytes, const std::string& prefix = "") {
  std::ofstream(p, std::ios::binary) << prefix << bytes;
}

static std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
    return 2;
  }
  const fs::path out = argv[1];
  const fs::path work = out / "work";
  fs::create_directories(work);
  for (const char* t : {"fuzz_index_reader", "fuzz_meta_graph", "fuzz_checkpoint_state"})
    fs::create_directories(out / t);

  // A bundle of several dtypes, strings and a partitioned tensor.
  {
    io::BundleWriter w((work / "b1").string());
    w.add("f", Tensor::of<float>({1, 2, 3, 4}, Shape{2, 2}));
    w.add("d", Tensor::of<double>({0.5}, Shape{1}));
    w.add("i", Tensor::scalar<int64_t>(7));
    w.add("i32", Tensor::of<int32_t>({1, 2, 3}, Shape{3}));
    w.add("s", Tensor::of_strings({"a", "", "hello"}, Shape{3}));
    w.add("empty", Tensor(DType::kFloat, Shape{0, 3}));
    w.add_slice("part", Shape{4, 2}, {{0, 2}, {0, -1}}, Tensor::of<float>({1, 2, 3, 4}, Shape{2, 2}));
    w.add_slice("part", Shape{4, 2}, {{2, 2}, {0, -1}}, Tensor::of<float>({5, 6, 7, 8}, Shape{2, 2}));
    w.finish();
    put(out / "fuzz_index_reader" / "b1.index", slurp(work / "b1.index"));
  }
  {
    io::BundleWriter w((work / "b2").string());
    w.add("x", Tensor::of<float>({1}, Shape{1}));
    w.finish();
    put(out / "fuzz_index_reader" / "b2.index", slurp(work / "b2.index"));
  }

  // A model with a sharded Saver: its checkpoint index and meta graph (binary and text).
  for (bool sharded : {false, true}) {
    Graph g;
    Variable a(g, constant<float>(g, {1, 2}, Shape{2}), "a");
    Variable b = [&] {
      auto d = g.device("/cpu:1");
      return Variable(g, constant<float>(g, {3}, Shape{1}), "b");
    }();
    Operation init = global_variables_initializer(g);
    Saver saver(g, {.sharded = sharded});
    Session sess(g, {.cpu_devices = 2, .gpu_devices = 0});
    sess.run({}, {}, {init});
    const std::string tag = sharded ? "sharded" : "plain";
    fs::create_directories(work / tag);
    std::string prefix = saver.save(sess, (work / tag / "model.ckpt").string(), {.global_step = 1});
    put(out / "fuzz_index_reader" / (tag + ".index"), slurp(prefix + ".index"));
    put(out / "fuzz_meta_graph" / (tag + ".meta"), slurp(prefix + ".meta"), std::string(1, '\0'));
    MetaGraphExportOptions text;
    text.as_text = true;
    put(out / "fuzz_meta_graph" / (tag + ".meta.txt"), meta_graph_to_string(g, text, nullptr),
        std::string(1, '\0'));
    put(out / "fuzz_checkpoint_state" / (tag + ".checkpoint"), slurp(work / tag / "checkpoint"));
  }

  // State files.
  io::CheckpointState st;
  st.model_checkpoint_path = "model.ckpt-3";
  st.all_model_checkpoint_paths = {"model.ckpt-1", "model.ckpt-2", "model.ckpt-3"};
  st.all_model_checkpoint_timestamps = {1.5, 2.5, 3.5};
  st.last_preserved_timestamp = 1.0;
  put(out / "fuzz_checkpoint_state" / "three", io::format_checkpoint_state(st));
  st.model_checkpoint_path = "/abs/dir/model.ckpt-1";
  st.all_model_checkpoint_paths = {"../x/model.ckpt-1", "/abs/dir/model.ckpt-1"};
  put(out / "fuzz_checkpoint_state" / "paths", io::format_checkpoint_state(st));
  fs::remove_all(work);
  return 0;
}

// MetaGraphDef export/import: round trips of kiln graphs (binary and text), the Saver's
// subgraph and SaverDef as TF names them, collections, import_scope/clear_devices, TF1's own
// v1_half_plus_two graph running in kiln, and the errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/errors.h"
#include "io/mem_file_system.h"
#include "io_test_util.h"
#include "kiln/kiln.h"

namespace kiln {
namespace {

using io::testing::ScratchDir;

std::string tf(const std::string& path) { return io::testing::testdata_dir() + "/tf/" + path; }

std::vector<float> values(Session& s, const std::string& var) {
  return s.variable_value(var).to_vector<float>();
}

// v1 (1x2) and v2 (2x3) from random_normal, as the seed program.
struct SeedModel {
  Graph g;
  Variable v1{g, random_normal(g, {1, 2}), "v1"};
  Variable v2{g, random_normal(g, {2, 3}), "v2"};
  Operation init = global_variables_initializer(g);
};

TEST(MetaGraph, SaverBuildsTfSubgraphAndSaverDef) {
  SeedModel m;
  Saver saver(m.g);
  ASSERT_TRUE(saver.saver_def().has_value());
  EXPECT_EQ(saver.saver_def()->filename_tensor_name, "save/Const:0");
  EXPECT_EQ(saver.saver_def()->save_tensor_name, "save/control_dependency:0");
  EXPECT_EQ(saver.saver_def()->restore_op_name, "save/restore_all");
  EXPECT_EQ(saver.saver_def()->version, 2);
  for (const char* name : {"save/SaveV2/tensor_names", "save/SaveV2/shape_and_slices",
                           "save/SaveV2", "save/RestoreV2", "save/Assign", "save/Assign_1"})
    EXPECT_NE(m.g.find_node(name), nullptr) << name;
  Node* names = m.g.find_node("save/SaveV2/tensor_names");
  EXPECT_EQ(names->attr<Tensor>("value").to_vector<std::string>(),
            (std::vector<std::string>{"v1", "v2"}));
  Node* save = m.g.find_node("save/SaveV2");
  ASSERT_EQ(save->inputs().size(), 5u);
  EXPECT_EQ(save->inputs()[3].node, m.v1.op().node);  // the variables themselves (ref)
  EXPECT_EQ(save->attr<std::vector<DType>>("dtypes"),
            (std::vector<DType>{DType::kFloat, DType::kFloat}));
  EXPECT_EQ(m.g.find_node("save/restore_all")->control_inputs().size(), 2u);

  // A second Saver gets its own scope, as in TF.
  Saver second(m.g);
  EXPECT_EQ(second.saver_def()->restore_op_name, "save_1/restore_all");
}

TEST(MetaGraph, ShardedSaverSubgraphHasTfNames) {
  Graph g;
  Variable a(g, constant<float>(g, {1, 2}, Shape{2}), "a");
  Variable b = [&] {
    auto d = g.device("/cpu:1");
    return Variable(g, constant<float>(g, {3}, Shape{1}), "b");
  }();
  Saver saver(g, {.sharded = true});
  EXPECT_EQ(b.op().node->requested_device(), "/cpu:1");
  EXPECT_EQ(saver.saver_def()->save_tensor_name, "save/Identity:0");
  EXPECT_TRUE(saver.saver_def()->sharded);
  for (const char* name :
       {"save/StringJoin/inputs_1", "save/StringJoin", "save/num_shards", "save/ShardedFilename",
        "save/ShardedFilename_1", "save/SaveV2", "save/SaveV2_1", "save/control_dependency",
        "save/control_dependency_1", "save/MergeV2Checkpoints/checkpoint_prefixes",
        "save/MergeV2Checkpoints", "save/restore_shard", "save/restore_shard_1", "save/restore_all"})
    EXPECT_NE(g.find_node(name), nullptr) << name;
  EXPECT_EQ(g.find_node("save/num_shards")->attr<Tensor>("value").to_vector<int32_t>(),
            std::vector<int32_t>{2});
  EXPECT_EQ(g.find_node("save/SaveV2_1")->requested_device(), "/device:CPU:1");
  std::string part = g.find_node("save/StringJoin/inputs_1")->attr<Tensor>("value").to_vector<std::string>()[0];
  EXPECT_EQ(part.rfind("_temp_", 0), 0u);
  EXPECT_EQ(part.size(), 6 + 32 + 5u);  // _temp_<32 hex>/part
}

TEST(MetaGraph, SeedProgramImportRestoresEqualValues) {
  ScratchDir tmp;
  SeedModel m;
  Saver saver(m.g);
  Session sess(m.g);
  sess.run(m.init);
  std::string path = saver.save(sess, tmp.file("model.ckpt"));
  ASSERT_TRUE(std::filesystem::exists(tmp.file("model.ckpt.meta")));

  Graph g2;
  Saver saver2 = import_meta_graph(g2, tmp.file("model.ckpt.meta"));
  EXPECT_EQ(saver2.variables().size(), 2u);
  Session sess3(g2);
  saver2.restore(sess3, path);
  EXPECT_EQ(values(sess3, "v1"), values(sess, "v1"));
  EXPECT_EQ(values(sess3, "v2"), values(sess, "v2"));
  // The imported tensors run: v1/read:0 reads the restored value.
  EXPECT_EQ(sess3.run(g2.get_tensor_by_name("v1:0")).to_vector<float>(), values(sess, "v1"));
  // The collections came back as variables, trainable, with their initializers.
  ASSERT_EQ(global_variables(g2).size(), 2u);
  EXPECT_EQ(trainable_variables(g2).size(), 2u);
  EXPECT_EQ(global_variables(g2)[0].initializer().name(), "v1/Assign");
  // The initializer subgraph (random_normal) runs too.
  Session sess4(g2);
  sess4.run(global_variables_initializer(g2));
  EXPECT_EQ(sess4.variable_value("v2").shape(), Shape({2, 3}));
}

TEST(MetaGraph, ExportImportExportIsIdentical) {
  for (bool as_text : {false, true}) {
    SeedModel m;
    auto step = Variable(m.g, constant<int64_t>(m.g, {0}, Shape{}), "global_step",
                         {.trainable = false, .collections = {"variables", "global_step"}});
    EXPECT_FALSE(step.trainable());
    m.g.add_to_collection("train_op", m.init.node);
    m.g.add_to_collection("my_numbers", int64_t{7});
    m.g.add_to_collection("my_strings", std::string("hello"));
    Saver saver(m.g, {.max_to_keep = 3, .keep_checkpoint_every_n_hours = 2});
    MetaGraphExportOptions o{.as_text = as_text};
    std::string first = meta_graph_to_string(m.g, o, &*saver.saver_def());
    ScratchDir tmp;
    saver.export_meta_graph(tmp.file("m.meta"), o);

    Graph g2;
    Saver saver2 = import_meta_graph(g2, tmp.file("m.meta"));
    EXPECT_EQ(saver2.options().max_to_keep, 3);
    EXPECT_EQ(saver2.options().keep_checkpoint_every_n_hours, 2.0);
    std::string second = meta_graph_to_string(g2, o, &*saver2.saver_def());
    EXPECT_EQ(first, second) << (as_text ? "text" : "binary");
    ASSERT_EQ(g2.get_collection("my_numbers").size(), 1u);
    EXPECT_EQ(std::get<int64_t>(g2.get_collection("my_numbers")[0]), 7);
    EXPECT_EQ(std::get<std::string>(g2.get_collection("my_strings")[0]), "hello");
    EXPECT_EQ(std::get<Node*>(g2.get_collection("train_op")[0])->name(), "init");
    EXPECT_EQ(g2.variables("global_step").size(), 1u);
    EXPECT_FALSE(g2.variables("global_step")[0].trainable);
  }
}

TEST(MetaGraph, ExportOptionsClearDevicesAndCollectionList) {
  Graph g;
  Variable v = [&] {
    auto d = g.device("/cpu:0");
    return Variable(g, constant<float>(g, {1}, Shape{1}), "v");
  }();
  g.add_to_collection("extra", std::string("x"));
  EXPECT_EQ(v.op().node->requested_device(), "/cpu:0");
  Saver saver(g);
  std::string with = meta_graph_to_string(g, {.as_text = true});
  std::string without = meta_graph_to_string(
      g, {.as_text = true, .clear_devices = true,
          .collection_list = std::vector<std::string>{"variables"}});
  EXPECT_NE(with.find("device: \"/cpu:0\""), std::string::npos);
  EXPECT_EQ(without.find("device:"), std::string::npos);
  EXPECT_NE(with.find("key: \"extra\""), std::string::npos);
  EXPECT_EQ(without.find("key: \"extra\""), std::string::npos);
  EXPECT_EQ(without.find("key: \"trainable_variables\""), std::string::npos);
  EXPECT_NE(without.find("key: \"variables\""), std::string::npos);
  EXPECT_NE(with.find("tensorflow_version: \"1.15.0\""), std::string::npos);
}

TEST(MetaGraph, ImportScopePrefixesNamesAndSaverStillWorks) {
  ScratchDir tmp;
  SeedModel m;
  Saver saver(m.g);
  Session sess(m.g);
  sess.run(m.init);
  std::string path = saver.save(sess, tmp.file("model.ckpt"));

  Graph g2;
  Variable other(g2, constant<float>(g2, {5}, Shape{1}), "other");
  Saver s2 = import_meta_graph(g2, tmp.file("model.ckpt.meta"),
                               {.clear_devices = true, .import_scope = "imported"});
  EXPECT_NE(g2.find_node("imported/v1"), nullptr);
  EXPECT_NE(g2.find_node("imported/save/restore_all"), nullptr);
  EXPECT_EQ(s2.saver_def()->restore_op_name, "imported/save/restore_all");
  // The checkpoint keys stay "v1"/"v2", mapped onto the prefixed variables.
  ASSERT_EQ(s2.variables().size(), 2u);
  EXPECT_EQ(s2.variables()[0].first, "v1");
  EXPECT_EQ(s2.variables()[0].second.name(), "imported/v1");
  Session sess2(g2);
  s2.restore(sess2, path);
  EXPECT_EQ(values(sess2, "imported/v2"), values(sess, "v2"));
}

TEST(MetaGraph, TensorFlowV1HalfPlusTwoRuns) {
  Graph g;
  Saver saver = import_meta_graph(g, tf("v1_half_plus_two/export.meta"));
  ASSERT_TRUE(saver.saver_def().has_value());
  EXPECT_TRUE(saver.saver_def()->sharded);
  EXPECT_EQ(saver.saver_def()->version, 1);
  ASSERT_EQ(saver.variables().size(), 2u);  // a and b: what its restore op assigns
  EXPECT_EQ(saver.variables()[0].first, "a");
  EXPECT_EQ(saver.variables()[1].first, "b");
  EXPECT_EQ(g.find_node("a")->op(), "Variable");  // the legacy op name

  for (const std::string ckpt : {"v1_half_plus_two/export", "v1_half_plus_two/export-?\?\?\?\?-of-00001"}) {
    Session sess(g);
    saver.restore(sess, tf(ckpt));
    EXPECT_EQ(values(sess, "a"), std::vector<float>{0.5f});
    EXPECT_EQ(values(sess, "b"), std::vector<float>{2.0f});
    Tensor x = Tensor::of<float>({1, 2, 3}, {3, 1});
    Tensor y = sess.run(g.get_tensor_by_name("y:0"), {{g.get_tensor_by_name("x:0"), x}});
    EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{2.5f, 3.0f, 3.5f})) << ckpt;
  }
}

TEST(MetaGraph, UnimplementedOpIsReportedOnlyWhenNeeded) {
  Graph g;
  Saver saver = import_meta_graph(g, tf("v1_half_plus_two/export.meta"));
  EXPECT_EQ(g.find_node("ParseExample/ParseExample")->op(), "ParseExample");
  Session sess(g);
  saver.restore(sess, tf("v1_half_plus_two/export"));
  // y without feeding x needs ParseExample.
  Tensor serialized = Tensor::of_strings({""}, Shape{});
  KILN_EXPECT_ERROR(sess.run(g.get_tensor_by_name("y:0"),
                             {{g.get_tensor_by_name("tf_example:0"), serialized}}),
                    UnimplementedError, "ParseExample");
}

TEST(MetaGraph, GraphWithoutSaverDefGetsDefaultSaver) {
  ScratchDir tmp;
  SeedModel m;
  export_meta_graph(m.g, tmp.file("nosaver.meta"));  // no SaverDef
  Graph g2;
  Saver s = import_meta_graph(g2, tmp.file("nosaver.meta"));
  EXPECT_EQ(s.variables().size(), 2u);
  EXPECT_EQ(s.saver_def()->restore_op_name, "save/restore_all");  // built now

  Graph empty;
  constant<float>(empty, {1}, Shape{1}, "c");
  export_meta_graph(empty, tmp.file("empty.meta"));
  Graph g3;
  Saver none = import_meta_graph(g3, tmp.file("empty.meta"));
  EXPECT_TRUE(none.variables().empty());
  EXPECT_FALSE(none.saver_def().has_value());
  Session sess(g3);
  EXPECT_EQ(none.save(sess, tmp.file("x")), "");
}

TEST(MetaGraph, Errors) {
  ScratchDir tmp;
  Graph g;
  KILN_EXPECT_ERROR(import_meta_graph(g, tmp.file("missing.meta")), NotFoundError,
                    "missing.meta does not exist.");
  {
    std::ofstream out(tmp.file("garbage.meta"));
    out << "this is { not a meta graph";
  }
  KILN_EXPECT_ERROR(import_meta_graph(g, tmp.file("garbage.meta")), DataLossError,
                    "Cannot parse file");
  SeedModel m;
  KILN_EXPECT_ERROR(export_meta_graph(m.g, tmp.file("no/such/dir/m.meta")), NotFoundError,
                    "doesn't exist");
  // Importing twice into one graph clashes on names.
  Saver saver(m.g);
  saver.export_meta_graph(tmp.file("m.meta"));
  Graph g2;
  import_meta_graph(g2, tmp.file("m.meta"));
  KILN_EXPECT_ERROR(import_meta_graph(g2, tmp.file("m.meta")), InvalidArgumentError,
                    "Duplicate node name");
}

TEST(MetaGraph, MetaGraphFilename) {
  EXPECT_EQ(meta_graph_filename("/d/model-1000"), "/d/model-1000.meta");
  EXPECT_EQ(meta_graph_filename("/d/model-1000-?\?\?\?\?-of-00002"), "/d/model-1000.meta");
  EXPECT_EQ(meta_graph_filename("/d/model-1000-00001-of-00002", "mg"), "/d/model-1000.mg");
}

TEST(MetaGraph, SaveWritesMetaWithSuffixOrNot) {
  ScratchDir tmp;
  SeedModel m;
  Saver saver(m.g);
  Session sess(m.g);
  sess.run(m.init);
  saver.save(sess, tmp.file("a"), {.meta_graph_suffix = "mg"});
  EXPECT_TRUE(std::filesystem::exists(tmp.file("a.mg")));
  saver.save(sess, tmp.file("b"), {.write_meta_graph = false});
  EXPECT_FALSE(std::filesystem::exists(tmp.file("b.meta")));
}

TEST(MetaGraph, GlobalStepFromVariableTensorOrName) {
  ScratchDir tmp;
  Graph g;
  Variable v(g, constant<float>(g, {1}, Shape{1}), "v");
  Variable step(g, constant<int64_t>(g, {42}, Shape{}), "global_step", {.trainable = false});
  Output step32 = constant<int32_t>(g, {7}, Shape{}, "step32");
  Session sess(g);
  sess.run(global_variables_initializer(g));
  Saver saver(g);
  EXPECT_EQ(saver.save(sess, tmp.file("m"), {.global_step = step}), tmp.file("m-42"));
  EXPECT_EQ(saver.save(sess, tmp.file("m"), {.global_step = step32}), tmp.file("m-7"));
  EXPECT_EQ(saver.save(sess, tmp.file("m"), {.global_step = "global_step:0"}), tmp.file("m-42"));
  KILN_EXPECT_ERROR(saver.save(sess, tmp.file("m"), {.global_step = v.value()}),
                    InvalidArgumentError, "int32 or int64 scalar");
}

TEST(MetaGraph, MemFileSystemRoundTrip) {
  io::MemFileSystem mem;
  mem.create_dir("/ck");
  SeedModel m;
  Saver saver(m.g, {.fs = &mem});
  Session sess(m.g);
  sess.run(m.init);
  saver.save(sess, "/ck/model", {.global_step = 1});
  ASSERT_TRUE(mem.exists("/ck/model-1.meta"));
  Graph g2;
  Saver s2 = import_meta_graph(g2, "/ck/model-1.meta", {.fs = &mem});
  Session sess2(g2);
  s2.restore(sess2, "/ck/model-1");
  EXPECT_EQ(values(sess2, "v1"), values(sess, "v1"));
}

}  // namespace
}  // namespace kiln

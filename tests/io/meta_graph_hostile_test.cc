// Hostile MetaGraphDefs (issue 6): files built to break the importer (a cycle, unknown ops, a
// 10 MB node name, huge input lists, inputs naming missing nodes or outputs, truncations,
// constants claiming 2^40 elements, negative dimensions, deep nesting). Each must end in a typed
// kiln error (or, where TF accepts the graph, in a graph that imports), never a crash, a hang or
// an allocation the file does not pay for: the host allocator's peak is checked around every
// import.
#include <gtest/gtest.h>

#include <string>

#include "core/allocator.h"
#include "core/errors.h"
#include "io/mem_file_system.h"
#include "io/proto/meta_graph.pb.h"
#include "io_test_util.h"
#include "kiln/kiln.h"

namespace kiln {
namespace {

// Imports `mg` (binary) from an in-memory file; returns the graph's node count. Expects the
// host allocator's peak during the import to stay under 64 MiB.
class Hostile : public ::testing::Test {
 protected:
  void SetUp() override { mem_.create_dir("/g"); }

  size_t import(const kiln::MetaGraphDef& mg) { return import_bytes(mg.SerializeAsString()); }

  size_t import_bytes(const std::string& bytes) {
    mem_.set_contents("/g/m.meta", bytes);
    Allocator* host = host_allocator();
    const int64_t before = host->stats().bytes_in_use;
    host->reset_peak();
    struct PeakCheck {
      Allocator* host;
      int64_t before;
      ~PeakCheck() {
        EXPECT_LT(host->stats().peak_bytes_in_use - before, int64_t{64} << 20)
            << "the import allocated more tensor memory than a hostile file may cost";
      }
    } check{host, before};
    graph_ = std::make_unique<Graph>();
    import_meta_graph(*graph_, "/g/m.meta", {.fs = &mem_});
    return graph_->nodes().size();
  }

  static kiln::NodeDef* node(kiln::MetaGraphDef* mg, const std::string& name,
                             const std::string& op, std::vector<std::string> inputs = {}) {
    kiln::NodeDef* n = mg->mutable_graph_def()->add_node();
    n->set_name(name);
    n->set_op(op);
    for (auto& in : inputs) n->add_input(in);
    return n;
  }

  // A float Const whose `value` tensor has the given dims and no values at all (TF's rule:
  // zero-filled) unless `one_value`.
  static void const_node(kiln::MetaGraphDef* mg, const std::string& name,
                         const std::vector<int64_t>& dims, bool one_value = false) {
    kiln::NodeDef* n = node(mg, name, "Const");
    (*n->mutable_attr())["dtype"].set_type(kiln::DT_FLOAT);
    kiln::TensorProto* t = (*n->mutable_attr())["value"].mutable_tensor();
    t->set_dtype(kiln::DT_FLOAT);
    for (int64_t d : dims) t->mutable_tensor_shape()->add_dim()->set_size(d);
    if (one_value) t->add_float_val(1.5f);
  }

  io::MemFileSystem mem_;
  std::unique_ptr<Graph> graph_;
};

using io::testing::ScratchDir;

TEST_F(Hostile, ACycleIsInvalidArgumentNamingANodeOnIt) {
  kiln::MetaGraphDef mg;
  const_node(&mg, "c", {2});
  node(&mg, "a", "Identity", {"b"});
  node(&mg, "b", "Identity", {"a"});
  node(&mg, "self", "Identity", {"self"});
  KILN_EXPECT_ERROR(import(mg), InvalidArgumentError, "cycle through node");
}

TEST_F(Hostile, AnUnknownOpImportsAndFailsOnlyWhenRun) {
  kiln::MetaGraphDef mg;
  const_node(&mg, "c", {2}, true);
  kiln::NodeDef* n = node(&mg, "weird", "NoSuchOpAnywhere", {"c"});
  (*n->mutable_attr())["T"].set_type(kiln::DT_FLOAT);
  node(&mg, "use", "Identity", {"weird"});  // gives `weird` its output 0 (a float, from T)
  EXPECT_EQ(import(mg), 3u);  // TF's leniency (io/graph_def.h): only a run needs the kernel
  Session sess(*graph_);
  EXPECT_EQ(sess.run(graph_->get_tensor_by_name("c:0")).to_vector<float>(),
            (std::vector<float>{1.5f, 1.5f}));
  try {
    sess.run(graph_->get_tensor_by_name("weird:0"));
    ADD_FAILURE() << "running an op kiln lacks must fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("NoSuchOpAnywhere"), std::string::npos) << e.what();
  }
}

// TF puts no limit on a node name's length; neither does kiln. A 10 MB name imports, is kept
// once per structure that names the node, and a consumer finds it.
TEST_F(Hostile, ATenMegabyteNodeNameImports) {
  kiln::MetaGraphDef mg;
  const std::string big(10 << 20, 'n');
  const_node(&mg, big, {3}, true);
  node(&mg, "id", "Identity", {big});
  EXPECT_EQ(import(mg), 2u);
  Session sess(*graph_);
  EXPECT_EQ(sess.run(graph_->get_tensor_by_name("id:0")).to_vector<float>(),
            (std::vector<float>{1.5f, 1.5f, 1.5f}));
  // The same name with a character TF's name rule forbids: a typed error, not a crash.
  kiln::MetaGraphDef bad;
  const_node(&bad, big + "!", {1}, true);
  EXPECT_THROW(import(bad), InvalidArgumentError);
}

TEST_F(Hostile, HugeInputListsAndLongChains) {
  // 200k inputs on one node imports and runs; its memory is the file's.
  kiln::MetaGraphDef wide;
  const_node(&wide, "c", {1}, true);
  kiln::NodeDef* sum = node(&wide, "sum", "AddN");
  for (int i = 0; i < 200000; ++i) sum->add_input("c");
  (*sum->mutable_attr())["N"].set_i(200000);
  (*sum->mutable_attr())["T"].set_type(kiln::DT_FLOAT);
  EXPECT_EQ(import(wide), 2u);
  Session sess(*graph_);
  EXPECT_EQ(sess.run(graph_->get_tensor_by_name("sum:0")).to_vector<float>(),
            std::vector<float>{300000.f});  // 1.5 added 200000 times, exact in float
  // A chain 100k nodes deep, listed in reverse order: the importer's sort is not recursive.
  kiln::MetaGraphDef chain;
  for (int i = 100000; i >= 1; --i) node(&chain, "n" + std::to_string(i), "Identity",
                                         {"n" + std::to_string(i - 1)});
  const_node(&chain, "n0", {1}, true);
  EXPECT_EQ(import(chain), 100001u);
}

TEST_F(Hostile, InputsNamingMissingNodesOrOutputs) {
  {
    kiln::MetaGraphDef mg;
    node(&mg, "a", "Identity", {"ghost"});
    KILN_EXPECT_ERROR(import(mg), InvalidArgumentError, "names no node");
  }
  {
    kiln::MetaGraphDef mg;
    node(&mg, "a", "NoOp", {"^ghost"});
    KILN_EXPECT_ERROR(import(mg), InvalidArgumentError, "names no node");
  }
  {
    kiln::MetaGraphDef mg;
    node(&mg, "a", "Identity", {""});
    KILN_EXPECT_ERROR(import(mg), InvalidArgumentError, "empty input");
  }
  // An output index a known op does not have.
  for (const char* in : {"c:1", "c:7", "c:65535"}) {
    kiln::MetaGraphDef mg;
    const_node(&mg, "c", {1}, true);
    node(&mg, "a", "Identity", {in});
    KILN_EXPECT_ERROR(import(mg), InvalidArgumentError, "does not exist");
  }
  // Output indices no op has: past 2^31 (std::stoi would throw a non-kiln exception), and ones
  // that would make the importer invent billions of outputs for an op it does not know.
  for (const char* in : {"c:2147483647", "c:2147483648", "c:99999999999999999999",
                        "u:2000000000", "u:65536"}) {
    kiln::MetaGraphDef mg;
    const_node(&mg, "c", {1}, true);
    node(&mg, "u", "NoSuchOpAnywhere");
    node(&mg, "a", "Identity", {in});
    KILN_EXPECT_ERROR(import(mg), InvalidArgumentError, "output index");
  }
}

// Collections name tensors "node:index"; the index is the file's word too.
TEST_F(Hostile, CollectionsNamingOutputsANodeLacks) {
  for (const char* name : {"c:abc", "c:1", "c:", "c:99999999999", "c:-1"}) {
    kiln::MetaGraphDef mg;
    const_node(&mg, "c", {1}, true);
    (*mg.mutable_collection_def())["things"].mutable_node_list()->add_value(name);
    KILN_EXPECT_ERROR(import(mg), InvalidArgumentError, "Collection 'things'");
  }
  kiln::MetaGraphDef mg;
  const_node(&mg, "c", {1}, true);
  (*mg.mutable_collection_def())["things"].mutable_node_list()->add_value("c:0");
  EXPECT_EQ(import(mg), 1u);
  EXPECT_EQ(graph_->get_collection("things").size(), 1u);
}

TEST_F(Hostile, TruncatedAndGarbageFilesAreDataLoss) {
  kiln::MetaGraphDef mg;
  const_node(&mg, "c", {4}, true);
  node(&mg, "id", "Identity", {"c"});
  mg.mutable_saver_def()->set_restore_op_name("save/restore_all");
  const std::string bytes = mg.SerializeAsString();
  int data_loss = 0, imported = 0;
  // Every truncation: a typed error or (when the cut falls between whole fields and leaves a
  // graph that stands) an import; never a crash. Most must be DataLossError.
  for (size_t len = 1; len < bytes.size(); ++len) {
    try {
      import_bytes(bytes.substr(0, len));
      ++imported;
    } catch (const DataLossError&) {
      ++data_loss;
    } catch (const Error&) {
    }
  }
  EXPECT_GT(data_loss, static_cast<int>(bytes.size()) / 2);
  KILN_EXPECT_ERROR(import_bytes(std::string("\xff\xff\xff\xff\x0f garbage", 10)), DataLossError,
                    "Cannot parse file /g/m.meta");
  // Text format cut in the middle of a node.
  KILN_EXPECT_ERROR(import_bytes("graph_def { node { name: \"c\" op: \"Co"), DataLossError,
                    "Cannot parse file");
}

// A constant of 2^40 elements given by no values (TF zero-fills) or one value (TF broadcasts):
// a few bytes of file would cost 4 TB. Capped at 2^31 bytes with ResourceExhaustedError naming
// the node and attr.
TEST_F(Hostile, ConstantsClaimingHugeShapesAreRejectedBeforeAllocating) {
  for (bool one_value : {false, true}) {
    kiln::MetaGraphDef mg;
    const_node(&mg, "huge", {int64_t{1} << 20, int64_t{1} << 20}, one_value);
    KILN_EXPECT_ERROR(import(mg), ResourceExhaustedError, "Node 'huge' attr 'value'");
  }
  // Just over the cap, and a shape whose element count overflows int64.
  {
    kiln::MetaGraphDef mg;
    const_node(&mg, "big", {(int64_t{1} << 29) + 1});  // 4 bytes each: 2^31 + 4 bytes
    KILN_EXPECT_ERROR(import(mg), ResourceExhaustedError, "2^31 bytes");
  }
  {
    kiln::MetaGraphDef mg;
    const_node(&mg, "overflow", {int64_t{1} << 40, int64_t{1} << 40});
    KILN_EXPECT_ERROR(import(mg), DataLossError, "more than 2^63 - 1 elements");
  }
  // tensor_content that does not match the claimed shape: rejected by size, not allocated.
  {
    kiln::MetaGraphDef mg;
    const_node(&mg, "content", {int64_t{1} << 40});
    auto* t = (*mg.mutable_graph_def()->mutable_node(0)->mutable_attr())["value"].mutable_tensor();
    t->set_tensor_content(std::string(16, '\0'));
    KILN_EXPECT_ERROR(import(mg), DataLossError, "tensor_content has 16 bytes");
  }
  // A constant the cap allows still imports with the right values.
  {
    kiln::MetaGraphDef mg;
    const_node(&mg, "ok", {1000});
    EXPECT_EQ(import(mg), 1u);
    Session sess(*graph_);
    EXPECT_EQ(sess.run(graph_->get_tensor_by_name("ok:0")).to_vector<float>(),
              std::vector<float>(1000, 0.f));
  }
}

TEST_F(Hostile, NegativeDimensions) {
  {
    kiln::MetaGraphDef mg;
    const_node(&mg, "neg", {3, -5}, true);
    KILN_EXPECT_ERROR(import(mg), InvalidArgumentError, "known dimensions");
  }
  // Negative sizes in shape attrs mean "unknown" (TF's TensorShapeProto): a Placeholder with
  // them imports as a partially known shape.
  {
    kiln::MetaGraphDef mg;
    kiln::NodeDef* p = node(&mg, "x", "Placeholder");
    (*p->mutable_attr())["dtype"].set_type(kiln::DT_FLOAT);
    auto* s = (*p->mutable_attr())["shape"].mutable_shape();
    s->add_dim()->set_size(-7);
    s->add_dim()->set_size(3);
    EXPECT_EQ(import(mg), 1u);
    EXPECT_EQ(graph_->get_tensor_by_name("x:0").shape().to_string(), "[?,3]");
  }
}

// Nesting: protobuf's parsers stop at depth 100; an AttrValue nested deeper (func attrs hold
// attrs) is a parse failure, i.e. DataLossError, not a stack overflow.
TEST_F(Hostile, DeepNestingIsDataLoss) {
  kiln::MetaGraphDef mg;
  kiln::NodeDef* n = node(&mg, "deep", "NoOp");
  kiln::AttrValueProto* a = &(*n->mutable_attr())["f"];
  for (int i = 0; i < 5000; ++i) a = &(*a->mutable_func()->mutable_attr())["f"];
  a->set_i(1);
  KILN_EXPECT_ERROR(import(mg), DataLossError, "Cannot parse file");
  // The same depth in text format.
  std::string text = "graph_def { node { name: \"deep\" op: \"NoOp\" attr { key: \"f\" value { ";
  for (int i = 0; i < 5000; ++i) text += "func { attr { key: \"f\" value { ";
  KILN_EXPECT_ERROR(import_bytes(text), DataLossError, "Cannot parse file");
  // Unknown fields are skipped (TF's files may carry fields kiln does not declare); skipping is
  // recursive too.
  std::string unknown = "graph_def { node { name: \"x\" op: \"NoOp\" } } no_such_field { ";
  for (int i = 0; i < 100000; ++i) unknown += "a { ";
  KILN_EXPECT_ERROR(import_bytes(unknown), DataLossError, "Cannot parse file");
}

}  // namespace
}  // namespace kiln

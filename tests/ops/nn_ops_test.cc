// BiasAdd, Relu, Sigmoid, Tanh, Softmax and SparseSoftmaxCrossEntropyWithLogits against plain-loop
// double references, float32 and float64, int32 and int64 labels.
#include "op_test_util.h"

namespace kiln_test {
namespace {

using kiln::InvalidArgumentError;

Tol act_tol(DType dtype) { return dtype == kiln::float32 ? Tol{2e-6, 1e-7} : Tol{1e-13, 1e-15}; }

TEST(NnOps, BiasAdd) {
  std::mt19937 gen(21);
  for (DType dtype : {kiln::float32, kiln::float64})
    for (const Shape& shape : {Shape{4, 5}, Shape{2, 3, 4}, Shape{2, 2, 2, 3}, Shape{0, 5}, Shape{1, 1}}) {
      SCOPED_TRACE(std::string(dname(dtype)) + " " + shape.to_string());
      int64_t c = shape.dims().back();
      std::vector<double> v, b;
      Tensor tv = random_tensor(gen, dtype, shape, &v);
      Tensor tb = random_tensor(gen, dtype, Shape{c}, &b);
      Graph g;
      Output y = kiln::bias_add(kiln::constant(g, tv), kiln::constant(g, tb));
      EXPECT_EQ(y.node->op(), "BiasAdd");
      EXPECT_EQ(y.node->name(), "BiasAdd");
      EXPECT_EQ(y.shape(), shape);
      std::vector<double> expected(v.size());
      for (size_t i = 0; i < v.size(); ++i) expected[i] = v[i] + b[i % c];
      EXPECT_TRUE(AllClose(run_cpu(g, y), dtype, shape, expected, act_tol(dtype)));
    }
}

TEST(NnOps, BiasAddShapeErrorsAtBuildTime) {
  Graph g;
  Output v = kiln::constant(g, Tensor(kiln::float32, Shape{4, 5}));
  EXPECT_THROW(kiln::bias_add(v, kiln::constant(g, Tensor(kiln::float32, Shape{4}))), InvalidArgumentError);
  EXPECT_THROW(kiln::bias_add(v, kiln::constant(g, Tensor(kiln::float32, Shape{1, 5}))), InvalidArgumentError);
  EXPECT_THROW(kiln::bias_add(kiln::constant(g, Tensor(kiln::float32, Shape{5})),
                              kiln::constant(g, Tensor(kiln::float32, Shape{5}))),
               InvalidArgumentError);
}

struct Act {
  const char* name;
  std::function<Output(Output)> build;
  std::function<double(double)> ref;
};

TEST(NnOps, Activations) {
  std::vector<Act> acts = {
      {"Relu", [](Output x) { return kiln::relu(x); }, [](double x) { return x > 0 ? x : 0.0; }},
      {"Sigmoid", [](Output x) { return kiln::sigmoid(x); }, [](double x) { return 1.0 / (1.0 + std::exp(-x)); }},
      {"Tanh", [](Output x) { return kiln::tanh(x); }, [](double x) { return std::tanh(x); }},
  };
  std::mt19937 gen(22);
  for (DType dtype : {kiln::float32, kiln::float64})
    for (const auto& act : acts)
      for (const Shape& shape : {Shape{}, Shape{50}, Shape{6, 7}, Shape{0, 4}}) {
        SCOPED_TRACE(std::string(act.name) + " " + dname(dtype) + " " + shape.to_string());
        std::vector<double> v;
        Tensor t = random_tensor(gen, dtype, shape, &v, -6, 6);
        Graph g;
        Output y = act.build(kiln::constant(g, t));
        EXPECT_EQ(y.node->op(), act.name);
        std::vector<double> expected;
        for (double e : v) expected.push_back(act.ref(e));
        EXPECT_TRUE(AllClose(run_cpu(g, y), dtype, shape, expected, act_tol(dtype)));
      }
}

TEST(NnOps, ActivationsSaturateWithoutNan) {
  for (DType dtype : {kiln::float32, kiln::float64}) {
    SCOPED_TRACE(dname(dtype));
    std::vector<double> v = {-1000, -100, -30, -1e-8, 0, 1e-8, 30, 100, 1000};
    Tensor tx = make_tensor(dtype, Shape{9}, v);
    v = to_doubles(tx);  // the values as stored in dtype
    Graph g;
    Output x = kiln::constant(g, tx);
    Session s(g, cpu_only());
    auto out = s.run({kiln::sigmoid(x), kiln::tanh(x), kiln::relu(x)});
    std::vector<double> sg, th, re;
    for (double e : v) {
      sg.push_back(1.0 / (1.0 + std::exp(-e)));
      th.push_back(std::tanh(e));
      re.push_back(std::max(e, 0.0));
    }
    Tol tol = dtype == kiln::float32 ? Tol{2e-6, 1e-30} : Tol{1e-13, 1e-300};
    EXPECT_TRUE(AllClose(out[0], dtype, Shape{9}, sg, {tol.rtol, dtype == kiln::float32 ? 1e-38 : 1e-300}));
    EXPECT_TRUE(AllClose(out[1], dtype, Shape{9}, th, tol));
    EXPECT_TRUE(AllClose(out[2], dtype, Shape{9}, re, {}));
  }
}

std::vector<double> ref_softmax(const std::vector<double>& x, int64_t rows, int64_t cols) {
  std::vector<double> y(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t c = 0; c < cols; ++c) mx = std::max(mx, x[r * cols + c]);
    double sum = 0;
    for (int64_t c = 0; c < cols; ++c) sum += std::exp(x[r * cols + c] - mx);
    for (int64_t c = 0; c < cols; ++c) y[r * cols + c] = std::exp(x[r * cols + c] - mx) / sum;
  }
  return y;
}

TEST(NnOps, SoftmaxLastAxis) {
  std::mt19937 gen(23);
  for (DType dtype : {kiln::float32, kiln::float64})
    for (const Shape& shape : {Shape{10}, Shape{4, 7}, Shape{2, 3, 5}, Shape{3, 1}, Shape{1, 300}, Shape{0, 4}}) {
      SCOPED_TRACE(std::string(dname(dtype)) + " " + shape.to_string());
      std::vector<double> v;
      Tensor t = random_tensor(gen, dtype, shape, &v, -5, 5);
      Graph g;
      Output y = kiln::softmax(kiln::constant(g, t));
      EXPECT_EQ(y.node->op(), "Softmax");
      EXPECT_EQ(y.shape(), shape);
      int64_t cols = shape.dims().back();
      int64_t rows = cols ? num_elements(shape) / cols : 0;
      EXPECT_TRUE(AllClose(run_cpu(g, y), dtype, shape, ref_softmax(v, rows, cols), act_tol(dtype)));
    }
}

TEST(NnOps, SoftmaxIsStableForLargeLogits) {
  for (DType dtype : {kiln::float32, kiln::float64}) {
    SCOPED_TRACE(dname(dtype));
    std::vector<double> v = {1000, 1001, 1002, -1000, -1001, -1002};
    Graph g;
    Output y = kiln::softmax(kiln::constant(g, make_tensor(dtype, Shape{2, 3}, v)));
    EXPECT_TRUE(AllClose(run_cpu(g, y), dtype, Shape{2, 3}, ref_softmax(v, 2, 3), act_tol(dtype)));
  }
}

TEST(NnOps, SoftmaxRejectsScalar) {
  Graph g;
  EXPECT_THROW(kiln::softmax(kiln::constant(g, 1.0f)), InvalidArgumentError);
}

// Reference loss and backprop of sparse softmax cross entropy.
void ref_xent(const std::vector<double>& logits, const std::vector<int64_t>& labels, int64_t batch,
              int64_t classes, std::vector<double>* loss, std::vector<double>* backprop) {
  loss->assign(batch, 0);
  *backprop = ref_softmax(logits, batch, classes);
  for (int64_t b = 0; b < batch; ++b) {
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t c = 0; c < classes; ++c) mx = std::max(mx, logits[b * classes + c]);
    double sum = 0;
    for (int64_t c = 0; c < classes; ++c) sum += std::exp(logits[b * classes + c] - mx);
    (*loss)[b] = std::log(sum) + mx - logits[b * classes + labels[b]];
    (*backprop)[b * classes + labels[b]] -= 1.0;
  }
}

void check_xent(DType dtype, DType label_dtype, int64_t batch, int64_t classes, std::mt19937& gen,
                double scale = 4) {
  SCOPED_TRACE(std::string(dname(dtype)) + " labels " + dname(label_dtype) + " batch " +
               std::to_string(batch) + " classes " + std::to_string(classes));
  std::vector<double> lg;
  Tensor logits = random_tensor(gen, dtype, Shape{batch, classes}, &lg, -scale, scale);
  std::vector<int64_t> labels(batch);
  std::vector<double> labels_d(batch);
  for (int64_t b = 0; b < batch; ++b) {
    labels[b] = std::uniform_int_distribution<int64_t>(0, classes - 1)(gen);
    labels_d[b] = static_cast<double>(labels[b]);
  }
  Graph g;
  Output lab = kiln::constant(g, make_tensor(label_dtype, Shape{batch}, labels_d));
  Output loss = kiln::sparse_softmax_cross_entropy_with_logits(lab, kiln::constant(g, logits));
  Output backprop = loss.node->output(1);
  EXPECT_EQ(loss.node->op(), "SparseSoftmaxCrossEntropyWithLogits");
  EXPECT_EQ(loss.shape(), (Shape{batch}));
  EXPECT_EQ(backprop.shape(), (Shape{batch, classes}));
  std::vector<double> el, eb;
  ref_xent(lg, labels, batch, classes, &el, &eb);
  Session s(g, cpu_only());
  auto out = s.run({loss, backprop});
  Tol tol = dtype == kiln::float32 ? Tol{1e-5, 1e-6} : Tol{1e-12, 1e-13};
  EXPECT_TRUE(AllClose(out[0], dtype, Shape{batch}, el, tol));
  EXPECT_TRUE(AllClose(out[1], dtype, Shape{batch, classes}, eb, tol));
}

TEST(NnOps, SparseSoftmaxCrossEntropy) {
  std::mt19937 gen(24);
  for (DType dtype : {kiln::float32, kiln::float64})
    for (DType label_dtype : {kiln::int32, kiln::int64}) {
      check_xent(dtype, label_dtype, 8, 10, gen);
      check_xent(dtype, label_dtype, 1, 1, gen);
      check_xent(dtype, label_dtype, 3, 1000, gen);
      check_xent(dtype, label_dtype, 5, 4, gen, 500);  // large logits: log-sum-exp must be stable
    }
}

TEST(NnOps, SparseSoftmaxCrossEntropyEmptyBatch) {
  Graph g;
  Output lab = kiln::constant(g, Tensor(kiln::int32, Shape{0}));
  Output loss = kiln::sparse_softmax_cross_entropy_with_logits(lab, kiln::constant(g, Tensor(kiln::float32, Shape{0, 5})));
  Session s(g, cpu_only());
  auto out = s.run({loss, loss.node->output(1)});
  EXPECT_TRUE(AllClose(out[0], kiln::float32, Shape{0}, {}, {}));
  EXPECT_TRUE(AllClose(out[1], kiln::float32, Shape{0, 5}, {}, {}));
}

TEST(NnOps, SparseSoftmaxCrossEntropyBadLabelIsInvalidArgumentOnCpu) {
  for (DType label_dtype : {kiln::int32, kiln::int64})
    for (double bad : {5.0, -1.0, 100.0}) {
      SCOPED_TRACE(std::string(dname(label_dtype)) + " label " + std::to_string(bad));
      Graph g;
      Output lab = kiln::constant(g, make_tensor(label_dtype, Shape{3}, {0, bad, 2}));
      Output logits = kiln::constant(g, make_tensor(kiln::float32, Shape{3, 5}, std::vector<double>(15, 0.5)));
      Output loss = kiln::sparse_softmax_cross_entropy_with_logits(lab, logits);
      EXPECT_TRUE(ThrowsWith<InvalidArgumentError>([&] { run_cpu(g, loss); }, {}));
    }
}

TEST(NnOps, SparseSoftmaxCrossEntropyBuildTimeChecks) {
  Graph g;
  Output logits = kiln::constant(g, Tensor(kiln::float32, Shape{3, 5}));
  EXPECT_THROW(kiln::sparse_softmax_cross_entropy_with_logits(kiln::constant(g, Tensor(kiln::int32, Shape{4})), logits),
               InvalidArgumentError);
  EXPECT_THROW(kiln::sparse_softmax_cross_entropy_with_logits(kiln::constant(g, Tensor(kiln::float32, Shape{3})), logits),
               InvalidArgumentError);
  EXPECT_THROW(kiln::sparse_softmax_cross_entropy_with_logits(kiln::constant(g, Tensor(kiln::int32, Shape{3, 1})), logits),
               InvalidArgumentError);
}

TEST(NnOps, RejectIntegerInputs) {
  Graph g;
  Output x = kiln::constant(g, {1, 2}, Shape{1, 2});
  EXPECT_THROW(kiln::softmax(x), InvalidArgumentError);
}

TEST(NnOps, SoftmaxWithNegativeInfinityLogits) {
  const double ninf = -std::numeric_limits<double>::infinity();
  Graph g;
  Output y = kiln::softmax(kiln::constant(g, make_tensor(kiln::float32, Shape{2, 3}, {0, ninf, 0, ninf, 1, ninf})));
  EXPECT_TRUE(AllClose(run_cpu(g, y), kiln::float32, Shape{2, 3}, {0.5, 0, 0.5, 0, 1, 0}, {1e-6, 0}));
}

}  // namespace
}  // namespace kiln_test

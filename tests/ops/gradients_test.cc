// Gradients (ops/gradients.h) against central finite differences in float64, for every
// differentiable op, each case built twice: with fully known placeholder shapes (constant-shape
// gradients) and with unknown dimensions (Shape / BroadcastGradientArgs / BroadcastTo at run
// time). The checked quantity is L = sum(w * f(xs)) with random weights w, so every output
// element's gradient is exercised; the numeric derivative perturbs one input element at a time.
#include "op_test_util.h"

#include "ops/gradients.h"

namespace kiln_test {
namespace {

using kiln::Output;
using Build = std::function<Output(Graph&, const std::vector<Output>&)>;

struct Input {
  Shape shape;
  double lo = -2, hi = 2, min_abs = 0;
};

struct Check {
  double eps = 1e-6;
  Tol tol{1e-6, 1e-8};
};

void check_gradients(const std::vector<Input>& inputs, const Build& build, bool dynamic_shapes,
                     Check check = {}, uint32_t seed = 1) {
  SCOPED_TRACE(dynamic_shapes ? "unknown dimensions" : "known shapes");
  std::mt19937 gen(seed);
  Graph g;
  std::vector<Output> xs;
  kiln::FeedList feeds;
  std::vector<std::vector<double>> values;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Shape& s = inputs[i].shape;
    Shape declared = dynamic_shapes ? Shape::unknown_dims(s.rank()) : s;
    xs.push_back(kiln::placeholder(g, DType::kDouble, declared, "x" + std::to_string(i)));
    std::vector<double> v;
    Tensor t = random_tensor(gen, DType::kDouble, s, &v, inputs[i].lo, inputs[i].hi, inputs[i].min_abs);
    feeds.push_back({xs.back(), t});
    values.push_back(v);
  }
  Output y = build(g, xs);
  Output w = kiln::placeholder(g, DType::kDouble, y.shape(), "w");
  Output loss = kiln::reduce_sum(kiln::multiply(y, w), {}, false, "loss");
  std::vector<Output> grads = kiln::gradients(g, {loss}, xs);
  ASSERT_EQ(grads.size(), xs.size());

  Session sess(g, cpu_only());
  Tensor y_value = sess.run(y, feeds).to_host();
  Tensor w_value = random_tensor(gen, DType::kDouble, y_value.shape());
  feeds.push_back({w, w_value});
  std::vector<Tensor> analytic = sess.run(grads, feeds);

  auto loss_at = [&](size_t input, int64_t element, double delta) {
    kiln::FeedList f = feeds;
    Tensor t = make_tensor(DType::kDouble, inputs[input].shape, values[input]);
    t.data<double>()[element] += delta;
    f[input].second = t;
    return sess.run(loss, f).to_host().data<double>()[0];
  };
  for (size_t i = 0; i < xs.size(); ++i) {
    SCOPED_TRACE("input " + std::to_string(i) + " " + inputs[i].shape.to_string());
    ASSERT_TRUE(grads[i].valid());
    std::vector<double> numeric(values[i].size());
    for (size_t e = 0; e < values[i].size(); ++e)
      numeric[e] = (loss_at(i, e, check.eps) - loss_at(i, e, -check.eps)) / (2 * check.eps);
    EXPECT_TRUE(AllClose(analytic[i], DType::kDouble, inputs[i].shape, numeric, check.tol));
  }
}

void check_both(const std::vector<Input>& inputs, const Build& build, Check check = {}) {
  check_gradients(inputs, build, false, check);
  check_gradients(inputs, build, true, check);
}

Build binary(Output (*op)(Output, Output, const std::string&)) {
  return [op](Graph&, const std::vector<Output>& x) { return op(x[0], x[1], "op"); };
}

const std::vector<std::pair<Shape, Shape>> kBroadcastPairs = {
    {Shape{2, 3}, Shape{2, 3}}, {Shape{2, 3, 4}, Shape{3, 1}}, {Shape{4}, Shape{2, 3, 4}},
    {Shape{}, Shape{2, 3}},     {Shape{2, 1}, Shape{1, 3}},
};

void check_broadcasting(Output (*op)(Output, Output, const std::string&), double y_min_abs = 0) {
  for (const auto& [a, b] : kBroadcastPairs) {
    SCOPED_TRACE(a.to_string() + " with " + b.to_string());
    check_both({{a}, {b, -2, 2, y_min_abs}}, binary(op));
  }
}

TEST(Gradients, Add) { check_broadcasting(kiln::add); }
TEST(Gradients, AddV2) { check_broadcasting(kiln::add_v2); }
TEST(Gradients, Sub) { check_broadcasting(kiln::subtract); }
TEST(Gradients, Mul) { check_broadcasting(kiln::multiply); }
TEST(Gradients, RealDiv) { check_broadcasting(kiln::divide, 0.5); }
TEST(Gradients, Maximum) { check_broadcasting(kiln::maximum); }

TEST(Gradients, MatMulAllTransposes) {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      SCOPED_TRACE(std::string("transpose_a=") + (ta ? "1" : "0") + " transpose_b=" + (tb ? "1" : "0"));
      Shape a = ta ? Shape{4, 3} : Shape{3, 4};
      Shape b = tb ? Shape{5, 4} : Shape{4, 5};
      check_both({{a}, {b}}, [ta, tb](Graph&, const std::vector<Output>& x) {
        return kiln::matmul(x[0], x[1], ta, tb);
      });
    }
}

TEST(Gradients, SumAndMean) {
  const std::vector<std::vector<int64_t>> axes_cases = {{0}, {1}, {-1}, {0, 2}, {}};
  for (bool mean : {false, true})
    for (const auto& axes : axes_cases)
      for (bool keep : {false, true}) {
        SCOPED_TRACE(std::string(mean ? "Mean" : "Sum") + " axes " + Shape(axes).to_string() +
                     " keep_dims " + (keep ? "1" : "0"));
        check_both({{Shape{2, 3, 4}}}, [=](Graph&, const std::vector<Output>& x) {
          return mean ? kiln::reduce_mean(x[0], axes, keep) : kiln::reduce_sum(x[0], axes, keep);
        });
      }
}

TEST(Gradients, Reshape) {
  check_both({{Shape{2, 3, 4}}}, [](Graph&, const std::vector<Output>& x) {
    return kiln::reshape(x[0], std::vector<int64_t>{6, -1});
  });
}

TEST(Gradients, BiasAdd) {
  check_both({{Shape{5, 3}}, {Shape{3}}}, [](Graph&, const std::vector<Output>& x) {
    return kiln::bias_add(x[0], x[1]);
  });
  check_both({{Shape{2, 3, 4}}, {Shape{4}}}, [](Graph&, const std::vector<Output>& x) {
    return kiln::bias_add(x[0], x[1]);
  });
}

using Unary = Output (*)(Output, const std::string&);

void check_unary(Unary op, const char* name, Input in) {
  SCOPED_TRACE(name);
  check_both({in}, [op](Graph&, const std::vector<Output>& x) { return op(x[0], "op"); });
}

TEST(Gradients, Activations) {
  check_unary(kiln::relu, "Relu", {Shape{3, 4}, -2, 2, 0.1});  // kept off the kink at 0
  check_unary(kiln::sigmoid, "Sigmoid", {Shape{3, 4}, -4, 4});
  check_unary(kiln::tanh, "Tanh", {Shape{3, 4}, -3, 3});
  check_unary(kiln::softmax, "Softmax", {Shape{3, 5}, -3, 3});
}

TEST(Gradients, ElementwiseMath) {
  check_unary(kiln::square, "Square", {Shape{2, 3}});
  check_unary(kiln::sqrt, "Sqrt", {Shape{2, 3}, 0.5, 3});
  check_unary(kiln::exp, "Exp", {Shape{2, 3}});
  check_unary(kiln::log, "Log", {Shape{2, 3}, 0.5, 3});
  check_unary(kiln::negative, "Neg", {Shape{2, 3}});
  check_unary(kiln::identity, "Identity", {Shape{2, 3}});
}

TEST(Gradients, SparseSoftmaxCrossEntropyWithLogits) {
  check_both({{Shape{4, 5}, -3, 3}}, [](Graph& g, const std::vector<Output>& x) {
    Output labels = kiln::constant(g, Tensor::of<int32_t>({0, 4, 2, 2}, {4}));
    return kiln::sparse_softmax_cross_entropy_with_logits(labels, x[0]);
  });
}

TEST(Gradients, Cast) {
  // Through float32 and back: float32 rounding limits the finite difference's accuracy.
  check_both({{Shape{2, 3}}}, [](Graph&, const std::vector<Output>& x) {
    return kiln::cast(kiln::multiply(kiln::cast(x[0], DType::kFloat), kiln::cast(x[0], DType::kFloat)),
                      DType::kDouble);
  }, Check{1e-3, {2e-3, 1e-5}});
}

TEST(Gradients, AddNAndSeveralConsumers) {
  check_both({{Shape{2, 3}}, {Shape{2, 3}}}, [](Graph&, const std::vector<Output>& x) {
    return kiln::add_n({x[0], kiln::multiply(x[0], x[1]), x[1], x[0]});
  });
}

TEST(Gradients, TwoLayerNetwork) {
  check_both({{Shape{6, 3}}, {Shape{3, 4}}, {Shape{4}}, {Shape{4, 3}}},
             [](Graph& g, const std::vector<Output>& x) {
               Output h = kiln::tanh(kiln::bias_add(kiln::matmul(x[0], x[1]), x[2]));
               Output logits = kiln::matmul(h, x[3]);
               Output labels = kiln::constant(g, Tensor::of<int32_t>({0, 1, 2, 2, 1, 0}, {6}));
               return kiln::reduce_mean(kiln::sparse_softmax_cross_entropy_with_logits(labels, logits));
             });
}

TEST(Gradients, VariableThroughItsReadValue) {
  Graph g;
  kiln::Variable w(g, kiln::constant(g, Tensor::of<double>({1, 2, 3, 4, 5, 6}, {3, 2})), "w");
  Output x = kiln::constant(g, Tensor::of<double>({1, -1, 2, 0.5, 0, 3}, {2, 3}));
  Output loss = kiln::reduce_sum(kiln::matmul(x, w));
  std::vector<Output> dw = kiln::gradients(g, {loss}, {w.value()});
  ASSERT_TRUE(dw[0].valid());
  Session s(g, cpu_only());
  s.run(kiln::global_variables_initializer(g));
  // d sum(x w) / d w[i, j] = sum over rows of x[:, i].
  EXPECT_TRUE(AllClose(s.run(dw[0]), DType::kDouble, Shape{3, 2}, {1.5, 1.5, -1, -1, 5, 5}, {1e-15, 0}));
}

TEST(Gradients, UnconnectedInputGetsNone) {
  Graph g;
  Output a = kiln::placeholder(g, DType::kDouble, Shape{2}, "a");
  Output b = kiln::placeholder(g, DType::kDouble, Shape{2}, "b");
  Output loss = kiln::reduce_sum(kiln::square(a));
  std::vector<Output> grads = kiln::gradients(g, {loss}, {a, b});
  EXPECT_TRUE(grads[0].valid());
  EXPECT_FALSE(grads[1].valid());
}

TEST(Gradients, NodeNamesFollowTensorFlow) {
  Graph g;
  Output a = kiln::placeholder(g, DType::kFloat, Shape{2, 3}, "a");
  Output b = kiln::placeholder(g, DType::kFloat, Shape{3, 4}, "b");
  Output c = kiln::matmul(a, b);
  Output loss = kiln::reduce_sum(kiln::add(c, c));
  std::vector<Output> grads = kiln::gradients(g, {loss}, {a, b});
  EXPECT_EQ(grads[0].name(), "gradients/MatMul_grad/MatMul:0");
  EXPECT_EQ(grads[1].name(), "gradients/MatMul_grad/MatMul_1:0");
  EXPECT_NE(g.find_node("gradients/Fill"), nullptr);
  EXPECT_NE(g.find_node("gradients/AddN"), nullptr) << "the two uses of c are summed by AddN";
  EXPECT_EQ(g.find_node("gradients/AddN")->op(), "AddN");
  // A second call gets its own scope, as in TF.
  std::vector<Output> again = kiln::gradients(g, {loss}, {a});
  EXPECT_EQ(again[0].name(), "gradients_1/MatMul_grad/MatMul:0");
}

TEST(Gradients, GradYsSeedTheBackwardPass) {
  Graph g;
  Output x = kiln::placeholder(g, DType::kDouble, Shape{3}, "x");
  Output y = kiln::multiply(x, x);
  Output seed = kiln::constant(g, Tensor::of<double>({1, 10, 100}, {3}));
  std::vector<Output> dx = kiln::gradients(g, {y}, {x}, {seed});
  Tensor xv = Tensor::of<double>({1, 2, 3}, {3});
  EXPECT_TRUE(AllClose(run_cpu(g, dx[0], {{x, xv}}), DType::kDouble, Shape{3}, {2, 40, 600}, {1e-15, 0}));
}

TEST(Gradients, MissingGradientIsNotFound) {
  Graph g;
  Output x = kiln::placeholder(g, DType::kFloat, Shape{2, 3}, "x");
  Output m = kiln::reduce_max(x, {1}, false, "m");
  EXPECT_TRUE(ThrowsWith<kiln::NotFoundError>([&] { kiln::gradients(g, {m}, {x}); },
                                              {"No gradient defined for operation 'm'", "op type: Max"}));
}

TEST(Gradients, IntegerPathsCarryNoGradient) {
  Graph g;
  Output x = kiln::placeholder(g, DType::kDouble, Shape{2}, "x");
  Output y = kiln::cast(kiln::cast(x, DType::kInt32), DType::kDouble);
  std::vector<Output> grads = kiln::gradients(g, {kiln::reduce_sum(y)}, {x});
  EXPECT_FALSE(grads[0].valid());
}

}  // namespace
}  // namespace kiln_test

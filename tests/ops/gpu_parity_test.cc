// CPU vs GPU: every op family built twice in one graph, once under g.device("/gpu:0") and once
// under g.device("/cpu:0"), run in one session and compared with dtype-scaled tolerances
// (float32 ~1e-5 relative, float64 ~1e-12). Random ops with the same seeds must give the same
// uniform bits on both devices and normals within 2 ulp (the measured maximum is printed).
// Every test skips without a GPU.
#include "op_test_util.h"

#include <iostream>

namespace kiln_test {
namespace {

#define SKIP_WITHOUT_GPU() \
  if (kiln::gpu::device_count() == 0) GTEST_SKIP() << "no GPU"

Tol parity_tol(DType dtype, double scale = 1) {
  switch (dtype) {
    case DType::kFloat: return {1e-5, 1e-6 * scale};
    case DType::kDouble: return {1e-12, 1e-13 * scale};
    case DType::kHalf: return {1e-3, 1e-4 * scale};
    case DType::kBFloat16: return {8e-3, 1e-3 * scale};
    default: return {0, 0};
  }
}

// Builds `build` under /gpu:0 and /cpu:0 in one graph, runs both in one session, and checks that
// the GPU copy really ran on the GPU and that the outputs agree.
void compare_devices(const std::function<std::vector<Output>(Graph&)>& build, Tol tol,
                     const kiln::FeedList& feeds = {}, bool exact = false) {
  Graph g;
  std::vector<Output> on_gpu, on_cpu;
  {
    auto d = g.device("/gpu:0");
    on_gpu = build(g);
  }
  {
    auto d = g.device("/cpu:0");
    on_cpu = build(g);
  }
  ASSERT_EQ(on_gpu.size(), on_cpu.size());
  Session s(g);
  std::vector<Output> fetches = on_gpu;
  fetches.insert(fetches.end(), on_cpu.begin(), on_cpu.end());
  std::vector<Tensor> out = s.run(fetches, feeds);
  for (size_t i = 0; i < on_gpu.size(); ++i) {
    SCOPED_TRACE("output " + std::to_string(i) + " (" + on_gpu[i].node->op() + " '" + on_gpu[i].name() + "')");
    EXPECT_TRUE(s.device_for(on_gpu[i].node).is_gpu()) << "the /gpu:0 copy was placed on the CPU";
    EXPECT_FALSE(s.device_for(on_cpu[i].node).is_gpu());
    const Tensor& gv = out[i];
    const Tensor& cv = out[i + on_gpu.size()];
    if (exact) {
      EXPECT_TRUE(BitEqual(gv, cv));
    } else {
      EXPECT_TRUE(AllClose(gv, cv.dtype(), cv.shape(), to_doubles(cv), tol));
    }
  }
}

TEST(GpuParity, BinaryOpsBroadcast) {
  SKIP_WITHOUT_GPU();
  std::mt19937 gen(51);
  std::vector<std::pair<Shape, Shape>> pairs = {{Shape{33, 65}, Shape{33, 65}}, {Shape{2, 3}, Shape{3}},
                                                {Shape{2, 1}, Shape{1, 3}},     {Shape{4, 1, 3}, Shape{2, 1}},
                                                {Shape{}, Shape{5, 7}},         {Shape{5, 7}, Shape{}},
                                                {Shape{0, 3}, Shape{3}},        {Shape{}, Shape{}},
                                                {Shape{1000, 1}, Shape{1, 300}}};
  for (DType dtype : {kiln::float32, kiln::float64, kiln::int32, kiln::int64})
    for (const auto& [sa, sb] : pairs) {
      SCOPED_TRACE(std::string(dname(dtype)) + " " + sa.to_string() + " x " + sb.to_string());
      bool integer = dtype == kiln::int32 || dtype == kiln::int64;
      Tensor a = random_tensor(gen, dtype, sa, nullptr, integer ? -100 : -2, integer ? 100 : 2);
      Tensor b = random_tensor(gen, dtype, sb, nullptr, integer ? -100 : -2, integer ? 100 : 2, integer ? 1 : 0.25);
      compare_devices(
          [&](Graph& g) {
            Output x = kiln::constant(g, a), y = kiln::constant(g, b);
            return std::vector<Output>{kiln::add(x, y), kiln::add_v2(x, y), kiln::subtract(x, y),
                                       kiln::multiply(x, y), kiln::divide(x, y), kiln::maximum(x, y)};
          },
          parity_tol(dtype), {}, integer);
    }
}

TEST(GpuParity, UnaryOps) {
  SKIP_WITHOUT_GPU();
  std::mt19937 gen(52);
  for (DType dtype : {kiln::float32, kiln::float64})
    for (const Shape& shape : {Shape{}, Shape{1000, 37}, Shape{0, 4}}) {
      SCOPED_TRACE(std::string(dname(dtype)) + " " + shape.to_string());
      Tensor any = random_tensor(gen, dtype, shape, nullptr, -6, 6);
      Tensor pos = random_tensor(gen, dtype, shape, nullptr, 1e-3, 50);
      compare_devices(
          [&](Graph& g) {
            Output x = kiln::constant(g, any), p = kiln::constant(g, pos);
            return std::vector<Output>{kiln::negative(x), kiln::square(x), kiln::sqrt(p), kiln::exp(x),
                                       kiln::log(p), kiln::relu(x), kiln::sigmoid(x), kiln::tanh(x)};
          },
          parity_tol(dtype));
    }
  for (DType dtype : {kiln::int32, kiln::int64}) {
    SCOPED_TRACE(dname(dtype));
    Tensor t = random_tensor(gen, dtype, Shape{333}, nullptr, -1000, 1000);
    compare_devices(
        [&](Graph& g) {
          Output x = kiln::constant(g, t);
          return std::vector<Output>{kiln::negative(x), kiln::square(x)};
        },
        {}, {}, true);
  }
}

TEST(GpuParity, MatMul) {
  SKIP_WITHOUT_GPU();
  std::mt19937 gen(53);
  struct C { int64_t m, k, n; };
  for (DType dtype : {kiln::float32, kiln::float64})
    for (const C& c : {C{3, 4, 5}, C{128, 256, 64}, C{37, 53, 29}, C{1, 1000, 1}, C{5, 0, 6}, C{0, 4, 3}})
      for (bool ta : {false, true})
        for (bool tb : {false, true}) {
          SCOPED_TRACE(std::string(dname(dtype)) + " m=" + std::to_string(c.m) + " k=" + std::to_string(c.k) +
                       " n=" + std::to_string(c.n) + " ta=" + std::to_string(ta) + " tb=" + std::to_string(tb));
          Tensor a = random_tensor(gen, dtype, ta ? Shape{c.k, c.m} : Shape{c.m, c.k}, nullptr, -1, 1);
          Tensor b = random_tensor(gen, dtype, tb ? Shape{c.n, c.k} : Shape{c.k, c.n}, nullptr, -1, 1);
          // Accumulation order differs between cuBLAS and the CPU: scale atol with sqrt(k).
          compare_devices(
              [&](Graph& g) {
                return std::vector<Output>{kiln::matmul(kiln::constant(g, a), kiln::constant(g, b), ta, tb)};
              },
              parity_tol(dtype, 10 * std::sqrt(static_cast<double>(std::max<int64_t>(c.k, 1)))));
        }
}

TEST(GpuParity, Reductions) {
  SKIP_WITHOUT_GPU();
  std::mt19937 gen(54);
  std::vector<std::pair<Shape, std::vector<std::vector<int64_t>>>> cases = {
      {Shape{100000}, {{}, {0}}},
      {Shape{300, 500}, {{0}, {1}, {-1}, {}}},
      {Shape{7, 40, 9}, {{0, 2}, {1}, {-3, -1}, {0, 1}, {1, 2}}},
      {Shape{3, 4, 5, 6}, {{0, 2}, {1, 3}, {0, 1, 3}}},
      {Shape{0, 3}, {{0}, {1}}},
  };
  for (DType dtype : {kiln::float32, kiln::float64, kiln::int32, kiln::int64})
    for (const auto& [shape, axes_list] : cases)
      for (const auto& axes : axes_list)
        for (bool keep : {false, true}) {
          SCOPED_TRACE(std::string(dname(dtype)) + " " + shape.to_string() + " axes " + std::to_string(axes.size()) +
                       (axes.empty() ? "" : " first " + std::to_string(axes[0])) + (keep ? " keep" : ""));
          bool integer = dtype == kiln::int32 || dtype == kiln::int64;
          Tensor t = random_tensor(gen, dtype, shape, nullptr, integer ? -100 : -1, integer ? 100 : 1);
          double n = static_cast<double>(std::max<int64_t>(num_elements(shape), 1));
          compare_devices(
              [&](Graph& g) {
                Output x = kiln::constant(g, t);
                std::vector<Output> r = {kiln::reduce_sum(x, axes, keep), kiln::reduce_max(x, axes, keep)};
                if (!integer || num_elements(shape) > 0) r.push_back(kiln::reduce_mean(x, axes, keep));
                return r;
              },
              parity_tol(dtype, std::sqrt(n)), {}, integer);
        }
}

TEST(GpuParity, NnOps) {
  SKIP_WITHOUT_GPU();
  std::mt19937 gen(55);
  for (DType dtype : {kiln::float32, kiln::float64})
    for (DType label_dtype : {kiln::int32, kiln::int64})
      for (const auto& [batch, classes] : std::vector<std::pair<int64_t, int64_t>>{{64, 10}, {3, 1000}, {1, 1}, {0, 5}}) {
        SCOPED_TRACE(std::string(dname(dtype)) + " " + dname(label_dtype) + " " + std::to_string(batch) + "x" +
                     std::to_string(classes));
        Tensor logits = random_tensor(gen, dtype, Shape{batch, classes}, nullptr, -8, 8);
        Tensor bias = random_tensor(gen, dtype, Shape{classes}, nullptr);
        std::vector<double> lab(batch);
        for (auto& l : lab) l = static_cast<double>(std::uniform_int_distribution<int64_t>(0, classes - 1)(gen));
        Tensor labels = make_tensor(label_dtype, Shape{batch}, lab);
        compare_devices(
            [&](Graph& g) {
              Output x = kiln::constant(g, logits);
              Output loss = kiln::sparse_softmax_cross_entropy_with_logits(kiln::constant(g, labels), x);
              return std::vector<Output>{kiln::bias_add(x, kiln::constant(g, bias)), kiln::softmax(x), loss,
                                         loss.node->output(1)};
            },
            parity_tol(dtype, 10));
      }
}

TEST(GpuParity, SoftmaxRank3AndLargeLogits) {
  SKIP_WITHOUT_GPU();
  std::mt19937 gen(56);
  for (DType dtype : {kiln::float32, kiln::float64}) {
    SCOPED_TRACE(dname(dtype));
    Tensor t = random_tensor(gen, dtype, Shape{4, 5, 129}, nullptr, 990, 1010);
    compare_devices([&](Graph& g) { return std::vector<Output>{kiln::softmax(kiln::constant(g, t))}; },
                    parity_tol(dtype, 10));
  }
}

TEST(GpuParity, ArrayOpsAndCasts) {
  SKIP_WITHOUT_GPU();
  std::mt19937 gen(57);
  Tensor f = random_tensor(gen, kiln::float32, Shape{50, 40}, nullptr, -70000, 70000);
  Tensor small = random_tensor(gen, kiln::float32, Shape{50, 40}, nullptr, -3, 3);
  Tensor d = random_tensor(gen, kiln::float64, Shape{50, 40}, nullptr, -1000, 1000);
  Tensor i = random_tensor(gen, kiln::int32, Shape{50, 40}, nullptr, -100000, 100000);
  Tensor h = random_tensor(gen, kiln::float16, Shape{50, 40}, nullptr, -100, 100);
  Tensor b = random_tensor(gen, kiln::bfloat16, Shape{50, 40}, nullptr, -100, 100);
  compare_devices(
      [&](Graph& g) {
        Output xf = kiln::constant(g, f), xs = kiln::constant(g, small), xd = kiln::constant(g, d),
               xi = kiln::constant(g, i), xh = kiln::constant(g, h), xb = kiln::constant(g, b);
        return std::vector<Output>{
            kiln::cast(xf, kiln::float16), kiln::cast(xs, kiln::float16), kiln::cast(xf, kiln::bfloat16),
            kiln::cast(xs, kiln::bfloat16), kiln::cast(xf, kiln::int32), kiln::cast(xd, kiln::int64),
            kiln::cast(xi, kiln::float32), kiln::cast(xi, kiln::float64), kiln::cast(xd, kiln::float32),
            kiln::cast(xh, kiln::float32), kiln::cast(xb, kiln::float32), kiln::cast(xh, kiln::bfloat16),
            kiln::identity(xh), kiln::identity(xb), kiln::reshape(xf, {-1, 8}),
            kiln::fill(g, {3, 4}, kiln::constant(g, 2.5)), kiln::fill(g, {0, 4}, kiln::constant(g, int64_t{3})),
            kiln::zeros_like(xd), kiln::ones_like(xi), kiln::ones_like(xh), kiln::zeros(g, Shape{7}, kiln::int64),
            kiln::ones(g, Shape{2, 2}, kiln::float64)};
      },
      {}, {}, /*exact=*/true);
}

TEST(GpuParity, VariablesOnGpu) {
  SKIP_WITHOUT_GPU();
  std::mt19937 gen(58);
  for (DType dtype : {kiln::float32, kiln::float64, kiln::int32, kiln::int64, kiln::float16, kiln::bfloat16}) {
    SCOPED_TRACE(dname(dtype));
    bool arith = dtype != kiln::float16 && dtype != kiln::bfloat16;
    Tensor t0 = random_tensor(gen, dtype, Shape{17, 3}, nullptr, -50, 50);
    Tensor t1 = random_tensor(gen, dtype, Shape{17, 3}, nullptr, -50, 50);
    Graph g;
    std::vector<Output> reads, updates;
    std::vector<kiln::Variable> vars;
    for (const char* dev : {"/gpu:0", "/cpu:0"}) {
      auto d = g.device(dev);
      vars.emplace_back(g, kiln::constant(g, t0), std::string("v_") + (dev[1] == 'g' ? "gpu" : "cpu"));
      if (arith) {
        updates.push_back(vars.back().assign_add(kiln::constant(g, t1)));
        updates.push_back(vars.back().assign_sub(kiln::square(kiln::constant(g, t1))));
      } else {
        updates.push_back(vars.back().assign(kiln::constant(g, t1)));
      }
    }
    auto init = kiln::global_variables_initializer(g);
    Session s(g);
    s.run(init);
    EXPECT_TRUE(s.device_for(vars[0].op().node).is_gpu());
    EXPECT_TRUE(BitEqual(s.run(vars[0].value()), s.run(vars[1].value())));
    size_t per = updates.size() / 2;
    for (int step = 0; step < 3; ++step)
      for (size_t k = 0; k < per; ++k) {
        auto out = s.run({updates[k], updates[k + per]});
        EXPECT_TRUE(BitEqual(out[0], out[1])) << "update " << k << " step " << step;
      }
    EXPECT_TRUE(BitEqual(s.run(vars[0].value()), s.run(vars[1].value())));
  }
}

// Runs the three random ops with the same seeds on both devices (first and second run) and
// returns the GPU and CPU values.
void random_pair(DType dtype, const Shape& shape, std::vector<Tensor>* gpu, std::vector<Tensor>* cpu) {
  Graph g;
  g.set_random_seed(2024);
  std::vector<Output> outs[2];
  int k = 0;
  for (const char* dev : {"/gpu:0", "/cpu:0"}) {
    auto d = g.device(dev);
    kiln::RandomOptions o;
    o.dtype = dtype;
    o.seed = 77;
    kiln::RandomOptions ou = o;
    ou.minval = -2;
    ou.maxval = 3;
    outs[k++] = {kiln::random_uniform(g, shape, o), kiln::random_normal(g, shape, o),
                 kiln::truncated_normal(g, shape, o), kiln::random_uniform(g, shape, ou)};
  }
  Session s(g);
  for (int run = 0; run < 2; ++run) {
    auto a = s.run(outs[0]);
    auto b = s.run(outs[1]);
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_TRUE(s.device_for(outs[0][i].node).is_gpu());
      gpu->push_back(a[i]);
      cpu->push_back(b[i]);
    }
  }
  // Node names of the GPU and CPU copies are different but the seeds must be the same.
  for (size_t i = 0; i < outs[0].size(); ++i) {
    const kiln::Node* rg = outs[0][i].node->inputs()[0].node->inputs()[0].node;
    const kiln::Node* rc = outs[1][i].node->inputs()[0].node->inputs()[0].node;
    EXPECT_EQ(rg->attr<int64_t>("seed"), rc->attr<int64_t>("seed"));
    EXPECT_EQ(rg->attr<int64_t>("seed2"), rc->attr<int64_t>("seed2"));
  }
}

template <typename T>
int64_t max_ulp(const Tensor& a, const Tensor& b) {
  auto va = a.to_vector<T>(), vb = b.to_vector<T>();
  int64_t m = 0;
  for (size_t i = 0; i < va.size(); ++i) m = std::max(m, ulp_distance(va[i], vb[i]));
  return m;
}

TEST(GpuParity, RandomOpsSameSeedsSameNumbers) {
  SKIP_WITHOUT_GPU();
  const char* names[] = {"uniform", "normal", "truncated_normal", "uniform[-2,3)"};
  for (DType dtype : {kiln::float32, kiln::float64})
    for (const Shape& shape : {Shape{1}, Shape{3, 5}, Shape{1000, 1001}, Shape{7}}) {
      SCOPED_TRACE(std::string(dname(dtype)) + " " + shape.to_string());
      std::vector<Tensor> gpu, cpu;
      random_pair(dtype, shape, &gpu, &cpu);
      ASSERT_EQ(gpu.size(), 8u);
      for (size_t i = 0; i < gpu.size(); ++i) {
        const char* what = names[i % 4];
        int run = static_cast<int>(i / 4);
        int64_t ulp = dtype == kiln::float32 ? max_ulp<float>(gpu[i], cpu[i]) : max_ulp<double>(gpu[i], cpu[i]);
        std::cout << "[ parity ] " << dname(dtype) << " " << shape.to_string() << " " << what << " run " << run
                  << ": max ulp GPU vs CPU = " << ulp << "\n";
        ::testing::Test::RecordProperty(std::string(dname(dtype)) + "_" + what + "_run" + std::to_string(run) +
                                            "_" + std::to_string(num_elements(shape)),
                                        std::to_string(ulp));
        if (i % 4 == 0) EXPECT_EQ(ulp, 0) << what << " run " << run << " must be bit-identical";
        else EXPECT_LE(ulp, 2) << what << " run " << run;
      }
      // The second run differs from the first on both devices.
      EXPECT_FALSE(BitEqual(gpu[0], gpu[4]));
    }
}

TEST(GpuParity, DefaultPlacementIsGpuAndMatchesCpuSession) {
  SKIP_WITHOUT_GPU();
  std::mt19937 gen(59);
  Tensor x = random_tensor(gen, kiln::float32, Shape{64, 32}, nullptr);
  Tensor w = random_tensor(gen, kiln::float32, Shape{32, 10}, nullptr);
  Tensor b = random_tensor(gen, kiln::float32, Shape{10}, nullptr);
  Graph g;
  Output logits = kiln::bias_add(kiln::matmul(kiln::constant(g, x), kiln::constant(g, w)), kiln::constant(g, b));
  Output y = kiln::reduce_mean(kiln::softmax(kiln::tanh(logits)), {0});
  Session gpu(g), cpu(g, cpu_only());
  Tensor gy = gpu.run(y);
  EXPECT_TRUE(gpu.device_for(y.node).is_gpu()) << "a session with a GPU places unpinned ops on /gpu:0";
  EXPECT_TRUE(gy.device().is_gpu()) << "fetched tensors stay on the producing device";
  Tensor cy = cpu.run(y);
  EXPECT_TRUE(AllClose(gy, kiln::float32, cy.shape(), to_doubles(cy), parity_tol(kiln::float32, 10)));
}

TEST(GpuParity, FeedsIntoGpuOps) {
  SKIP_WITHOUT_GPU();
  Graph g;
  Output p;
  Output y;
  {
    auto d = g.device("/gpu:0");
    p = kiln::placeholder(g, kiln::float64, Shape{-1, 2}, "x");
    y = kiln::square(p);
  }
  Session s(g);
  Tensor t = Tensor::of<double>({1, 2, 3, 4}, Shape{2, 2});
  EXPECT_TRUE(AllClose(s.run(y, {{p, t}}), kiln::float64, Shape{2, 2}, {1, 4, 9, 16}, {}));
  EXPECT_TRUE(ThrowsWith<kiln::InvalidArgumentError>([&] { s.run(y); },
                                                      {"You must feed a value for placeholder tensor", "x"}));
}

TEST(GpuParity, SparseXentBadLabelOnGpuGivesNanRow) {
  SKIP_WITHOUT_GPU();
  // TF's GPU kernel does not check labels; it writes NaN for the bad row (documented in
  // kernels/primitives.h). The good rows must still be right.
  Graph g;
  Output loss;
  {
    auto d = g.device("/gpu:0");
    Output lab = kiln::constant(g, Tensor::of<int32_t>({0, 7, 2}, Shape{3}));
    Output logits = kiln::constant(g, make_tensor(kiln::float32, Shape{3, 4}, std::vector<double>(12, 0.0)));
    loss = kiln::sparse_softmax_cross_entropy_with_logits(lab, logits);
  }
  Session s(g);
  std::vector<double> v = to_doubles(s.run(loss));
  ASSERT_EQ(v.size(), 3u);
  EXPECT_NEAR(v[0], std::log(4.0), 1e-6);
  EXPECT_TRUE(std::isnan(v[1])) << v[1];
  EXPECT_NEAR(v[2], std::log(4.0), 1e-6);
}

TEST(GpuParity, IntegerDivisionByZeroOnGpuDoesNotCrash) {
  SKIP_WITHOUT_GPU();
  Graph g;
  Output y;
  {
    auto d = g.device("/gpu:0");
    y = kiln::divide(kiln::constant(g, Tensor::of<int32_t>({7, 8}, Shape{2})),
                     kiln::constant(g, Tensor::of<int32_t>({1, 0}, Shape{2})));
  }
  Session s(g);
  try {
    std::vector<int32_t> v = s.run(y).to_vector<int32_t>();
    EXPECT_EQ(v[0], 7);
  } catch (const kiln::InvalidArgumentError&) {
  }
  // The session (and the device) stay usable.
  Output z;
  {
    auto d = g.device("/gpu:0");
    z = kiln::add(kiln::constant(g, 1.0f), kiln::constant(g, 2.0f));
  }
  EXPECT_EQ(s.run(z).item<float>(), 3.0f);
}

}  // namespace
}  // namespace kiln_test

#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include <kiln/kiln.h>

namespace kiln {
namespace {

// Fill with a dims tensor fed at run time (the builder takes constant dims).
Output fill_op_for_test(Graph& g, Output dims) {
  Graph::NodeSpec spec;
  spec.op = "Fill";
  spec.name = "fill";
  spec.inputs = {dims, constant(g, 1.0f)};
  spec.attrs.set("T", float32);
  spec.attrs.set("index_type", int64);
  return g.create(std::move(spec))->output(0);
}

SessionOptions cpu_only(int cpus = 1) {
  SessionOptions o;
  o.cpu_devices = cpus;
  o.gpu_devices = 0;
  return o;
}

TEST(Session, RunsFetchesWithFeeds) {
  Graph g;
  Output x = placeholder(g, float32, Shape{-1, 2}, "x");
  Output w = constant(g, Tensor::of<float>({1, 2, 3, 4}, {2, 2}), "w");
  Output y = matmul(x, w, false, false, "y");
  Output s = reduce_sum(y, {}, false, "s");
  Session sess(g, cpu_only());
  auto out = sess.run({y, s}, {{x, Tensor::of<float>({1, 1}, {1, 2})}});
  EXPECT_EQ(out[0].to_vector<float>(), (std::vector<float>{4, 6}));
  EXPECT_EQ(out[1].item<float>(), 10.0f);
  // By name, as TF's string API.
  auto named = sess.run({"y:0"}, {{"x:0", Tensor::of<float>({2, 0}, {1, 2})}});
  EXPECT_EQ(named[0].to_vector<float>(), (std::vector<float>{2, 4}));
}

TEST(Session, FeedChecksShapeAndDtype) {
  Graph g;
  Output x = placeholder(g, float32, Shape{-1, 3}, "x");
  Output y = identity(x);
  Session sess(g, cpu_only());
  try {
    sess.run(y, {{x, Tensor(float32, Shape{2, 2})}});
    FAIL();
  } catch (const InvalidArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("Cannot feed value of shape (2, 2)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("x:0"), std::string::npos);
  }
  EXPECT_THROW(sess.run(y, {{x, Tensor(int32, Shape{2, 3})}}), InvalidArgumentError);
  try {
    sess.run(y);
    FAIL();
  } catch (const InvalidArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("You must feed a value for placeholder tensor 'x'"), std::string::npos) << e.what();
  }
}

TEST(Session, RunsOnlyTheNeededSubgraph) {
  Graph g;
  Output unfed = placeholder(g, float32, Shape{}, "unfed");
  Output boom = identity(unfed, "boom");  // would fail if run
  Output c = constant(g, 3.0f, "c");
  Output d = c * 2.0;
  (void)boom;
  Session sess(g, cpu_only());
  EXPECT_EQ(sess.run(d).item<float>(), 6.0f);
  // A fed tensor cuts the graph above it: its producer is not run.
  Output e = identity(boom) + 1.0;
  EXPECT_EQ(sess.run(e, {{boom, Tensor::scalar(4.0f)}}).item<float>(), 5.0f);
}

TEST(Session, VariablesLiveInTheSession) {
  Graph g;
  Variable v(g, constant(g, Tensor::of<float>({1, 2}, {2})), "v1");
  Output add_one = v.assign_add(ones(g, {2}));
  Operation init = global_variables_initializer(g);
  Session a(g, cpu_only()), b(g, cpu_only());
  try {
    a.run(v);
    FAIL();
  } catch (const FailedPreconditionError& e) {
    EXPECT_NE(std::string(e.what()).find("Attempting to use uninitialized value v1"), std::string::npos) << e.what();
  }
  a.run(init);
  b.run(init);
  a.run(add_one.node);
  a.run(add_one.node);
  EXPECT_EQ(a.run(v).to_vector<float>(), (std::vector<float>{3, 4}));
  EXPECT_EQ(b.run(v).to_vector<float>(), (std::vector<float>{1, 2}));
  EXPECT_EQ(a.variable_value("v1").to_vector<float>(), (std::vector<float>{3, 4}));
  EXPECT_TRUE(a.variable_initialized("v1"));
  EXPECT_THROW(a.variable_value("nope"), NotFoundError);
}

TEST(Session, FetchedValuesDoNotChangeUnderLaterUpdates) {
  Graph g;
  Variable v(g, zeros(g, {3}), "v");
  Output inc = v.assign_add(ones(g, {3}));
  Session s(g, cpu_only());
  s.run(v.initializer());
  Tensor before = s.run(v);
  s.run(inc.node);
  EXPECT_EQ(before.to_vector<float>(), (std::vector<float>{0, 0, 0}));
  EXPECT_EQ(s.run(v).to_vector<float>(), (std::vector<float>{1, 1, 1}));
}

TEST(Session, ControlDependenciesOrderEffects) {
  Graph g;
  Variable v(g, constant(g, 1.0f), "v");
  Output doubled = v.assign(v.value() * 2.0);
  Output read;
  {
    auto deps = g.control_dependencies({doubled.node});
    read = v.read_value();
  }
  Session s(g, cpu_only());
  s.run(v.initializer());
  EXPECT_EQ(s.run(read).item<float>(), 2.0f);
  EXPECT_EQ(s.run(read).item<float>(), 4.0f);
}

TEST(Session, DetectsCycles) {
  Graph g;
  Operation a = no_op(g, "a");
  Operation b = group(g, {a}, "b");
  g.add_control_input(a.node, b.node);
  Session s(g, cpu_only());
  try {
    s.run(b);
    FAIL();
  } catch (const InvalidArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("cycle"), std::string::npos) << e.what();
  }
}

TEST(Session, UnknownDeviceIsAnError) {
  Graph g;
  Output c;
  {
    auto d = g.device("/cpu:3");
    c = constant(g, 1.0f, "c");
  }
  Session s(g, cpu_only(2));
  try {
    s.run(c);
    FAIL();
  } catch (const InvalidArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("/device:CPU:3"), std::string::npos) << e.what();
  }
  Session four(g, cpu_only(4));
  EXPECT_EQ(four.run(c).item<float>(), 1.0f);
  EXPECT_EQ(four.device_for(c.node).spec(), DeviceSpec::cpu(3));
}

TEST(Session, LogicalCpuDevicesRunAcrossDevices) {
  Graph g;
  std::vector<Output> parts;
  for (int d = 0; d < 4; ++d) {
    auto dev = g.device("/cpu:" + std::to_string(d));
    Variable v(g, constant(g, Tensor::of<float>({float(d), float(d)}, {2})), "v" + std::to_string(d));
    parts.push_back(v.value() * 10.0);
  }
  Output total = parts[0] + parts[1] + parts[2] + parts[3];
  Session s(g, cpu_only(4));
  s.run(global_variables_initializer(g));
  EXPECT_EQ(s.run(total).to_vector<float>(), (std::vector<float>{60, 60}));
  EXPECT_EQ(s.device_for(g.find_node("v2")).spec(), DeviceSpec::cpu(2));
  EXPECT_EQ(s.device_for(g.find_node("v2/Assign")).spec(), DeviceSpec::cpu(2));
}

TEST(Session, ErrorsNameTheFailingNode) {
  Graph g;
  Output x = placeholder(g, float32, Shape::unknown(), "x");
  Output r = reshape(x, std::vector<int64_t>{3, 3}, "r");
  Session s(g, cpu_only());
  try {
    s.run(r, {{x, Tensor(float32, Shape{2, 2})}});
    FAIL();
  } catch (const InvalidArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("{{node r}}"), std::string::npos) << e.what();
  }
}

TEST(Session, ConcurrentRunsAreSafe) {
  Graph g;
  Output x = placeholder(g, float32, Shape{-1}, "x");
  Output y = reduce_sum(square(x));
  Session s(g, cpu_only());
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        float v = static_cast<float>(t + 1);
        float got = s.run(y, {{x, Tensor::of<float>({v, v}, {2})}}).item<float>();
        if (got != 2 * v * v) ++bad;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST(Session, FedValueWinsEvenWhenItsProducerRuns) {
  Graph g;
  Output a = constant(g, 3.0f, "a");
  Output b = a * 2.0;
  Output c = b + 1.0;
  Operation d = group(g, {b.node}, "d");  // makes b's node run as well
  Session s(g, cpu_only());
  auto out = s.run({c}, {{b, Tensor::scalar(10.0f)}}, {d});
  EXPECT_EQ(out[0].item<float>(), 11.0f);
  EXPECT_EQ(s.run({b}, {}, {d})[0].item<float>(), 6.0f);
}

TEST(Session, FetchedTensorsAreCopies) {
  Graph g;
  Variable v(g, constant(g, Tensor::of<float>({1, 2}, {2})), "v");
  Output c = constant(g, Tensor::of<float>({5, 6}, {2}), "c");
  Session s(g, cpu_only());
  s.run(v.initializer());
  Tensor got = s.run(v);
  got.data<float>()[0] = 100;
  EXPECT_EQ(s.run(v).to_vector<float>(), (std::vector<float>{1, 2}));
  Tensor k = s.run(c);
  k.data<float>()[0] = 100;
  EXPECT_EQ(s.run(c).to_vector<float>(), (std::vector<float>{5, 6}));
  Tensor mine = Tensor::of<float>({7, 8}, {2});
  s.set_variable_value("v", mine);
  mine.data<float>()[0] = 0;
  EXPECT_EQ(s.run(v).to_vector<float>(), (std::vector<float>{7, 8}));
}

TEST(Session, BadOutputIndexIsATypedError) {
  Graph g;
  Output c = constant(g, 1.0f, "c");
  Session s(g, cpu_only());
  EXPECT_THROW(s.run(Output(c.node, 3)), InvalidArgumentError);
  EXPECT_THROW(s.run(c, {{Output(c.node, -1), Tensor::scalar(1.0f)}}), InvalidArgumentError);
}

TEST(Session, HugeShapesAreRejectedNotWrapped) {
  EXPECT_THROW(Shape({int64_t{1} << 62, 8}).num_elements(), InvalidArgumentError);
  Graph g;
  Output dims = placeholder(g, int64, Shape{2}, "dims");
  Output f = fill_op_for_test(g, dims);
  Session s(g, cpu_only());
  EXPECT_THROW(s.run(f, {{dims, Tensor::of<int64_t>({int64_t{1} << 62, 8}, {2})}}), InvalidArgumentError);
}

TEST(Session, MissingGpuIsAnErrorUnlessSoftPlacement) {
  Graph g;
  Output c;
  {
    auto d = g.device("/gpu:7");
    c = constant(g, 1.0f, "c");
  }
  Session strict(g, cpu_only());
  EXPECT_THROW(strict.run(c), InvalidArgumentError);
  SessionOptions soft = cpu_only();
  soft.allow_soft_placement = true;
  Session lenient(g, soft);
  EXPECT_EQ(lenient.run(c).item<float>(), 1.0f);
}

TEST(Session, DefaultsToGpuWhenPresent) {
  Graph g;
  Output c = constant(g, 1.0f);
  Session s(g);
  if (gpu::device_count() == 0) {
    EXPECT_EQ(s.device_for(c.node).spec(), DeviceSpec::cpu(0));
  } else {
    EXPECT_EQ(s.device_for(c.node).spec(), DeviceSpec::gpu(0));
  }
}

TEST(Session, GpuGraphMatchesCpu) {
  if (gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  Graph g;
  g.set_random_seed(7);
  Output x = placeholder(g, float32, Shape{-1, 8}, "x");
  Variable w(g, random_normal(g, {8, 4}), "w");
  Variable b(g, zeros(g, {4}), "b");
  Output y = reduce_mean(softmax(tanh(bias_add(matmul(x, w), b))), {0});
  Session gpu_sess(g);
  Session cpu_sess(g, cpu_only());
  gpu_sess.run(global_variables_initializer(g));
  cpu_sess.run(global_variables_initializer(g));
  Tensor in(float32, Shape{16, 8});
  for (int i = 0; i < 128; ++i) in.data<float>()[i] = std::sin(0.37f * i);
  auto a = gpu_sess.run(y, {{x, in}}).to_vector<float>();
  auto c = cpu_sess.run(y, {{x, in}}).to_vector<float>();
  ASSERT_EQ(a.size(), c.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], c[i], 1e-5f);
  EXPECT_EQ(gpu_sess.device_for(w.op().node).spec(), DeviceSpec::gpu(0));
}

TEST(Session, LogicalGpusEachGetAStream) {
  if (gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  Graph g;
  std::vector<Output> parts;
  for (int d = 0; d < 3; ++d) {
    auto dev = g.device("/gpu:" + std::to_string(d));
    Variable v(g, constant(g, Tensor::of<float>({1, 2, 3}, {3})) * double(d + 1), "v" + std::to_string(d));
    parts.push_back(v.value());
  }
  Output total = parts[0] + parts[1] + parts[2];
  SessionOptions o;
  o.gpu_devices = 3 * gpu::device_count();
  Session s(g, o);
  s.run(global_variables_initializer(g));
  EXPECT_EQ(s.run(total).to_vector<float>(), (std::vector<float>{6, 12, 18}));
  EXPECT_NE(s.devices().get(DeviceSpec::gpu(0)).stream(), s.devices().get(DeviceSpec::gpu(1)).stream());
}

}  // namespace
}  // namespace kiln

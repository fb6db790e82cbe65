// graph_basics: the first kiln program. Builds a small TF1-style graph (variables initialised
// from random_normal, a placeholder, MatMul + BiasAdd + Relu, a reduction), runs it on the
// default device (/gpu:0 when present, else /cpu:0) and prints the results.
#include <iostream>

#include <kiln/kiln.h>

namespace k = kiln;

int main() {
  k::Graph g;
  g.set_random_seed(42);  // reproducible initial values

  k::Output x = k::placeholder(g, k::float32, k::Shape{-1, 3}, "x");
  k::Variable w(g, k::random_normal(g, {3, 4}, {.stddev = 0.5}), "w");
  k::Variable b(g, k::zeros(g, {4}), "b");
  k::Output h;
  {
    auto scope = g.name_scope("layer");
    h = k::relu(k::bias_add(k::matmul(x, w), b));
  }
  k::Output total = k::reduce_sum(h, {1}, /*keep_dims=*/false, "total");
  k::Output bump = b.assign_add(k::ones(g, {4}), "bump");
  k::Operation init = k::global_variables_initializer(g);

  k::Session sess(g);
  std::cout << "device: " << sess.devices().default_device().description() << "\n";
  sess.run(init);
  std::cout << "w (" << w.name() << ", from random_normal):\n" << sess.run(w) << "\n";

  k::Tensor batch = k::Tensor::of<float>({1, 2, 3, -1, 0, 1}, {2, 3});
  auto out = sess.run({h, total}, {{x, batch}});
  std::cout << h.name() << " = relu(x @ w + b):\n" << out[0] << "\n";
  std::cout << total.name() << ": " << out[1] << "\n";

  sess.run(bump.node);
  std::cout << "after " << bump.name() << ", b = " << sess.run(b) << "\n";
  std::cout << "h again:\n" << sess.run(h, {{x, batch}}) << "\n";
  return 0;
}

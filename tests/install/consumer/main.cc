// A downstream program built against an installed kiln.
#include <iostream>

#include <kiln/kiln.h>

int main() {
  kiln::Graph g;
  auto a = kiln::constant(g, kiln::Tensor::of<float>({1, 2, 3}, {3}));
  kiln::SessionOptions cpu;
  cpu.gpu_devices = 0;
  kiln::Session sess(g, cpu);
  std::cout << "consumer: " << sess.run(kiln::reduce_sum(a)).item<float>() << "\n";
  return 0;
}

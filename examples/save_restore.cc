// The seed program of shared/DESIGN.md (TF1's save/restore tutorial) in kiln: two random
// variables saved, restored into a second session, and restored again into a graph rebuilt
// from the exported .meta. Prints v1/v2 at each stage; exits 0 only if all three agree.
//
//   build/bin/save_restore [DIR]      (default: ./save)
#include <iostream>
#include <string>

#include <kiln/kiln.h>

namespace k = kiln;

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "save";
  try {
    k::fs::create_directories(dir);
    k::Graph g;
    auto v1 = k::Variable(g, k::random_normal(g, {1, 2}), "v1");  // lives on /gpu:0 if present
    auto v2 = k::Variable(g, k::random_normal(g, {2, 3}), "v2");
    auto init = k::global_variables_initializer(g);
    k::Saver saver(g);
    if (!k::fs::exists(dir + "/model.meta")) saver.export_meta_graph(dir + "/model.meta");

    k::Session sess(g);
    sess.run(init);
    k::Tensor a1 = sess.run(v1), a2 = sess.run(v2);
    std::cout << "after init:\nv1: " << a1 << "\nv2: " << a2 << "\n";
    std::string path = saver.save(sess, dir + "/model.ckpt");  // .index + .data-* + .meta + checkpoint
    std::string step = saver.save(sess, dir + "/my_test_model", {.global_step = 1000});
    std::cout << "saved " << path << " and " << step << "\n";

    k::Session sess2(g);
    saver.restore(sess2, path);
    k::Tensor b1 = sess2.run(v1), b2 = sess2.run(v2);
    std::cout << "after restore:\nv1: " << b1 << "\nv2: " << b2 << "\n";

    k::Graph g2;
    k::Saver saver2 = k::import_meta_graph(g2, dir + "/model.ckpt.meta");
    k::Session sess3(g2);
    saver2.restore(sess3, path);
    k::Tensor c1 = sess3.run(g2.get_tensor_by_name("v1:0"));
    k::Tensor c2 = sess3.run(g2.get_tensor_by_name("v2:0"));
    std::cout << "after import_meta_graph:\nv1: " << c1 << "\nv2: " << c2 << "\n";

    k::CheckpointReader reader(path);  // tf.train.NewCheckpointReader
    std::cout << "checkpoint holds:\n" << reader.debug_string();

    auto same = [](const k::Tensor& x, const k::Tensor& y) {
      return x.to_vector<float>() == y.to_vector<float>();
    };
    bool ok = same(a1, b1) && same(a1, c1) && same(a2, b2) && same(a2, c2) &&
              same(a1, reader.get_tensor("v1")) && same(a2, reader.get_tensor("v2"));
    std::cout << (ok ? "all equal" : "MISMATCH") << "\n";
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "save_restore: " << e.what() << "\n";
    return 1;
  }
}

// Continues a checkpoint directory TensorFlow manages (tests/interop/tf_meta.py): imports the
// latest checkpoint's .meta, restores it, adds 1 to every float variable, sets global_step to
// STEP and saves DIR/model-STEP with the imported Saver (max_to_keep from TF's SaverDef), after
// taking over TF's history from the `checkpoint` file as TF's recover_last_checkpoints does.
//
//   kiln_interop_continue DIR STEP      prints the new checkpoint prefix
#include <iostream>

#include <kiln/kiln.h>

namespace k = kiln;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: kiln_interop_continue DIR STEP\n";
    return 2;
  }
  try {
    const std::string dir = argv[1];
    const int64_t step = std::stoll(argv[2]);
    auto latest = k::latest_checkpoint(dir);
    if (!latest) throw k::NotFoundError("no checkpoint in " + dir);
    k::Graph g;
    k::Saver saver = k::import_meta_graph(g, *latest + ".meta");
    k::Session sess(g, {.cpu_devices = 3});  // TF placed the variables on /cpu:0../cpu:2
    saver.restore(sess, *latest);
    for (const auto& [key, var] : saver.variables()) {
      k::Tensor v = sess.variable_value(var.name());
      if (var.name() == "global_step") {
        v = k::Tensor::of<int64_t>({step}, k::Shape{});
      } else if (v.dtype() == k::DType::kFloat) {
        v = v.to_host();
        for (int64_t i = 0; i < v.num_elements(); ++i) v.data<float>()[i] += 1;
      }
      sess.set_variable_value(var.name(), v);
    }
    saver.recover_last_checkpoints(k::get_checkpoint_state(dir)->all_model_checkpoint_paths);
    std::cout << saver.save(sess, dir + "/model", {.global_step = "global_step:0"}) << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "kiln_interop_continue: " << e.what() << "\n";
    return 1;
  }
}

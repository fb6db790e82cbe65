// Sharded checkpoints, one data file per device: M variables totalling SIZE MiB spread over N
// devices (GPUs when present, else logical CPUs), saved with Saver{.sharded = true}, restored
// into a fresh session and checked value for value.
//
//   build/bin/sharded_save --devices 4 --vars 16 --mb 64 --out /tmp/sharded
//
// The last line is machine-readable:
//   save_gbps=X restore_gbps=Y bytes=N shards=K verified=1
// (GB/s = 1e9 bytes per second of wall time for Saver::save and Saver::restore, files included).
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <kiln/kiln.h>

namespace k = kiln;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Save M variables over N devices as a sharded checkpoint, restore and verify"};
  int devices = 2, vars = 8;
  double mb = 64;
  std::string out = "sharded_ckpt";
  bool cpu_only = false;
  app.add_option("--devices", devices, "Devices to spread the variables over (one shard each)")->check(CLI::Range(1, 64));
  app.add_option("--vars", vars, "Number of variables")->check(CLI::Range(1, 100000));
  app.add_option("--mb", mb, "Total size of the variables in MiB")->check(CLI::PositiveNumber);
  app.add_option("--out", out, "Directory for the checkpoint");
  app.add_flag("--cpu", cpu_only, "Use logical CPU devices even when a GPU is present");
  CLI11_PARSE(app, argc, argv);

  try {
    const bool gpu = !cpu_only && k::gpu::device_count() > 0;
    const std::string kind = gpu ? "/gpu:" : "/cpu:";
    const int64_t total_floats = static_cast<int64_t>(mb * 1024 * 1024 / 4);
    const int64_t per_var = std::max<int64_t>(1, total_floats / vars);

    k::Graph g;
    g.set_random_seed(42);
    std::vector<k::Variable> variables;
    for (int i = 0; i < vars; ++i) {
      auto d = g.device(kind + std::to_string(i % devices));
      variables.emplace_back(g, k::random_uniform(g, {per_var}), "var_" + std::to_string(i));
    }
    k::SessionOptions so;
    so.cpu_devices = gpu ? 1 : devices;
    so.gpu_devices = gpu ? devices : 0;  // more than the physical count: logical GPUs
    k::Session sess(g, so);
    sess.run(k::global_variables_initializer(g));
    std::vector<k::Tensor> expected;
    for (const auto& v : variables) expected.push_back(sess.variable_value(v.name()).to_host());

    k::fs::create_directories(out);
    k::Saver saver(g, {.sharded = true});
    auto t0 = std::chrono::steady_clock::now();
    std::string prefix = saver.save(sess, out + "/model", {.global_step = 1, .write_meta_graph = false});
    double save_s = seconds_since(t0);
    saver.export_meta_graph(prefix + ".meta");  // outside the timing: the graph, not the data

    k::Session fresh(g, so);
    t0 = std::chrono::steady_clock::now();
    saver.restore(fresh, prefix);
    double restore_s = seconds_since(t0);

    int shards = 0;
    for (const auto& e : k::fs::directory_iterator(out))
      if (e.path().filename().string().rfind("model-1.data-", 0) == 0) ++shards;
    bool verified = true;
    for (size_t i = 0; i < variables.size(); ++i) {
      k::Tensor got = fresh.variable_value(variables[i].name()).to_host();
      if (got.to_vector<float>() != expected[i].to_vector<float>()) {
        std::cerr << "MISMATCH in " << variables[i].name() << "\n";
        verified = false;
      }
    }
    const double bytes = static_cast<double>(per_var) * vars * 4;
    std::cout << "devices: " << devices << " x " << (gpu ? "GPU" : "logical CPU") << ", " << vars
              << " variables of " << per_var << " floats, checkpoint " << prefix << "\n";
    std::printf("save_gbps=%.3f restore_gbps=%.3f bytes=%.0f shards=%d verified=%d\n",
                bytes / save_s / 1e9, bytes / restore_s / 1e9, bytes, shards, verified ? 1 : 0);
    return verified ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "sharded_save: " << e.what() << "\n";
    return 1;
  }
}

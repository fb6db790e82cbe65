// Checkpoint save and restore through kiln::Saver (issue 5), next to the hardware bound measured
// in the same run on the same bytes.
//
//   BM_Save/total_mib/tensor_kib/sync     Saver::save of variables totalling total_mib MiB in
//                                         tensors of tensor_kib KiB (host memory).
//     bound: raw pwrite() of the same bytes, tensor by tensor, into one fresh file (+ fdatasync
//     when sync=1). ratio = raw_s / kiln_s.
//   BM_Restore/total_mib/tensor_kib       Saver::restore into a fresh session.
//     bound: raw pread() of the same bytes, tensor by tensor, into resident memory of the same
//     total size (kiln's host allocator keeps freed blocks, so after the warm-up restore kiln
//     reads into resident memory too). Reads hit the page cache (the files were just written),
//     so this measures kiln's overhead over the kernel's copy, not the disk. Second bound
//     (ratio_fresh): raw pread() into freshly allocated buffers, which pays the page faults a
//     restore into memory the process does not hold yet pays (kiln's cache is 1 GiB: beyond it,
//     as in the 4 GiB case, every restore faults its memory in).
//   BM_SaveGpu / BM_RestoreGpu (only with a GPU): variables on /gpu:0; bounds: pinned
//     cudaMemcpy bandwidth (D2H / H2D of the same bytes, in staging-size pieces) and raw write /
//     read; a pipelined save/restore can at best take as long as the slower of the two, so
//     ratio = max(pinned copy, raw io) time / kiln time.
//   BM_SaveAsyncGpu (only with a GPU): time save_async blocks the caller vs the device-to-device
//     copy of the same bytes (stall_ratio, target <= 1.2), with training steps running during
//     the background write.
//
// Counters: GBps (kiln), raw_GBps, ratio (1.0 = as fast as the bound). Files go to
// $KILN_BENCH_DIR, else /tmp. bench/compare_checkpoint.py runs this next to torch.save/np.save.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/gpu.h"
#include "core/pinned_pool.h"
#include "kiln/kiln.h"

namespace k = kiln;

namespace {

using Clock = std::chrono::steady_clock;

std::string bench_dir() {
  const char* env = std::getenv("KILN_BENCH_DIR");
  std::string dir = (env && *env ? std::string(env) : std::string("/tmp")) + "/kiln_bench_ckpt_" +
                    std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  return dir;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// A model of `count` float variables of `bytes` each, with non-constant values, on `device`.
struct Model {
  k::Graph g;
  std::vector<k::Variable> vars;
  std::unique_ptr<k::Session> sess;
  Model(int64_t bytes, int64_t count, const std::string& device) {
    {
      auto scope = g.device(device);
      for (int64_t i = 0; i < count; ++i)
        vars.emplace_back(g, k::zeros(g, {bytes / 4}), "layer" + std::to_string(i) + "/w");
    }
    sess = std::make_unique<k::Session>(g);
    sess->run(k::global_variables_initializer(g));
    k::Tensor pattern(k::DType::kFloat, k::Shape{bytes / 4});
    float* p = pattern.data<float>();
    for (int64_t i = 0; i < bytes / 4; ++i) p[i] = static_cast<float>(i % 1000) * 0.5f;
    for (const auto& v : vars) sess->set_variable_value(v.name(), pattern);
  }
};

int open_or_throw(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) throw std::runtime_error("open " + path);
  return fd;
}

void raw_write(const std::string& path, const std::vector<const char*>& tensors, int64_t bytes,
               bool sync) {
  int fd = open_or_throw(path, O_WRONLY | O_CREAT | O_TRUNC);
  int64_t offset = 0;
  for (const char* data : tensors) {
    for (int64_t done = 0; done < bytes;) {
      ssize_t n = ::pwrite(fd, data + done, bytes - done, offset + done);
      if (n <= 0) throw std::runtime_error("pwrite " + path);
      done += n;
    }
    offset += bytes;
  }
  if (sync && ::fdatasync(fd) != 0) throw std::runtime_error("fdatasync " + path);
  ::close(fd);
}

// Reads `count` pieces of `bytes` into dst (count * bytes, resident: allocated and touched once
// by the caller), piece i at dst + i * bytes.
void raw_read(const std::string& path, char* dst, int64_t bytes, int64_t count) {
  int fd = open_or_throw(path, O_RDONLY);
  for (int64_t i = 0; i < count; ++i) {
    for (int64_t done = 0; done < bytes;) {
      ssize_t n = ::pread(fd, dst + i * bytes + done, bytes - done, i * bytes + done);
      if (n <= 0) throw std::runtime_error("pread " + path);
      done += n;
    }
  }
  benchmark::DoNotOptimize(dst);
  ::close(fd);
}

// Reads `count` pieces of `bytes` into fresh buffers (new[] per piece, freed after all): the
// bound for reading into memory the process has not touched yet, page faults included.
void raw_read_fresh(const std::string& path, int64_t bytes, int64_t count) {
  std::vector<std::unique_ptr<char[]>> buffers;
  for (int64_t i = 0; i < count; ++i) buffers.emplace_back(new char[bytes]);
  int fd = open_or_throw(path, O_RDONLY);
  for (int64_t i = 0; i < count; ++i) {
    for (int64_t done = 0; done < bytes;) {
      ssize_t n = ::pread(fd, buffers[i].get() + done, bytes - done, i * bytes + done);
      if (n <= 0) throw std::runtime_error("pread " + path);
      done += n;
    }
  }
  benchmark::DoNotOptimize(buffers.data());
  ::close(fd);
}

// A resident buffer of `bytes` bytes (every page touched).
std::unique_ptr<char[]> resident(int64_t bytes) {
  std::unique_ptr<char[]> p(new char[bytes]);
  std::memset(p.get(), 1, bytes);
  return p;
}

std::vector<const char*> host_pointers(Model& m, std::vector<k::Tensor>* keep) {
  std::vector<const char*> out;
  for (const auto& v : m.vars) {
    keep->push_back(m.sess->variable_value(v.name()));
    out.push_back(static_cast<const char*>(keep->back().raw_data()));
  }
  return out;
}

void report(benchmark::State& state, double kiln_s, double bound_s, int64_t bytes_per_iter,
            const char* bound_name = "raw_GBps") {
  const double total = static_cast<double>(bytes_per_iter) * static_cast<double>(state.iterations());
  state.counters["GBps"] = total / kiln_s / 1e9;
  state.counters[bound_name] = total / bound_s / 1e9;
  state.counters["ratio"] = bound_s / kiln_s;
  state.SetBytesProcessed(static_cast<int64_t>(total));
}

void BM_Save(benchmark::State& state) {
  const int64_t total = state.range(0) << 20, bytes = state.range(1) << 10;
  const bool sync = state.range(2) != 0;
  const int64_t count = total / bytes;
  const std::string dir = bench_dir();
  Model m(bytes, count, "/cpu:0");
  std::vector<k::Tensor> keep;
  const auto pointers = host_pointers(m, &keep);
  k::SaverOptions o;
  o.io.sync = sync;
  k::Saver saver(m.g, o);
  double kiln_s = 0, raw_s = 0;
  int step = 0;
  // Each writer starts after the other's file is deleted and synced: both then write into page
  // cache pages the kernel has just freed. (On a VM whose memory the host backs lazily, the
  // first write into never-used guest pages is several times slower; whoever wrote second used
  // to pay that and the comparison measured the VM, not the writers.)
  raw_write(dir + "/warmup", pointers, bytes, false);
  // One save outside the timing: the first one also opens the directory lock, starts threads.
  saver.save(*m.sess, dir + "/model", {.global_step = 0, .write_meta_graph = false});
  for (auto _ : state) {
    state.PauseTiming();
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    ::sync();
    auto t0 = Clock::now();
    raw_write(dir + "/raw", pointers, bytes, sync);
    raw_s += seconds_since(t0);
    std::filesystem::remove(dir + "/raw");
    ::sync();
    state.ResumeTiming();
    t0 = Clock::now();
    saver.save(*m.sess, dir + "/model", {.global_step = ++step, .write_meta_graph = false});
    const double s = seconds_since(t0);
    kiln_s += s;
    state.SetIterationTime(s);
  }
  report(state, kiln_s, raw_s, total);
  std::filesystem::remove_all(dir);
}

void BM_Restore(benchmark::State& state) {
  const int64_t total = state.range(0) << 20, bytes = state.range(1) << 10;
  const int64_t count = total / bytes;
  const std::string dir = bench_dir();
  std::unique_ptr<Model> m = std::make_unique<Model>(bytes, count, "/cpu:0");
  std::string path;
  {
    std::vector<k::Tensor> keep;
    raw_write(dir + "/raw", host_pointers(*m, &keep), bytes, false);
    k::Saver saver(m->g);
    path = saver.save(*m->sess, dir + "/model", {.write_meta_graph = false});
  }
  m->sess.reset();  // only the restored copy lives during the timing
  k::Saver saver(m->g);
  {
    k::Session warmup(m->g);  // outside the timing: the first restore starts threads
    saver.restore(warmup, path);
  }
  // The bound reads into resident memory of the model's size, as kiln's restore does once its
  // allocator holds the previous restore's blocks (the warm-up above).
  std::unique_ptr<char[]> dst = resident(total);
  double kiln_s = 0, raw_s = 0, fresh_s = 0;
  for (auto _ : state) {
    auto t0 = Clock::now();
    raw_read(dir + "/raw", dst.get(), bytes, count);
    raw_s += seconds_since(t0);
    t0 = Clock::now();
    raw_read_fresh(dir + "/raw", bytes, count);
    fresh_s += seconds_since(t0);
    auto sess = std::make_unique<k::Session>(m->g);
    t0 = Clock::now();
    saver.restore(*sess, path);
    const double s = seconds_since(t0);
    kiln_s += s;
    state.SetIterationTime(s);
    state.PauseTiming();
    sess.reset();
    state.ResumeTiming();
  }
  report(state, kiln_s, raw_s, total);
  state.counters["raw_fresh_GBps"] =
      static_cast<double>(total) * static_cast<double>(state.iterations()) / fresh_s / 1e9;
  state.counters["ratio_fresh"] = fresh_s / kiln_s;
  std::filesystem::remove_all(dir);
}

// ---- GPU ----

bool have_gpu() { return k::gpu::device_count() > 0; }

// Seconds to copy the device tensors to (or from) one pinned staging-size buffer, piece by piece.
double pinned_copy_seconds(const std::vector<k::Tensor>& tensors, bool to_host) {
  const size_t piece = size_t{64} << 20;
  void* pinned = k::gpu::pinned_alloc(piece);
  auto stream = k::gpu::io_stream(0);
  auto t0 = Clock::now();
  for (const auto& t : tensors) {
    char* d = static_cast<char*>(const_cast<void*>(t.raw_data()));
    for (size_t done = 0; done < t.bytes(); done += piece) {
      const size_t n = std::min(piece, t.bytes() - done);
      if (to_host)
        k::gpu::copy_async(pinned, d + done, n, 0, stream);
      else
        k::gpu::copy_async(d + done, pinned, n, 0, stream);
    }
  }
  k::gpu::synchronize(stream);
  const double s = seconds_since(t0);
  k::gpu::pinned_free(pinned);
  return s;
}

void BM_SaveGpu(benchmark::State& state) {
  if (!have_gpu()) return state.SkipWithError("no GPU");
  const int64_t total = state.range(0) << 20, bytes = state.range(1) << 10;
  const int64_t count = total / bytes;
  const std::string dir = bench_dir();
  Model m(bytes, count, "/gpu:0");
  std::vector<k::Tensor> keep;
  for (const auto& v : m.vars) keep.push_back(m.sess->variable_value(v.name()));
  std::vector<char> host(bytes);
  std::vector<const char*> pointers(count, host.data());
  k::Saver saver(m.g);
  // Outside the timing: the staging pool (cudaHostAlloc), threads, the directory lock.
  saver.save(*m.sess, dir + "/model", {.global_step = 0, .write_meta_graph = false});
  double kiln_s = 0, d2h_s = 0, raw_s = 0;
  int step = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    ::sync();
    d2h_s += pinned_copy_seconds(keep, /*to_host=*/true);
    auto t0 = Clock::now();
    raw_write(dir + "/raw", pointers, bytes, true);
    raw_s += seconds_since(t0);
    ::sync();
    state.ResumeTiming();
    t0 = Clock::now();
    saver.save(*m.sess, dir + "/model", {.global_step = ++step, .write_meta_graph = false});
    const double s = seconds_since(t0);
    kiln_s += s;
    state.SetIterationTime(s);
  }
  report(state, kiln_s, std::max(d2h_s, raw_s), total, "bound_GBps");
  const double n = static_cast<double>(total) * static_cast<double>(state.iterations());
  state.counters["d2h_GBps"] = n / d2h_s / 1e9;
  state.counters["raw_GBps"] = n / raw_s / 1e9;
  std::filesystem::remove_all(dir);
}

void BM_RestoreGpu(benchmark::State& state) {
  if (!have_gpu()) return state.SkipWithError("no GPU");
  const int64_t total = state.range(0) << 20, bytes = state.range(1) << 10;
  const int64_t count = total / bytes;
  const std::string dir = bench_dir();
  Model m(bytes, count, "/gpu:0");
  std::vector<k::Tensor> keep;
  for (const auto& v : m.vars) keep.push_back(m.sess->variable_value(v.name()));
  std::vector<char> host(bytes);
  raw_write(dir + "/raw", std::vector<const char*>(count, host.data()), bytes, false);
  k::Saver saver(m.g);
  const std::string path = saver.save(*m.sess, dir + "/model", {.write_meta_graph = false});
  {
    k::Session warmup(m.g);  // outside the timing: the restore's staging pool, device blocks
    saver.restore(warmup, path);
  }
  std::unique_ptr<char[]> dst = resident(total);
  double kiln_s = 0, h2d_s = 0, raw_s = 0;
  for (auto _ : state) {
    h2d_s += pinned_copy_seconds(keep, /*to_host=*/false);
    auto t0 = Clock::now();
    raw_read(dir + "/raw", dst.get(), bytes, count);
    raw_s += seconds_since(t0);
    k::Session fresh(m.g);
    t0 = Clock::now();
    saver.restore(fresh, path);
    const double s = seconds_since(t0);
    kiln_s += s;
    state.SetIterationTime(s);
  }
  report(state, kiln_s, std::max(h2d_s, raw_s), total, "bound_GBps");
  const double n = static_cast<double>(total) * static_cast<double>(state.iterations());
  state.counters["h2d_GBps"] = n / h2d_s / 1e9;
  state.counters["raw_GBps"] = n / raw_s / 1e9;
  std::filesystem::remove_all(dir);
}

void BM_SaveAsyncGpu(benchmark::State& state) {
  if (!have_gpu()) return state.SkipWithError("no GPU");
  const int64_t total = state.range(0) << 20, bytes = 64 << 20;
  const int64_t count = total / bytes;
  const std::string dir = bench_dir();
  Model m(bytes, count, "/gpu:0");
  // A training step that updates every variable.
  std::vector<k::Operation> updates;
  for (const auto& v : m.vars) updates.push_back(k::Operation(v.assign_add(k::ones(m.g, {bytes / 4})).node));
  k::Saver saver(m.g, {.max_to_keep = 1});
  saver.save_async(*m.sess, dir + "/model", {.global_step = 0, .write_meta_graph = false}).wait();
  double stall_s = 0, copy_s = 0;
  int step = 0, steps_during_write = 0;
  for (auto _ : state) {
    // The bound: a device-to-device copy of every variable (what the snapshot must do).
    std::vector<k::Tensor> copies;
    auto t0 = Clock::now();
    for (const auto& v : m.vars) {
      k::Tensor t = m.sess->variable_value(v.name());
      copies.push_back(t.copy_to(t.allocator(), t.device()));
    }
    copy_s += seconds_since(t0);
    copies.clear();
    t0 = Clock::now();
    k::SaveHandle h = saver.save_async(*m.sess, dir + "/model", {.global_step = ++step,
                                                                 .write_meta_graph = false});
    const double s = seconds_since(t0);
    stall_s += s;
    state.SetIterationTime(s);
    state.PauseTiming();
    while (!h.done()) {
      m.sess->run(updates);
      ++steps_during_write;
    }
    h.wait();
    state.ResumeTiming();
  }
  const double n = static_cast<double>(total) * static_cast<double>(state.iterations());
  state.counters["stall_ms"] = stall_s * 1e3 / state.iterations();
  state.counters["d2d_copy_ms"] = copy_s * 1e3 / state.iterations();
  state.counters["stall_ratio"] = stall_s / copy_s;
  state.counters["steps_during_write"] = steps_during_write;
  state.SetBytesProcessed(static_cast<int64_t>(n));
  std::filesystem::remove_all(dir);
}

// {total MiB, tensor KiB}: many 64 KiB tensors, 1 MiB ones, a few 256 MiB ones; 64 MiB to 4 GiB.
const int64_t kCases[][2] = {{64, 64},    {64, 1024},    {256, 64},     {256, 1024},
                             {256, 262144}, {1024, 64},  {1024, 1024},  {1024, 262144},
                             {4096, 262144}};

void save_cases(benchmark::internal::Benchmark* b) {
  for (const auto& c : kCases)
    for (int sync : {0, 1}) b->Args({c[0], c[1], sync});
  b->ArgNames({"MiB", "tensor_KiB", "sync"})->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
}
void restore_cases(benchmark::internal::Benchmark* b) {
  for (const auto& c : kCases) b->Args({c[0], c[1]});
  b->ArgNames({"MiB", "tensor_KiB"})->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
}

BENCHMARK(BM_Save)->Apply(save_cases);
BENCHMARK(BM_Restore)->Apply(restore_cases);
BENCHMARK(BM_SaveGpu)->Apply(restore_cases);
BENCHMARK(BM_RestoreGpu)->Apply(restore_cases);
BENCHMARK(BM_SaveAsyncGpu)->Arg(1024)->Arg(4096)->ArgNames({"MiB"})->UseManualTime()
    ->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();

// Checkpoint save and restore through kiln::Saver (issue 5), next to the hardware bound measured
// in the same run on the same bytes.
//
//   BM_Save/total_mib/tensor_kib/sync     Saver::save of variables totalling total_mib MiB in
//                                         tensors of tensor_kib KiB (host memory).
//     bound: raw pwrite() of the same bytes, tensor by tensor, into one fresh file (+ fdatasync
//     when sync=1). ratio = raw_s / kiln_s.
//   BM_Restore/total_mib/tensor_kib/live  Saver::restore of the same variables.
//     live=1: into the running session (a rollback, an eval loop reloading checkpoints). Bound:
//       raw pread() of the checkpoint's data file, tensor by tensor, into the variables' own
//       buffers (resident memory, the very memory the restore replaces).
//     live=0: into a new session with the host allocator's cache released first, i.e. into
//       memory the process does not hold (a program starting up). Bound: raw pread() of the
//       same file into freshly allocated buffers (huge-page advised, as kiln's), which pays the
//       same page faults.
//     Reads hit the page cache (the file was just written), so this measures kiln's work beside
//     the kernel's copy, not the disk. The bound reads kiln's own file rather than a second
//     copy so that the page cache holds the bytes once (two copies of 4 GiB evicted each other
//     on the 23 GiB development machine).
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
#include <malloc.h>
#include <sys/mman.h>
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
#include "io/bundle_format.h"
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

// Reads `count` pieces of `bytes` of the file at `path` into resident memory, piece i at dsts[i]
// (the bytes after count * bytes, e.g. a bundle's padding, are not read).
void raw_read(const std::string& path, const std::vector<char*>& dsts, int64_t bytes) {
  int fd = open_or_throw(path, O_RDONLY);
  for (size_t i = 0; i < dsts.size(); ++i) {
    const int64_t offset = static_cast<int64_t>(i) * bytes;
    for (int64_t done = 0; done < bytes;) {
      ssize_t n = ::pread(fd, dsts[i] + done, bytes - done, offset + done);
      if (n <= 0) throw std::runtime_error("pread " + path);
      done += n;
    }
  }
  benchmark::DoNotOptimize(dsts.data());
  ::close(fd);
}

// Reads `count` pieces of `bytes` of the file at `path` into memory the process does not hold
// yet, page faults included: the bound for a restore into fresh memory. The memory is what the
// best raw program would take: one region for all pieces, 2 MiB-aligned with transparent huge
// pages asked for (madvise), so a fault brings in 2 MiB, not 4 KiB. (Per-piece new[] or malloc
// is no bound: 4 KiB faults for large pieces, 5-10x slower here, and for pieces below glibc's
// mmap threshold the heap hands back memory it still holds, which is not fresh.)
void raw_read_fresh(const std::string& path, int64_t bytes, int64_t count) {
  constexpr size_t kHuge = size_t{2} << 20;
  const size_t size = (static_cast<size_t>(bytes * count) + kHuge - 1) & ~(kHuge - 1);
  char* region = static_cast<char*>(std::aligned_alloc(kHuge, size));
  if (!region) throw std::runtime_error("allocation");
  ::madvise(region, size, MADV_HUGEPAGE);
  std::vector<char*> dsts;
  for (int64_t i = 0; i < count; ++i) dsts.push_back(region + i * bytes);
  raw_read(path, dsts, bytes);
  std::free(region);  // munmap: the next one is fresh again
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
  const bool live = state.range(2) != 0;
  const int64_t count = total / bytes;
  const std::string dir = bench_dir();
  std::unique_ptr<Model> m = std::make_unique<Model>(bytes, count, "/cpu:0");
  k::Saver saver(m->g);
  const std::string path = saver.save(*m->sess, dir + "/model", {.write_meta_graph = false});
  const std::string data = k::io::data_filename(path, 0, 1);
  if (static_cast<int64_t>(std::filesystem::file_size(data)) < total)
    throw std::runtime_error("unexpected data file size: " + data);
  if (!live) {
    m->sess.reset();  // only the restored copy lives during the timing
    k::Session warmup(m->g);  // outside the timing: the first restore starts threads
    saver.restore(warmup, path);
  }
  double kiln_s = 0, raw_s = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::unique_ptr<k::Session> fresh;
    if (!live) {
      fresh = std::make_unique<k::Session>(m->g);
      k::host_allocator()->release_cached();  // the restore takes memory from the kernel:
      ::malloc_trim(0);  // blocks below 1 MiB are malloc's, whose free lists are emptied too
    }
    state.ResumeTiming();
    auto t0 = Clock::now();
    if (live) {  // the bound reads into the variables' own buffers, which the restore replaces
      std::vector<k::Tensor> keep;
      std::vector<char*> dsts;
      for (const char* p : host_pointers(*m, &keep)) dsts.push_back(const_cast<char*>(p));
      t0 = Clock::now();
      raw_read(data, dsts, bytes);
    } else {
      raw_read_fresh(data, bytes, count);
    }
    raw_s += seconds_since(t0);
    k::Session& sess = live ? *m->sess : *fresh;
    t0 = Clock::now();
    saver.restore(sess, path);
    const double s = seconds_since(t0);
    kiln_s += s;
    state.SetIterationTime(s);
    state.PauseTiming();
    fresh.reset();
    state.ResumeTiming();
  }
  report(state, kiln_s, raw_s, total);
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
  k::Saver saver(m.g);
  const std::string path = saver.save(*m.sess, dir + "/model", {.write_meta_graph = false});
  const std::string data = k::io::data_filename(path, 0, 1);
  {
    k::Session warmup(m.g);  // outside the timing: the restore's staging pool, device blocks
    saver.restore(warmup, path);
  }
  std::unique_ptr<char[]> dst = resident(total);
  std::vector<char*> dsts;
  for (int64_t i = 0; i < count; ++i) dsts.push_back(dst.get() + i * bytes);
  double kiln_s = 0, h2d_s = 0, raw_s = 0;
  for (auto _ : state) {
    h2d_s += pinned_copy_seconds(keep, /*to_host=*/false);
    auto t0 = Clock::now();
    raw_read(data, dsts, bytes);
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
  for (const auto& c : kCases)
    for (int live : {0, 1}) b->Args({c[0], c[1], live});
  b->ArgNames({"MiB", "tensor_KiB", "live"})->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
}
void gpu_cases(benchmark::internal::Benchmark* b) {
  for (const auto& c : kCases) b->Args({c[0], c[1]});
  b->ArgNames({"MiB", "tensor_KiB"})->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
}

BENCHMARK(BM_Save)->Apply(save_cases);
BENCHMARK(BM_Restore)->Apply(restore_cases);
BENCHMARK(BM_SaveGpu)->Apply(gpu_cases);
BENCHMARK(BM_RestoreGpu)->Apply(gpu_cases);
BENCHMARK(BM_SaveAsyncGpu)->Arg(1024)->Arg(4096)->ArgNames({"MiB"})->UseManualTime()
    ->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();

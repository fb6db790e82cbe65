// Tensor bundle (checkpoint) write and read throughput on the CPU, next to raw pwrite/pread of
// the same bytes measured in the same run (issue 3: target >= 0.9x raw for tensors >= 1 MiB).
//
//   BM_BundleWrite/S/N/sync   BundleWriter: N tensors of S bytes, finish() (index, renames;
//                             fsync of files + directory when sync=1)
//                             raw: N pwrite()s of S bytes into a fresh file (+ fdatasync)
//   BM_BundleRead/S/N/into    BundleReader opened, every tensor read with its crc32c checked:
//                             into=0: lookup() into a new host tensor each time (pays the
//                             allocation and first-touch page faults of fresh memory);
//                             into=1: lookup_into() one reused host tensor (what raw does)
//                             raw: N pread()s of S bytes into one reused buffer
//
// Each iteration times the raw bound and kiln back to back; counters: GBps (kiln), raw_GBps and
// ratio = kiln / raw (1.0 = as fast as the raw syscalls). Reads hit the page cache (the files
// were just written), so they measure kiln's overhead (allocation, crc32c, copies), not the disk.
// Files go to $KILN_BENCH_DIR, else /tmp. Totals stay <= 512 MiB per case.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "io/bundle_format.h"
#include "io/bundle_reader.h"
#include "io/bundle_writer.h"

namespace k = kiln;

namespace {

using Clock = std::chrono::steady_clock;

std::string bench_dir() {
  const char* env = std::getenv("KILN_BENCH_DIR");
  std::string dir = (env && *env ? std::string(env) : std::string("/tmp")) + "/kiln_bench_bundle_" +
                    std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  return dir;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// A float tensor of `bytes` bytes with non-constant contents.
k::Tensor make_tensor(int64_t bytes) {
  k::Tensor t(k::DType::kFloat, k::Shape{bytes / 4});
  float* p = t.data<float>();
  for (int64_t i = 0; i < bytes / 4; ++i) p[i] = static_cast<float>(i % 1000) * 0.5f;
  return t;
}

void raw_write(const std::string& path, const char* data, int64_t bytes, int64_t count, bool sync) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw std::runtime_error("open " + path);
  for (int64_t i = 0; i < count; ++i) {
    for (int64_t done = 0; done < bytes;) {
      ssize_t n = ::pwrite(fd, data + done, bytes - done, i * bytes + done);
      if (n <= 0) throw std::runtime_error("pwrite " + path);
      done += n;
    }
  }
  if (sync && ::fdatasync(fd) != 0) throw std::runtime_error("fdatasync " + path);
  ::close(fd);
}

void raw_read(const std::string& path, char* buffer, int64_t bytes, int64_t count) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw std::runtime_error("open " + path);
  for (int64_t i = 0; i < count; ++i) {
    for (int64_t done = 0; done < bytes;) {
      ssize_t n = ::pread(fd, buffer + done, bytes - done, i * bytes + done);
      if (n <= 0) throw std::runtime_error("pread " + path);
      done += n;
    }
  }
  ::close(fd);
}

void write_bundle(const std::string& prefix, const k::Tensor& t, int64_t count, bool sync) {
  k::io::BundleWriterOptions options;
  options.sync = sync;
  k::io::BundleWriter writer(prefix, options);
  for (int64_t i = 0; i < count; ++i) writer.add("t" + std::to_string(i), t);
  writer.finish();
}

void report(benchmark::State& state, double kiln_s, double raw_s, int64_t bytes_per_iter) {
  double total = static_cast<double>(bytes_per_iter) * static_cast<double>(state.iterations());
  state.counters["GBps"] = total / kiln_s / 1e9;
  state.counters["raw_GBps"] = total / raw_s / 1e9;
  state.counters["ratio"] = raw_s / kiln_s;
  state.SetBytesProcessed(static_cast<int64_t>(total));
}

void BM_BundleWrite(benchmark::State& state) {
  const int64_t bytes = state.range(0), count = state.range(1);
  const bool sync = state.range(2) != 0;
  const std::string dir = bench_dir();
  const k::Tensor t = make_tensor(bytes);
  double kiln_s = 0, raw_s = 0;
  for (auto _ : state) {
    // Fresh names each time, as successive saves use: replacing a file by rename makes ext4
    // flush it (auto_da_alloc), which would charge the previous iteration's bytes to this one.
    // Each measurement starts with no dirty pages (::sync), so neither pays for the other's
    // writeback.
    state.PauseTiming();
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    ::sync();
    auto t0 = Clock::now();
    raw_write(dir + "/raw", static_cast<const char*>(t.raw_data()), bytes, count, sync);
    raw_s += seconds_since(t0);
    ::sync();
    state.ResumeTiming();
    t0 = Clock::now();
    write_bundle(dir + "/bundle", t, count, sync);
    double s = seconds_since(t0);
    kiln_s += s;
    state.SetIterationTime(s);
  }
  report(state, kiln_s, raw_s, bytes * count);
  std::filesystem::remove_all(dir);
}

void BM_BundleRead(benchmark::State& state) {
  const int64_t bytes = state.range(0), count = state.range(1);
  const bool into = state.range(2) != 0;
  const std::string dir = bench_dir();
  {
    const k::Tensor t = make_tensor(bytes);
    raw_write(dir + "/raw", static_cast<const char*>(t.raw_data()), bytes, count, false);
    write_bundle(dir + "/bundle", t, count, false);
  }
  std::string buffer(static_cast<size_t>(bytes), '\0');
  double kiln_s = 0, raw_s = 0;
  for (auto _ : state) {
    auto t0 = Clock::now();
    raw_read(dir + "/raw", buffer.data(), bytes, count);
    raw_s += seconds_since(t0);
    t0 = Clock::now();
    k::io::BundleReader reader(dir + "/bundle");
    if (into) {
      k::Tensor dst(k::DType::kFloat, k::Shape{bytes / 4});
      for (int64_t i = 0; i < count; ++i) reader.lookup_into("t" + std::to_string(i), dst);
      benchmark::DoNotOptimize(dst.raw_data());
    } else {
      for (int64_t i = 0; i < count; ++i) {
        k::Tensor t = reader.lookup("t" + std::to_string(i));
        benchmark::DoNotOptimize(t.raw_data());
      }
    }
    double s = seconds_since(t0);
    kiln_s += s;
    state.SetIterationTime(s);
  }
  report(state, kiln_s, raw_s, bytes * count);
  std::filesystem::remove_all(dir);
}

// {tensor bytes, count}: from many 4 KiB tensors to a couple of 256 MiB ones.
void sizes(benchmark::internal::Benchmark* b) {
  const int64_t cases[][2] = {{4 << 10, 16384}, {64 << 10, 2048}, {1 << 20, 256},
                              {16 << 20, 16},   {256 << 20, 2}};
  for (const auto& c : cases) {
    b->Args({c[0], c[1], 0});
    b->Args({c[0], c[1], 1});
  }
  b->UseManualTime()->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_BundleWrite)->Apply([](benchmark::internal::Benchmark* b) { sizes(b); })
    ->ArgNames({"bytes", "n", "sync"});
BENCHMARK(BM_BundleRead)->Apply([](benchmark::internal::Benchmark* b) { sizes(b); })
    ->ArgNames({"bytes", "n", "into"});

}  // namespace

BENCHMARK_MAIN();

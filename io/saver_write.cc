// Saver: writing a snapshot into bundle files. Each group of tensors (everything, or one device's
// share, or one of its shards_per_device parts) is written by a BundleWriter of its own, on a
// thread of its own; GPU tensors stream through the Saver's pinned staging pools. Several parts
// are written under a temporary directory and merged into one checkpoint (io/merge_bundles.h).
#include <algorithm>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/errors.h"
#include "core/pinned_pool.h"
#include "io/bundle_writer.h"
#include "io/merge_bundles.h"
#include "io/saver.h"
#include "io/saver_files.h"

namespace kiln {

using io::shard_name;

PinnedBufferPool* Saver::staging_pool(const std::string& key) {
  std::lock_guard<std::mutex> lock(*staging_mu_);
  auto& pool = staging_[key];
  if (!pool) {
    const CheckpointIoOptions& io = options_.io;
    if (io.staging_buffers < 1 || io.staging_buffer_bytes < 4096)
      throw InvalidArgumentError("CheckpointIoOptions: staging_buffers must be >= 1 and "
                                 "staging_buffer_bytes >= 4096, got " +
                                 std::to_string(io.staging_buffers) + " x " +
                                 std::to_string(io.staging_buffer_bytes));
    pool = std::make_unique<PinnedBufferPool>(io.staging_buffer_bytes, io.staging_buffers);
  }
  return pool.get();
}

void Saver::write_group(const std::vector<const SnapshotTensor*>& tensors,
                        const std::string& prefix, PinnedBufferPool* staging) {
  io::BundleWriterOptions wo;
  wo.fs = fs_;
  wo.sync = options_.io.sync;
  wo.direct_io = options_.io.direct_io;
  wo.staging = staging;
  io::BundleWriter writer(prefix, wo);
  for (const SnapshotTensor* t : tensors) writer.add(t->name, t->value);
  writer.finish();
}

void Saver::write_checkpoint(const Snapshot& snapshot, const std::string& prefix) {
  const int per_device = options_.io.shards_per_device;
  if (per_device < 1 || per_device > 1024)
    throw InvalidArgumentError("CheckpointIoOptions.shards_per_device must be in [1, 1024], got " +
                               std::to_string(per_device));
  auto needs_staging = [](const std::vector<const SnapshotTensor*>& ts) {
    for (const SnapshotTensor* t : ts)
      if (!t->value.on_host()) return true;
    return false;
  };
  // Groups: one per device when sharded (devices in ascending order, as TF sorts them), else
  // one for everything; each split into `per_device` parts of about equal bytes.
  std::map<DeviceSpec, std::vector<const SnapshotTensor*>> by_device;
  for (const SnapshotTensor& t : snapshot.tensors)
    by_device[options_.sharded ? t.device : DeviceSpec()].push_back(&t);
  if (!options_.sharded && per_device == 1) {
    const auto& all = by_device.begin()->second;
    write_group(all, prefix, needs_staging(all) ? staging_pool("all") : nullptr);
    return;
  }
  struct Part {
    std::vector<const SnapshotTensor*> tensors;
    uint64_t bytes = 0;
    std::string staging_key;
  };
  std::vector<Part> parts;
  for (auto& [device, tensors] : by_device) {
    const size_t first = parts.size();
    for (int j = 0; j < per_device; ++j)
      parts.push_back({{}, 0, device.to_string() + "#" + std::to_string(j)});
    // Largest first into the lightest part: a near-even split of the bytes.
    std::vector<const SnapshotTensor*> sorted = tensors;
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) {
      return a->value.bytes() > b->value.bytes();
    });
    for (const SnapshotTensor* t : sorted) {
      Part* lightest = &parts[first];
      for (size_t i = first; i < parts.size(); ++i)
        if (parts[i].bytes < lightest->bytes) lightest = &parts[i];
      lightest->tensors.push_back(t);
      lightest->bytes += t->value.bytes();
    }
  }
  const int n = static_cast<int>(parts.size());
  const std::string temp_dir = prefix + temp_suffix_;
  const std::string part_prefix = io::join_path(temp_dir, "part");
  std::vector<std::string> prefixes;
  for (int i = 0; i < n; ++i) prefixes.push_back(shard_name(part_prefix, i, n));

  auto cleanup = [&] {
    try {
      if (!fs_->exists(temp_dir)) return;
      for (const auto& f : fs_->list_dir(temp_dir)) fs_->delete_file(io::join_path(temp_dir, f));
      fs_->delete_dir(temp_dir);
    } catch (const Error&) {
    }
  };
  try {
    fs_->create_dir(temp_dir);
    std::vector<PinnedBufferPool*> pools(n, nullptr);
    for (int i = 0; i < n; ++i)
      if (needs_staging(parts[i].tensors)) pools[i] = staging_pool(parts[i].staging_key);
    // One writer thread per part: every device's data files are written concurrently.
    std::vector<std::exception_ptr> errors(n);
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([&, i] {
        try {
          write_group(parts[i].tensors, prefixes[i], pools[i]);
        } catch (...) {
          errors[i] = std::current_exception();
        }
      });
    }
    for (auto& t : threads) t.join();
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
    io::merge_bundles(fs_, prefixes, prefix);
  } catch (...) {
    cleanup();
    throw;
  }
  cleanup();
}

}  // namespace kiln

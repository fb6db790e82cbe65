#include "io/saver.h"

#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string_view>
#include <thread>

#include "core/errors.h"
#include "core/pinned_pool.h"
#include "io/bundle_writer.h"
#include "io/checkpoint_reader.h"
#include "io/checkpoint_state.h"
#include "io/merge_bundles.h"
#include "io/meta_graph.h"
#include "io/parallel_read.h"
#include "io/saver_graph.h"

namespace kiln {

namespace {

std::string basename_of(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string random_hex32() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd() ^
                      static_cast<uint64_t>(
                          std::chrono::steady_clock::now().time_since_epoch().count()));
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016" PRIx64 "%016" PRIx64, gen(), gen());
  return buf;
}

std::string shard_name(const std::string& prefix, int i, int n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "-%05d-of-%05d", i, n);
  return prefix + buf;
}

// Modification time in seconds of P.index, else of P; nullopt when neither exists (POSIX only).
std::optional<double> checkpoint_mtime(const std::string& prefix) {
  for (const std::string& p : {prefix + ".index", prefix}) {
    struct stat st;
    if (::stat(p.c_str(), &st) == 0)
      return static_cast<double>(st.st_mtim.tv_sec) + st.st_mtim.tv_nsec * 1e-9;
  }
  return std::nullopt;
}

// Deletes what is left of a dropped checkpoint: P.index first (when that fails, nothing else,
// so the checkpoint stays complete), then P.data-?????-of-????? and P.meta. Returns true when no
// file of P is left. Errors are swallowed (TF ignores failed deletions of old checkpoints).
bool delete_checkpoint_files(io::FileSystem* fs, const std::string& prefix) {
  remove_checkpoint(prefix, fs);  // V2 (index first) or V1 files
  const std::string dir = io::dirname(prefix);
  const std::string pattern = basename_of(prefix) + ".data-?????" "-of-?????";
  auto remaining = [&] {
    std::vector<std::string> out;
    if (fs->exists(prefix + ".index")) return std::vector<std::string>{prefix + ".index"};
    try {
      for (const std::string& name : fs->list_dir(dir))
        if (fnmatch(pattern.c_str(), name.c_str(), FNM_PATHNAME) == 0)
          out.push_back(io::join_path(dir, name));
    } catch (const Error&) {
    }
    if (fs->exists(prefix + ".meta")) out.push_back(prefix + ".meta");
    return out;
  };
  std::vector<std::string> left = remaining();
  if (left.empty()) return true;
  if (left.size() == 1 && left[0] == prefix + ".index") return false;
  for (const std::string& f : left) {  // no index: data files (and the meta) of a dropped one
    try {
      fs->delete_file(f);
    } catch (const Error&) {
    }
  }
  return remaining().empty();
}

// True when `path`'s parent is `dir`, lexically ("a/../b/x" is in "b", not in "a").
bool in_directory(const std::string& path, const std::string& dir) {
  namespace stdfs = std::filesystem;
  auto norm = [](const std::string& p) {
    std::string s = stdfs::path(p.empty() ? "." : p).lexically_normal().string();
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return s.empty() ? std::string(".") : s;
  };
  return norm(io::dirname(norm(path))) == norm(dir);
}

// ---- Leftovers of crashed saves (see "Commit protocol" in saver.h) ----

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_lower_hex32(std::string_view s) {
  return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// "<base>.index" or "<base>.data-<5+ digits>-of-<5+ digits>", base not empty: a bundle file name.
bool is_bundle_file_name(std::string_view name) {
  constexpr std::string_view kIndex = ".index";
  if (name.size() > kIndex.size() && name.ends_with(kIndex)) return true;
  size_t data = name.rfind(".data-");
  if (data == std::string_view::npos || data == 0) return false;
  std::string_view shard = name.substr(data + 6);
  size_t of = shard.find("-of-");
  if (of == std::string_view::npos) return false;
  std::string_view i = shard.substr(0, of), n = shard.substr(of + 4);
  return i.size() >= 5 && n.size() >= 5 && all_digits(i) && all_digits(n);
}

// BundleWriter's and merge_bundles' temporary names: "<bundle file name>.tempstate<digits>".
bool is_bundle_temp_name(std::string_view name) {
  size_t t = name.rfind(".tempstate");
  return t != std::string_view::npos && all_digits(name.substr(t + 10)) &&
         is_bundle_file_name(name.substr(0, t));
}

// write_file_atomically's temporary names ("<file>.tmp<digits>") of the files a Saver writes
// with it: the state file (`latest_filename`, or TF's default "checkpoint") and "<P>.<suffix>"
// meta graphs.
bool is_atomic_temp_name(std::string_view name, const std::string& latest_filename,
                         const std::string& meta_suffix) {
  size_t t = name.rfind(".tmp");
  if (t == std::string_view::npos || !all_digits(name.substr(t + 4))) return false;
  std::string_view target = name.substr(0, t);
  if (target == latest_filename || target == io::kCheckpointStateFilename) return true;
  const std::string meta = "." + meta_suffix;
  return !meta_suffix.empty() && target.size() > meta.size() && target.ends_with(meta);
}

// A sharded save's temp directory: "<prefix basename>_temp_<32 lowercase hex>" (kiln's and TF's).
bool is_sharded_temp_dir_name(std::string_view name) {
  size_t t = name.rfind("_temp_");
  return t != std::string_view::npos && t > 0 && is_lower_hex32(name.substr(t + 6));
}

// Removes, best effort, what a save killed half way leaves in `dir`: temporary bundle files,
// temporary state/meta files, and sharded temp directories with the shard files in them (only
// entries named "part-..." as the sharded writer names them; a directory holding anything else
// is kept). Nothing else is touched: committed checkpoints, and data files without an index
// (a merge killed between its data renames and its index rename) stay, because the name of such
// a data file cannot be told apart from one whose index is being written right now.
// Errors are swallowed: a leftover that cannot be removed must not fail the save.
void remove_save_leftovers(io::FileSystem* fs, const std::string& dir,
                           const std::string& latest_filename, const std::string& meta_suffix) {
  std::vector<std::string> names;
  try {
    names = fs->list_dir(dir);
  } catch (const Error&) {
    return;
  }
  for (const std::string& name : names) {
    const std::string path = io::join_path(dir, name);
    try {
      if (is_bundle_temp_name(name) || is_atomic_temp_name(name, latest_filename, meta_suffix)) {
        fs->delete_file(path);
      } else if (is_sharded_temp_dir_name(name)) {
        for (const std::string& f : fs->list_dir(path))  // throws for a plain file: kept
          if (f.rfind("part-", 0) == 0) fs->delete_file(io::join_path(path, f));
        fs->delete_dir(path);  // fails, and keeps it, when anything else is inside
      }
    } catch (const Error&) {
    }
  }
}

// Saves in flight in this process, any directory. The leftover sweep runs only when none is,
// under this mutex, so it never deletes the temporary files of another Saver of this process.
std::mutex& saves_mutex() {
  static std::mutex mu;
  return mu;
}
int saves_in_flight = 0;  // guarded by saves_mutex()

const char kMissingKeyHelp[] =
    "Restoring from checkpoint failed. This is most likely due to a Variable name or other graph "
    "key that is missing from the checkpoint. Please ensure that you have not altered the graph "
    "expected based on the checkpoint. Original error:\n\n";
const char kMismatchHelp[] =
    "Restoring from checkpoint failed. This is most likely due to a mismatch between the current "
    "graph and the graph from the checkpoint. Please ensure that you have not altered the graph "
    "expected based on the checkpoint. Original error:\n\n";

}  // namespace

std::vector<std::pair<std::string, Variable>> VarList::named() const {
  std::vector<std::pair<std::string, Variable>> out;
  for (const auto& v : list_) out.emplace_back(v.name(), v);
  for (const auto& [name, v] : map_) out.emplace_back(name, v);
  return out;
}

Saver::Saver(Graph& graph, SaverOptions options)
    : graph_(&graph), options_(std::move(options)),
      fs_(options_.fs ? options_.fs : io::posix_file_system()) {
  if (options_.defer_build && options_.var_list.is_set())
    throw InvalidArgumentError(
        "If `var_list` is provided then build cannot be deferred. Either set defer_build=False "
        "or var_list=None.");
  if (options_.write_version != 1 && options_.write_version != 2)
    throw InvalidArgumentError("write_version must be 1 (V1) or 2 (V2), got " +
                               std::to_string(options_.write_version));
  if (options_.write_version == 1)
    std::cerr << "kiln: Saver write_version=V1 requested; kiln writes V2 checkpoints (TF "
                 "deprecated V1), which TF 1.x and 2.x restore\n";
  if (!options_.defer_build) build();
}

double Saver::now() const {
  if (options_.clock) return options_.clock();
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The Variable for a variable node: its record in the `variables` collection when there is
// one, else a bare record (a graph imported without collections).
Variable Saver::variable_for(Node* node) const {
  for (const VariableRecord& r : graph_->variables())
    if (r.variable == node) return Variable(r);
  VariableRecord bare;
  bare.variable = node;
  return Variable(bare);
}

void Saver::build() {
  if (built_) return;
  std::vector<std::pair<std::string, Variable>> named;
  if (options_.saver_def) {
    if (options_.var_list.is_set())
      throw InvalidArgumentError("A Saver takes either a saver_def or a var_list, not both");
    const SaverDefInfo& def = *options_.saver_def;
    io::SaverGraphNames names{def.filename_tensor_name, def.save_tensor_name, def.restore_op_name};
    for (const auto& [key, node] : io::saver_variables(*graph_, names))
      named.emplace_back(key, variable_for(node));
    options_.max_to_keep = def.max_to_keep;
    options_.sharded = def.sharded;
    options_.keep_checkpoint_every_n_hours = def.keep_checkpoint_every_n_hours;
  } else if (options_.var_list.is_set()) {
    named = options_.var_list.named();
  } else {
    for (const Variable& v : global_variables(*graph_)) named.emplace_back(v.name(), v);
  }
  std::sort(named.begin(), named.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 1; i < named.size(); ++i)
    if (named[i].first == named[i - 1].first)
      throw InvalidArgumentError("At least two variables have the same name: " + named[i].first);
  if (named.empty() && !options_.allow_empty && !options_.saver_def)
    throw InvalidArgumentError("No variables to save");
  vars_ = std::move(named);
  empty_ = vars_.empty();
  temp_suffix_ = "_temp_" + random_hex32();
  if (options_.saver_def) {
    saver_def_ = options_.saver_def;
  } else if (!empty_) {
    io::SaverGraphNames names =
        io::build_saver_graph(*graph_, options_.name.empty() ? "save" : options_.name, vars_,
                              options_.sharded, options_.reshape, options_.filename, temp_suffix_);
    SaverDefInfo def;
    def.filename_tensor_name = names.filename_tensor_name;
    def.save_tensor_name = names.save_tensor_name;
    def.restore_op_name = names.restore_op_name;
    def.max_to_keep = options_.max_to_keep;
    def.sharded = options_.sharded;
    def.keep_checkpoint_every_n_hours = options_.keep_checkpoint_every_n_hours;
    def.version = 2;
    saver_def_ = def;
  }
  next_checkpoint_time_ = now() + options_.keep_checkpoint_every_n_hours * 3600.0;
  built_ = true;
}

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

std::optional<Saver::PendingSave> Saver::prepare_save(Session& sess, const std::string& save_path,
                                                      const SaveOptions& options, bool async) {
  if (!built_)
    throw FailedPreconditionError("`build()` should be called before save if defer_build==True");
  PendingSave p;
  p.options = options;
  p.latest_filename =
      options.latest_filename.empty() ? io::kCheckpointStateFilename : options.latest_filename;
  if (p.latest_filename.find('/') != std::string::npos)
    throw InvalidArgumentError("'latest_filename' must not contain path components");

  p.checkpoint_file = save_path;
  if (options.global_step) {
    char buf[32];
    std::snprintf(buf, sizeof buf, options_.pad_step_number ? "-%08" PRId64 : "-%" PRId64,
                  options.global_step->evaluate(sess));
    p.checkpoint_file += buf;
  } else if (basename_of(save_path) == p.latest_filename && !options_.sharded) {
    throw InvalidArgumentError("'latest_filename' collides with 'save_path': '" +
                               p.latest_filename + "' and '" + save_path + "'");
  }
  if (empty_) return std::nullopt;

  p.save_dir = io::dirname(save_path);
  if (!fs_->exists(p.save_dir))
    throw NotFoundError("Parent directory of " + save_path + " doesn't exist, can't save.");

  // The snapshot: each variable's current buffer. Updates never write into a buffer someone
  // else holds (copy on write), so these values stay as they are while the files are written.
  for (const auto& [name, var] : vars_) {
    SnapshotTensor t{name, sess.variable_value(var.name()), sess.device_for(var.op().node).spec()};
    if (async && !t.value.on_host()) {
      // Hand the GPU buffer back to training: copy it to spare device memory if there is
      // room, else to pinned host memory (then training keeps updating in place).
      Tensor copy;
      if (options_.io.snapshot_on_device) {
        try {
          copy = t.value.copy_to(t.value.allocator(), t.value.device());
        } catch (const ResourceExhaustedError&) {
        }
      }
      if (!copy.valid()) copy = t.value.copy_to(pinned_host_allocator(), DeviceSpec::cpu(0));
      t.value = std::move(copy);
    }
    p.snapshot.tensors.push_back(std::move(t));
  }
  if (options.write_meta_graph)
    p.meta_graph = meta_graph_to_string(*graph_, {}, saver_def_ ? &*saver_def_ : nullptr);
  return p;
}

std::string Saver::commit_save(PendingSave& p) {
  const std::string& save_dir = p.save_dir;
  const std::string& latest_filename = p.latest_filename;
  const std::string& checkpoint_file = p.checkpoint_file;
  const SaveOptions& options = p.options;

  // Sweep leftovers of crashed saves only when no other save is in flight, in this process (the
  // count) or in another one (the directory lock, held shared by every save until it returns),
  // so that no live temporary file is deleted; then count this save as in flight.
  io::DirectoryLock dir_lock(fs_, save_dir);
  {
    std::lock_guard<std::mutex> lock(saves_mutex());
    if (saves_in_flight == 0 && dir_lock.try_lock_exclusive())
      remove_save_leftovers(fs_, save_dir, latest_filename, options.meta_graph_suffix);
    ++saves_in_flight;
  }
  struct InFlight {
    ~InFlight() {
      std::lock_guard<std::mutex> lock(saves_mutex());
      --saves_in_flight;
    }
  } in_flight;
  dir_lock.lock_shared();  // (releases the exclusive hold of the sweep first)

  write_checkpoint(p.snapshot, checkpoint_file);
  p.snapshot.tensors.clear();  // the snapshot's memory goes back as soon as it is written

  if (options.write_state) {
    // Read-modify-write of the state file and retention under DIR/<latest_filename>.lock, so
    // that savers of other processes (or threads) sharing the state file take turns.
    io::FileLock state_lock(fs_, io::join_path(save_dir, latest_filename + ".lock"));
    // Checkpoints of the history that another saver's retention deleted are forgotten, so the
    // state file never lists a missing checkpoint.
    std::erase_if(last_checkpoints_,
                  [&](const auto& e) { return !io::checkpoint_exists(e.first, fs_); });
    if (options_.recover_state && !state_recovered_) {
      state_recovered_ = true;
      if (auto state = get_checkpoint_state(save_dir, latest_filename, fs_)) {
        // Only checkpoints directly inside the save directory are adopted (so retention never
        // deletes through a state file that names paths elsewhere: absolute or "../").
        std::vector<std::string> old;
        for (const auto& path : state->all_model_checkpoint_paths)
          if (path != checkpoint_file && in_directory(path, save_dir)) old.push_back(path);
        recover_history(old);
      }
    }
    record_checkpoint(checkpoint_file);
    try {
      io::update_checkpoint_state(save_dir, checkpoint_file, history_paths(), latest_filename,
                                  options_.save_relative_paths, fs_, options_.io.sync);
    } catch (...) {
      pending_delete_.reset();  // never delete unless the new state is durable (TF forgets it)
      throw;
    }
    retry_failed_deletions(checkpoint_file);
    maybe_delete_old_checkpoint();
  }
  if (p.meta_graph)
    io::write_file_atomically(fs_, meta_graph_filename(checkpoint_file, options.meta_graph_suffix),
                              *p.meta_graph, options_.io.sync);
  return checkpoint_file;
}

std::string Saver::save(Session& sess, const std::string& save_path, const SaveOptions& options) {
  finish_in_flight(/*rethrow_unseen=*/true);
  std::optional<PendingSave> pending = prepare_save(sess, save_path, options, /*async=*/false);
  if (!pending) return "";
  return commit_save(*pending);
}

void Saver::export_meta_graph(const std::string& filename,
                              const MetaGraphExportOptions& options) const {
  MetaGraphExportOptions o = options;
  if (!o.fs) o.fs = fs_;
  kiln::export_meta_graph(*graph_, filename, o, saver_def_ ? &*saver_def_ : nullptr);
}

int64_t GlobalStep::evaluate(Session& sess) const {
  if (step_) return *step_;
  Output t = name_.empty() ? tensor_ : sess.graph().get_tensor_by_name(name_);
  Tensor v = sess.run(t).to_host();
  if (v.num_elements() != 1 || (v.dtype() != DType::kInt64 && v.dtype() != DType::kInt32))
    throw InvalidArgumentError("global_step " + t.name() + " must be an int32 or int64 scalar, got " +
                               dtype_name(v.dtype()) + " " + v.shape().to_string());
  return v.dtype() == DType::kInt64 ? *v.data<int64_t>() : *v.data<int32_t>();
}

void Saver::record_checkpoint(const std::string& path) {
  if (options_.max_to_keep <= 0) return;
  std::erase_if(last_checkpoints_, [&](const auto& e) { return e.first == path; });
  last_checkpoints_.emplace_back(path, now());
  if (static_cast<int>(last_checkpoints_.size()) > options_.max_to_keep) {
    pending_delete_ = last_checkpoints_.front();
    last_checkpoints_.erase(last_checkpoints_.begin());
  }
}

void Saver::maybe_delete_old_checkpoint() {
  if (!pending_delete_) return;
  auto [path, time] = *pending_delete_;
  pending_delete_.reset();
  const double n_hours = options_.keep_checkpoint_every_n_hours;
  if (n_hours > 0 && time > next_checkpoint_time_) {
    next_checkpoint_time_ += n_hours * 3600.0;
    return;  // preserved forever
  }
  if (!delete_checkpoint_files(fs_, path)) undeleted_.push_back(path);
}

void Saver::retry_failed_deletions(const std::string& saved) {
  std::vector<std::string> still;
  for (const std::string& p : undeleted_) {
    bool live = p == saved;  // saved again under the same name: no longer dropped
    for (const auto& e : last_checkpoints_) live = live || e.first == p;
    if (!live && !delete_checkpoint_files(fs_, p)) still.push_back(p);
  }
  undeleted_ = std::move(still);
}

void Saver::restore(Session& sess, const std::string& save_path) {
  if (empty_) return;
  if (!built_)
    throw FailedPreconditionError(
        "`build()` should be called before restore if defer_build==True");
  if (save_path.empty()) throw InvalidArgumentError("Can't load save_path when it is None.");
  if (!io::checkpoint_exists(save_path, fs_))
    throw InvalidArgumentError("The passed save_path is not a valid checkpoint: " + save_path);

  io::CheckpointReader reader(save_path, fs_);
  // Check every variable before assigning any.
  for (const auto& [name, var] : vars_) {
    if (!reader.has_tensor(name))
      throw NotFoundError(std::string(kMissingKeyHelp) + "Key " + name +
                          " not found in checkpoint");
    DType stored = reader.dtype(name);
    if (stored != var.dtype())
      throw InvalidArgumentError(std::string(kMismatchHelp) + "tensor_name = " + name +
                                 "; expected dtype " + dtype_name(var.dtype()) +
                                 " does not equal original dtype " + dtype_name(stored));
    Shape stored_shape = reader.shape(name);
    Shape shape = var.shape();
    bool same = shape.compatible_with(stored_shape);
    bool reshapeable = options_.reshape && !shape.unknown_rank() && shape.fully_defined() &&
                       shape.num_elements() == stored_shape.num_elements();
    if (!same && !reshapeable)
      throw InvalidArgumentError(std::string(kMismatchHelp) +
                                 "Assign requires shapes of both tensors to match. lhs shape= " +
                                 shape.to_string() + " rhs shape= " + stored_shape.to_string() +
                                 " (variable " + var.name() + ", checkpoint key " + name + ")");
  }
  // Each device's variables are read on a thread of their own (every device's data is read
  // concurrently), straight into memory of the variable's device, each handed to the session as
  // soon as it is read and checked (its old value freed then). CPU variables: by
  // `io.restore_threads` threads sharing the tensors and splitting large ones
  // (CheckpointReader::read_each), so the extra memory is at most that many variables. GPU
  // variables: one at a time through the Saver's pinned staging buffers, so a restore onto a
  // GPU never holds the checkpoint in host memory (extra: one variable and the staging buffers).
  struct Item {
    std::string name;
    const Variable* var;
  };
  std::map<DeviceSpec, std::vector<Item>> by_device;
  std::map<DeviceSpec, Device*> devices;
  for (const auto& [name, var] : vars_) {
    Device& d = sess.device_for(var.op().node);
    by_device[d.spec()].push_back({name, &var});
    devices[d.spec()] = &d;
  }
  const int read_threads = options_.restore_sequentially ? 1
                      : options_.io.restore_threads > 0 ? options_.io.restore_threads
                                                        : io::default_read_threads();
  std::mutex session_mu;  // the session is told about one variable at a time
  auto adopt = [&](const Variable& var, Tensor value) {
    Shape shape = var.shape();
    if (shape.fully_defined() && !(value.shape() == shape)) value = value.reshaped(shape);
    std::lock_guard<std::mutex> lock(session_mu);
    sess.adopt_variable_value(var.name(), std::move(value));
  };
  auto restore_device = [&](const DeviceSpec& spec, const std::vector<Item>& items) {
    Device* device = devices.at(spec);  // at(): safe from several threads, operator[] is not
    try {
      if (device->allocator()->kind() != MemoryKind::kGpu) {
        std::vector<std::string> names;
        for (const Item& item : items) names.push_back(item.name);
        reader.read_each(names, read_threads,
                         [&](size_t i, Tensor&& value) { adopt(*items[i].var, std::move(value)); },
                         device->allocator(), device->spec());
        return;
      }
      for (const Item& item : items) {
        Tensor value;
        if (reader.dtype(item.name) != DType::kString) {
          {
            std::lock_guard<std::mutex> lock(session_mu);
            value = Tensor(reader.dtype(item.name), reader.shape(item.name), device->allocator(),
                           device->spec());
          }
          reader.read_into(item.name, value, staging_pool(spec.to_string()));
        } else {
          value = reader.get_tensor(item.name);
        }
        adopt(*item.var, std::move(value));
      }
    } catch (const NotFoundError& e) {
      throw NotFoundError(std::string(kMissingKeyHelp) + e.what());
    }
  };
  if (by_device.size() == 1 || !reader.is_v2()) {  // (the V1 reader is read by one thread)
    for (const auto& [spec, items] : by_device) restore_device(spec, items);
    return;
  }
  std::vector<std::exception_ptr> errors(by_device.size());
  std::vector<std::thread> threads;
  size_t i = 0;
  for (const auto& [spec, items] : by_device) {
    threads.emplace_back([&, i, spec_ptr = &spec, items_ptr = &items] {
      try {
        restore_device(*spec_ptr, *items_ptr);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    });
    ++i;
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

std::vector<std::string> Saver::last_checkpoints() const {
  const_cast<Saver*>(this)->finish_in_flight(/*rethrow_unseen=*/false);
  return history_paths();
}

std::vector<std::string> Saver::history_paths() const {
  std::vector<std::string> out;
  for (const auto& e : last_checkpoints_) out.push_back(e.first);
  return out;
}

void Saver::set_last_checkpoints(const std::vector<std::string>& paths) {
  finish_in_flight(/*rethrow_unseen=*/false);
  last_checkpoints_.clear();
  for (const auto& p : paths)
    last_checkpoints_.emplace_back(p, std::numeric_limits<double>::infinity());
}

void Saver::set_last_checkpoints_with_time(
    const std::vector<std::pair<std::string, double>>& entries) {
  finish_in_flight(/*rethrow_unseen=*/false);
  last_checkpoints_ = entries;
}

void Saver::recover_last_checkpoints(const std::vector<std::string>& paths) {
  finish_in_flight(/*rethrow_unseen=*/false);
  recover_history(paths);
}

void Saver::recover_history(const std::vector<std::string>& paths) {
  std::vector<std::pair<std::string, double>> entries;
  for (const auto& p : paths) {
    if (!io::checkpoint_exists(p, fs_)) continue;
    auto t = checkpoint_mtime(p);
    entries.emplace_back(p, t ? *t : now());
  }
  last_checkpoints_ = std::move(entries);
}

}  // namespace kiln

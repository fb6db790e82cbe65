#include "io/saver.h"

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
#include <thread>

#include "core/errors.h"
#include "core/pinned_pool.h"
#include "io/checkpoint_state.h"
#include "io/meta_graph.h"
#include "io/saver_files.h"
#include "io/saver_graph.h"

namespace kiln {

using io::basename_of;
using io::checkpoint_mtime;
using io::delete_checkpoint_files;
using io::in_directory;
using io::remove_save_leftovers;

namespace {

std::string random_hex32() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd() ^
                      static_cast<uint64_t>(
                          std::chrono::steady_clock::now().time_since_epoch().count()));
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016" PRIx64 "%016" PRIx64, gen(), gen());
  return buf;
}

// Saves in flight in this process, any directory. The leftover sweep runs only when none is,
// under this mutex, so it never deletes the temporary files of another Saver of this process.
std::mutex& saves_mutex() {
  static std::mutex mu;
  return mu;
}
int saves_in_flight = 0;  // guarded by saves_mutex()

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

// kiln::Saver: TF1's tf.train.Saver. Saves a graph's variables to a V2 checkpoint with TF's file
// names, maintains the `checkpoint` state file and deletes old checkpoints as TF does; restores V2
// and V1 checkpoints (shared/reference/tf-checkpoint-format.md §2-§3).
//
//   kiln::Saver saver(g);                                         // all global variables
//   std::string p = saver.save(sess, "save/model.ckpt");          // -> "save/model.ckpt"
//   saver.save(sess, "save/my_test_model", {.global_step = 1000}); // -> "save/my_test_model-1000"
//   saver.restore(sess2, p);
//
// Files of save(sess, P, {.global_step = S}): P-S.index, P-S.data-00000-of-00001 (with
// sharded=true one data file per device: P-S.data-0000i-of-0000N) and DIR/checkpoint (the state
// file, DIR = dirname(P)), written atomically after the bundle is durable. Old checkpoints are
// deleted only after that (§3.4: max_to_keep, keep_checkpoint_every_n_hours; 0 or negative
// max_to_keep keeps all and records no history).
//
// Sharded saves group the variables by the device they live on in the session (sorted by
// device), write each group on its own thread to P_temp_<32 hex>/part-0000i-of-0000N, then merge
// them (io::merge_bundles renames the data files, no byte copied) and remove the temp directory.
// A failure at any step leaves neither the temp directory nor data files without an index.
//
// Commit protocol (what makes a save crash-consistent; issue 6). In order, for save(sess, P, S):
//   0. Leftover sweep: entries of DIR that a save killed half way leaves behind are deleted
//      first (best effort, errors ignored), matched by their exact temporary names only:
//        <name>.index.tempstate<digits>, <name>.data-NNNNN-of-NNNNN.tempstate<digits>
//            (BundleWriter's and merge_bundles' temporary files),
//        <latest_filename>.tmp<digits>, checkpoint.tmp<digits>, <name>.<meta suffix>.tmp<digits>
//            (io::write_file_atomically's temporary files of the state file and the .meta),
//        <name>_temp_<32 lowercase hex>/ (a sharded save's temp directory, TF's naming too):
//            its "part-*" entries, then the directory; a directory holding anything else stays.
//        <name>.data-NNNNN-of-NNNNN without <name>.index, once its status-change time (the
//            rename that put it in place) is 10 minutes old: an orphan of a merge killed between
//            its data and index renames, or of a deletion killed after the index went. The age
//            spares a writer that does not take kiln's lock (TensorFlow renames data before
//            index); where the file system keeps no change time it stays.
//      Nothing else is ever deleted by the sweep: not a committed checkpoint, even one no state
//      file lists (a keep_checkpoint_every_n_hours one, or a save with write_state=false, looks
//      the same as one whose retention was killed before its deletion).
//      The sweep runs only when no other save is in flight in DIR: none in this process (a
//      process-wide count under a mutex; the sweep itself holds the mutex) and none in another
//      process: every save holds a shared advisory lock on DIR itself (io::DirectoryLock:
//      flock(2) on the directory, no file created) from its start until it returns, and the
//      sweep runs only if it gets that lock exclusively without waiting (else it is skipped;
//      a later save sweeps). The kernel drops a killed process's flock, so a crashed save's
//      leftovers are swept by the next save, while a live save's temporary files never are.
//   1. Data files and the index are written under temporary names (P.data-*.tempstate<N>,
//      P.index.tempstate<N>; sharded: one bundle per device in P_temp_<32 hex>/part-*), each
//      fsync'ed before it is renamed.
//   2. Renames: every data file first, the index last (sharded: merge_bundles renames the part
//      data files to P.data-0000i-of-0000N, then writes the merged index under a temporary name,
//      fsyncs and renames it). Then DIR is fsync'ed. A reader that finds P.index finds its data.
//      A failure at any step deletes what it wrote (or renames it back): no index without data,
//      no data file without its index, no temp directory.
//   3. The state file DIR/<latest_filename> is replaced atomically (temporary file, fsync,
//      rename, fsync DIR): it names the new checkpoint only once that checkpoint is durable, and
//      is never torn.
//   4. Only then is the checkpoint that retention (max_to_keep, keep_checkpoint_every_n_hours)
//      drops deleted; if step 3 failed, nothing is deleted. Deletion removes P.index first and
//      stops if that fails (the dropped checkpoint stays complete); a dropped checkpoint whose
//      files could not all be deleted is retried after the next committed state file.
//      (tests/io/saver_fault_sweep_test.cc fails every call of every kind of a whole save.)
//   5. P.meta is written atomically (temporary file, fsync, rename).
// So a process killed at any moment leaves the previous state file valid and every checkpoint it
// lists complete (tests/io/kill_saver_child.cc + scripts/kill_test.sh, CTest kiln_kill_test).
// A kill between steps 3 and 4 leaves the dropped checkpoint on disk, unlisted (a leak, not a
// loss); recover_state does not find it, since the state file no longer lists it.
//
// Concurrency (several processes or threads saving into one directory). Two locks, both
// advisory, so they protect only against kiln Savers (any other writer into DIR, a BundleWriter
// or `kiln convert`, must not write there while a Saver saves):
//   - the directory lock above (shared for a save, exclusive for the sweep): no sweep deletes
//     another save's in-flight temporary files;
//   - DIR/<latest_filename>.lock, an exclusive io::FileLock held around steps 3 and 4 (reading
//     the state file for recover_state, writing it, retention's deletions): on the POSIX file
//     system flock(2) on that file, which is created empty and never deleted; with any other
//     FileSystem (MemFileSystem, a FaultInjectingFileSystem over anything) a process-wide mutex
//     per path, no file. Under it, checkpoints of this Saver's history whose files are gone
//     (deleted by another saver's retention) are dropped from the history first, so the state
//     file written never lists a missing checkpoint. The state file itself is replaced
//     atomically, so it is never torn either way, and readers need no lock.
// What is not merged: as in TF, each Saver writes its own history into the state file, so with
// two savers sharing one state file the last writer's list wins (the other's checkpoints stay on
// disk, unlisted, until a recover_state Saver adopts and retires them). Savers sharing a
// directory should use distinct checkpoint prefixes (two saves of the same prefix and step
// overwrite each other). flock is not reliable on some network file systems; where the
// directory cannot be opened the directory lock is in-process only.
// Tests: SaverTwoProcesses.TwoProcessesSaveIntoOneDirectory (two processes, 25 saves each, the
// state file checked under its lock throughout; fails when either lock is removed: checked),
// SaverTwoProcesses.TwoThreadsSaveIntoOneDirectory, SaverLeftovers.*.
//
// Graph: build() adds TF's save/restore subgraph under the name scope `name` ("save", "save_1"
// for a second Saver...; io/saver_graph.h) and records its SaverDef (saver_def()), so that
// export_meta_graph, and save() with write_meta_graph (the default, as TF), write a .meta that
// TensorFlow's import_meta_graph restores with. kiln itself saves and restores natively. A Saver
// made from a SaverDef (import_meta_graph) adds nothing and saves the variables that SaverDef's
// restore op assigns, under the same checkpoint keys.
//
// save() also writes P.meta (meta_graph_suffix) unless write_meta_graph is false; global_step may
// be an integer, a tensor, a variable or a tensor name, evaluated in the session.
//
// Errors (kiln typed exceptions with TF's messages):
//   save before build() with defer_build    FailedPreconditionError "`build()` should be called
//                                            before save if defer_build==True"
//   no variables, allow_empty false         InvalidArgumentError "No variables to save"
//   two variables with one checkpoint name  InvalidArgumentError "At least two variables have
//                                            the same name: X"
//   latest_filename with a '/'              InvalidArgumentError "'latest_filename' must not
//                                            contain path components"
//   latest_filename == basename(save_path)  InvalidArgumentError "'latest_filename' collides with
//   (no step, not sharded)                   'save_path': 'checkpoint' and '.../checkpoint'"
//   missing parent directory on save        NotFoundError "Parent directory of P doesn't exist,
//                                            can't save."
//   restore from a non-checkpoint path      InvalidArgumentError "The passed save_path is not a
//                                            valid checkpoint: P"
//   a variable missing from the checkpoint  NotFoundError "Restoring from checkpoint failed. This
//                                            is most likely due to a Variable name or other graph
//                                            key that is missing ... Key v3 not found in
//                                            checkpoint"
//   shape / dtype mismatch                  InvalidArgumentError "Restoring from checkpoint
//                                            failed. This is most likely due to a mismatch ...
//                                            Assign requires shapes of both tensors to match.
//                                            lhs shape= [1,2] rhs shape= [2,3] ..." / "... expected
//                                            dtype float32 does not equal original dtype ..."
// restore() checks every variable (presence, dtype, shape) before it assigns any, so such a
// mismatch leaves the session's values untouched. Damage found while reading (a checksum, a
// truncated data file: DataLossError) can stop a restore after some variables were assigned
// (each variable is read and checked in full before it is assigned, never half).
//
// Streaming (issue 5; SaverOptions::io, CheckpointIoOptions): a save writes each device's
// variables on a thread of its own (sharded: one data file per device, or shards_per_device
// files per device), CPU tensors straight from their memory with their crc32c computed on a
// helper thread beside the write, GPU tensors through the Saver's pinned staging buffers
// (io/device_staging.h), so the host memory a save or restore of GPU state needs is the staging
// pool plus the index, whatever the model size. A restore reads every device's variables
// concurrently, straight into the variable's device memory.
//
// Asynchronous saves: save_async() (below) returns once the snapshot is taken; SaveHandle::wait()
// returns the path or rethrows. The commit protocol above is unchanged: the state file names the
// checkpoint only after its files are durable.
//
// Not thread-safe: one thread uses a Saver at a time (a save_async in flight runs on the
// Saver's own background thread; every call that touches the history waits for it).
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/graph.h"
#include "core/pinned_pool.h"
#include "core/session.h"
#include "io/checkpoint_management.h"
#include "io/file.h"
#include "ops/variables.h"

namespace kiln {

// What a Saver saves: unset (all global variables of the graph), a list of variables (each keyed
// by its op name, "v1"), or a map from checkpoint name to variable (renaming).
class VarList {
 public:
  VarList() = default;
  VarList(std::initializer_list<Variable> vars) : list_(vars), set_(true) {}
  VarList(std::vector<Variable> vars) : list_(std::move(vars)), set_(true) {}
  VarList(std::map<std::string, Variable> vars) : map_(std::move(vars)), set_(true) {}

  bool is_set() const { return set_; }
  // (checkpoint name, variable) pairs in the order given (list) or by name (map).
  std::vector<std::pair<std::string, Variable>> named() const;

 private:
  std::vector<Variable> list_;
  std::map<std::string, Variable> map_;
  bool set_ = false;
};

// TF's SaverDef: where a graph's save/restore subgraph is (tensor and op names) and the
// Saver's settings. Saver builds one with its graph nodes; import_meta_graph reads one.
struct SaverDefInfo {
  std::string filename_tensor_name;  // "save/Const:0": feed the checkpoint prefix here
  std::string save_tensor_name;      // "save/control_dependency:0": fetch to save
  std::string restore_op_name;       // "save/restore_all": run to restore
  int max_to_keep = 5;
  bool sharded = false;
  double keep_checkpoint_every_n_hours = 10000.0;
  int version = 2;  // CheckpointFormatVersion: 1 = V1, 2 = V2 (kiln always writes V2)
};

// What save() numbers a checkpoint with: an integer, or a step tensor/variable/tensor name
// evaluated in the session (int32 or int64 scalar), as TF's training_util.global_step.
class GlobalStep {
 public:
  template <typename I>
    requires std::is_integral_v<I>
  GlobalStep(I step) : step_(static_cast<int64_t>(step)) {}
  GlobalStep(Output tensor) : tensor_(tensor) {}
  GlobalStep(const Variable& variable) : tensor_(variable.ref()) {}
  GlobalStep(std::string tensor_name) : name_(std::move(tensor_name)) {}
  GlobalStep(const char* tensor_name) : name_(tensor_name) {}

  // The step; InvalidArgumentError when the tensor is not an integer scalar.
  int64_t evaluate(Session& sess) const;

 private:
  std::optional<int64_t> step_;
  Output tensor_;
  std::string name_;
};

// How a Saver moves checkpoint bytes (kiln extension; issue 5, io/device_staging.h).
struct CheckpointIoOptions {
  // Pinned staging buffers GPU tensors are copied through, per device writer (and per device
  // when restoring): staging_buffers x staging_buffer_bytes, made on the first GPU save/restore
  // and kept by the Saver. Host memory a save or restore of GPU state needs beyond the index is
  // this, whatever the model size. CPU tensors need none: they are written from their memory.
  size_t staging_buffer_bytes = size_t{64} << 20;
  int staging_buffers = 2;
  // Data files (and writer threads) per device, for storage that needs parallel writes: each
  // device's tensors are split into this many groups of about equal bytes. With 1 and
  // sharded=false the checkpoint has one data file, as TF's. The index stays one merged file.
  int shards_per_device = 1;
  // fsync the data files, index, .meta, state file and directory (each before the next step of
  // the commit protocol). false skips every fsync: faster, the protocol's order is kept, so a
  // killed process still loses nothing and readers never see a torn file, but after a machine
  // crash (power loss) the newest checkpoints may be missing or incomplete.
  bool sync = true;
  // Threads a restore reads CPU variables with (they share the tensors and split large ones,
  // io/parallel_read.h); the extra host memory a restore needs is at most this many variables.
  // 0: the hardware's threads, at most 8. restore_sequentially=true means 1.
  int restore_threads = 0;
  // Write data files with O_DIRECT where the file system allows it, else the ordinary way.
  bool direct_io = false;
  // save_async: snapshot GPU variables into spare device memory (a device-to-device copy) when
  // the device can allocate it, else into pinned host memory; false: always pinned host memory
  // (leaves training all of the GPU memory).
  bool snapshot_on_device = true;
};

struct SaverOptions {
  VarList var_list = {};
  // Restore a tensor whose shape differs from the variable's when the element counts agree.
  bool reshape = false;
  // One data file per device, written concurrently.
  bool sharded = false;
  int max_to_keep = 5;
  double keep_checkpoint_every_n_hours = 10000.0;
  // TF's name scope for the saver's ops; kept for the SaverDef (MetaGraph export).
  std::string name = "save";
  // Restore one variable at a time: each tensor is read, placed and the next one read only after
  // it, so the memory beyond the variables peaks at the largest variable (tested). Without it
  // kiln still places each variable as soon as it is read, but reads io.restore_threads of them
  // at once (TF instead reads every tensor before assigning any).
  bool restore_sequentially = false;
  // Collect the variables on build() instead of in the constructor (var_list must be unset).
  bool defer_build = false;
  bool allow_empty = false;
  // Step numbers padded to 8 digits: model-00001000.
  bool pad_step_number = false;
  // Paths in the `checkpoint` file relative to its directory.
  bool save_relative_paths = false;
  // TF's default filename tensor value ("model" when empty); kept for the SaverDef.
  std::string filename = "";
  // TF's write_version: kiln writes V2 (TF deprecated V1 writing); 1 is accepted and writes V2
  // too, with a warning. Restores read V2 and V1 whatever this says.
  int write_version = 2;
  // kiln extension: on the first save with write_state, take the checkpoints listed in an
  // existing state file of that directory as history (recover_last_checkpoints), so a restarted
  // job keeps deleting its old checkpoints. Only checkpoints directly inside the save directory
  // (lexically) are taken: a state file naming "/elsewhere/x" or "../x" is never deleted through.
  // (Reading follows such paths as TF does: io/checkpoint_state.h.)
  bool recover_state = false;
  // An existing save/restore subgraph to use instead of building one (import_meta_graph sets
  // it): the variables are the ones its restore op assigns, keyed as in the checkpoint, and
  // max_to_keep, keep_checkpoint_every_n_hours and sharded come from it. var_list must be unset.
  std::optional<SaverDefInfo> saver_def = std::nullopt;
  // File system (null: POSIX) and clock (seconds since the epoch; null: wall clock), for tests.
  io::FileSystem* fs = nullptr;
  std::function<double()> clock = nullptr;
  // Streaming engine settings (staging buffers, shards per device, sync, O_DIRECT, snapshots).
  CheckpointIoOptions io = {};
};

struct SaveOptions {
  std::optional<GlobalStep> global_step = std::nullopt;
  std::string latest_filename = "";  // "" means "checkpoint"
  // Writes the MetaGraphDef beside the checkpoint, as P.<meta_graph_suffix> (TF's default).
  std::string meta_graph_suffix = "meta";
  bool write_meta_graph = true;
  bool write_state = true;
};

// What export_meta_graph writes (TF's Saver.export_meta_graph arguments).
struct MetaGraphExportOptions {
  bool as_text = false;  // protobuf text format instead of binary
  bool clear_devices = false;
  // The collections to write; unset: every collection of the graph.
  std::optional<std::vector<std::string>> collection_list = std::nullopt;
  io::FileSystem* fs = nullptr;  // null: POSIX
};

// The result of Saver::save_async: the save running in the background.
class SaveHandle {
 public:
  SaveHandle() = default;
  // Blocks until the checkpoint is durable, the state file names it and retention has run;
  // returns its prefix ("" for an empty Saver) or rethrows the save's failure (every call).
  std::string wait() const;
  // True once the save has finished (successfully or not).
  bool done() const;
  bool valid() const { return state_ != nullptr; }

  struct State;

 private:
  friend class Saver;
  explicit SaveHandle(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

class Saver {
 public:
  explicit Saver(Graph& graph, SaverOptions options = {});
  // Waits for a save in flight; its failure, if nobody saw it through SaveHandle::wait(), is
  // printed to stderr.
  ~Saver();
  Saver(Saver&&) = default;  // the source's save in flight is finished first
  Saver& operator=(Saver&&) = default;

  // Collects the variables (once; later calls do nothing). Done by the constructor unless
  // defer_build.
  void build();

  // Saves and returns the checkpoint prefix (save_path, or save_path-STEP); "" for an empty
  // saver (allow_empty with no variables).
  std::string save(Session& sess, const std::string& save_path, const SaveOptions& options = {});
  // Asynchronous save (issue 5): takes a consistent snapshot of the variables and returns; the
  // files, the state file and retention are done on a background thread, and training may run
  // and change the variables meanwhile. The snapshot: a CPU variable's current buffer is kept
  // (variables are copy-on-write, so an update during the save writes a new buffer and the
  // saved one never changes, no copy is made unless the variable is updated); a GPU variable is
  // copied device-to-device into spare GPU memory, else (no room, or
  // io.snapshot_on_device = false) into pinned host memory. The global step is evaluated and
  // the MetaGraphDef serialized before it returns. The state file and retention are updated only
  // once the checkpoint is durable, exactly as save().
  // At most one save is in flight per Saver: save_async() and save() first wait for the one in
  // flight (as do last_checkpoints() and the set_/recover_ history calls). If that earlier save
  // failed and nobody called wait() on its handle, its error is thrown here (nothing new saved).
  SaveHandle save_async(Session& sess, const std::string& save_path,
                        const SaveOptions& options = {});
  // Waits for the save in flight, if any; rethrows its failure if no SaveHandle::wait() has
  // (the same rule as the next save).
  void wait_for_pending_save();
  // Restores every variable of the saver from the V2 or V1 checkpoint at `save_path`, copying
  // each value onto the variable's device. The variables need not be initialized.
  void restore(Session& sess, const std::string& save_path);

  // Writes the graph with this Saver's SaverDef and the graph's collections as a MetaGraphDef
  // (io/meta_graph.h) that TensorFlow's import_meta_graph reads.
  void export_meta_graph(const std::string& filename, const MetaGraphExportOptions& options = {}) const;
  // The SaverDef of the save/restore subgraph; nullopt for an empty Saver or before build().
  const std::optional<SaverDefInfo>& saver_def() const { return saver_def_; }

  // The checkpoints not yet deleted, oldest first.
  std::vector<std::string> last_checkpoints() const;
  // Replaces the history; these checkpoints are never deleted (timestamps +inf, as TF).
  void set_last_checkpoints(const std::vector<std::string>& paths);
  void set_last_checkpoints_with_time(const std::vector<std::pair<std::string, double>>& entries);
  // History from existing checkpoints with their files' modification times (missing ones are
  // skipped); these are deleted by retention like any other.
  void recover_last_checkpoints(const std::vector<std::string>& paths);

  const SaverOptions& options() const { return options_; }
  // (checkpoint name, variable) pairs, sorted by name. Empty before build().
  const std::vector<std::pair<std::string, Variable>>& variables() const { return vars_; }
  bool built() const { return built_; }

 private:
  double now() const;
  Variable variable_for(Node* node) const;
  void record_checkpoint(const std::string& path);
  void maybe_delete_old_checkpoint();
  void retry_failed_deletions(const std::string& saved);
  // A variable's value as saved: its buffer (host), or a copy (GPU, for save_async).
  struct SnapshotTensor {
    std::string name;  // checkpoint key
    Tensor value;
    DeviceSpec device;  // where the variable lives in the session
  };
  struct Snapshot {
    std::vector<SnapshotTensor> tensors;
  };
  // A save between its snapshot (caller's thread) and its files (commit_save).
  struct PendingSave {
    std::string checkpoint_file;
    std::string save_dir;
    std::string latest_filename;
    SaveOptions options;
    Snapshot snapshot;
    std::optional<std::string> meta_graph;  // serialized MetaGraphDef when write_meta_graph
  };
  std::optional<PendingSave> prepare_save(Session& sess, const std::string& save_path,
                                          const SaveOptions& options, bool async);
  std::string commit_save(PendingSave& pending);
  void write_checkpoint(const Snapshot& snapshot, const std::string& prefix);
  void write_group(const std::vector<const SnapshotTensor*>& tensors,
                   const std::string& prefix, PinnedBufferPool* staging);
  PinnedBufferPool* staging_pool(const std::string& key);
  // Finishes the save in flight; rethrows its failure when no handle has seen it.
  void finish_in_flight(bool rethrow_unseen);
  // The history without waiting for a save in flight (what the save itself uses).
  std::vector<std::string> history_paths() const;
  void recover_history(const std::vector<std::string>& paths);

  // Declared first: moving a Saver moves this first, which finishes the source's save in
  // flight before any member it uses is moved.
  struct AsyncSlot {
    std::thread thread;
    std::shared_ptr<SaveHandle::State> state;
    AsyncSlot() = default;
    AsyncSlot(AsyncSlot&& o) noexcept;
    AsyncSlot& operator=(AsyncSlot&& o) noexcept;
    ~AsyncSlot();
    void join() noexcept;
  };
  AsyncSlot async_;
  Graph* graph_;
  SaverOptions options_;
  io::FileSystem* fs_;
  bool built_ = false;
  bool empty_ = false;
  bool state_recovered_ = false;
  std::vector<std::pair<std::string, Variable>> vars_;
  std::optional<SaverDefInfo> saver_def_;
  std::vector<std::pair<std::string, double>> last_checkpoints_;
  std::optional<std::pair<std::string, double>> pending_delete_;
  // Dropped checkpoints whose deletion failed part way; retried after each committed state file.
  std::vector<std::string> undeleted_;
  double next_checkpoint_time_ = 0;
  std::string temp_suffix_;  // "_temp_<32 hex>"
  // Pinned staging pools for GPU tensors, by device (and writer); made on first use.
  std::shared_ptr<std::mutex> staging_mu_ = std::make_shared<std::mutex>();
  std::map<std::string, std::unique_ptr<PinnedBufferPool>> staging_;
};

}  // namespace kiln

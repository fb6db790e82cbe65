// The files of a Saver's checkpoints: names, deletion of dropped checkpoints, and the sweep of
// what killed saves leave behind (io/saver_files.h).
#include "io/saver_files.h"

#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string_view>

#include "core/errors.h"
#include "io/checkpoint_management.h"
#include "io/checkpoint_state.h"
#include "io/file.h"

namespace kiln::io {

std::string basename_of(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
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
  kiln::remove_checkpoint(prefix, fs);  // V2 (index first) or V1 files
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

namespace {

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

// "<P>.data-NNNNN-of-MMMMM" where "<P>.index" is not among `names` (sorted).
bool is_orphan_data_file_name(std::string_view name, const std::vector<std::string>& names) {
  constexpr std::string_view kIndex = ".index";
  if (name.ends_with(kIndex) || !is_bundle_file_name(name)) return false;
  const std::string index = std::string(name.substr(0, name.rfind(".data-"))) + ".index";
  return !std::binary_search(names.begin(), names.end(), index);
}

}  // namespace

// Removes, best effort, what a save killed half way leaves in `dir`: temporary bundle files,
// temporary state/meta files, sharded temp directories with the shard files in them (only
// entries named "part-..." as the sharded writer names them; a directory holding anything else
// is kept), and data files "<P>.data-NNNNN-of-MMMMM" without a "<P>.index" whose status-change
// time (the rename that put them in place) is at least `orphan_min_age_seconds` old: what a
// merge killed between its data renames and its index rename, or a deletion killed after the
// index went, leaves. The age is what tells such a file from one whose index is being written
// right now by a writer that does not take kiln's directory lock (TensorFlow renames data files
// before the index, milliseconds apart); where the file system keeps no such time, nothing is
// deleted. Committed checkpoints are never touched (not even ones no state file lists: a
// keep_checkpoint_every_n_hours checkpoint, or a save with write_state=false, looks the same).
// Errors are swallowed: a leftover that cannot be removed must not fail the save.
void remove_save_leftovers(io::FileSystem* fs, const std::string& dir,
                           const std::string& latest_filename, const std::string& meta_suffix,
                           double orphan_min_age_seconds) {
  std::vector<std::string> names;
  try {
    names = fs->list_dir(dir);
  } catch (const Error&) {
    return;
  }
  std::vector<std::string> sorted = names;  // list_dir sorts; a wrapper file system might not
  std::sort(sorted.begin(), sorted.end());
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (const std::string& name : names) {
    const std::string path = io::join_path(dir, name);
    try {
      if (is_bundle_temp_name(name) || is_atomic_temp_name(name, latest_filename, meta_suffix)) {
        fs->delete_file(path);
      } else if (is_orphan_data_file_name(name, sorted)) {
        const std::optional<double> changed = fs->status_change_time(path);
        if (changed && now - *changed >= orphan_min_age_seconds) fs->delete_file(path);
      } else if (is_sharded_temp_dir_name(name)) {
        for (const std::string& f : fs->list_dir(path))  // throws for a plain file: kept
          if (f.rfind("part-", 0) == 0) fs->delete_file(io::join_path(path, f));
        fs->delete_dir(path);  // fails, and keeps it, when anything else is inside
      }
    } catch (const Error&) {
    }
  }
}

}  // namespace kiln::io

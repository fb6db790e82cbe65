#include "io/checkpoint_files.h"

#include <fnmatch.h>

#include <algorithm>
#include <map>
#include <regex>

#include "core/errors.h"
#include "io/checkpoint_state.h"

namespace kiln::io {
namespace {

std::string basename_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool is_directory(FileSystem* fs, const std::string& path) {
  if (!fs->exists(path)) return false;
  try {
    fs->list_dir(path);
    return true;
  } catch (const Error&) {
    return false;
  }
}

bool has_glob(const std::string& s) { return s.find_first_of("?*[") != std::string::npos; }

std::vector<std::string> list_dir_or_empty(FileSystem* fs, const std::string& dir) {
  if (!is_directory(fs, dir)) return {};
  return fs->list_dir(dir);
}

std::vector<std::string> glob_files(FileSystem* fs, const std::string& pattern) {
  const std::string dir = dirname(pattern), base = basename_of(pattern);
  std::vector<std::string> out;
  for (const std::string& name : list_dir_or_empty(fs, dir))
    if (fnmatch(base.c_str(), name.c_str(), FNM_PATHNAME) == 0) out.push_back(join_path(dir, name));
  return out;  // list_dir is sorted
}

// P-00000-of-0000N ...: every shard of one N, or an error naming the first missing one.
std::vector<std::string> sharded_v1_files(FileSystem* fs, const std::string& prefix) {
  const std::string dir = dirname(prefix), base = basename_of(prefix);
  std::map<int, std::vector<std::string>> by_count;  // N -> files
  const std::regex shard_re("-(\\d{5})-of-(\\d{5})");
  for (const std::string& name : list_dir_or_empty(fs, dir)) {
    std::smatch m;
    if (name.size() != base.size() + 15 || name.compare(0, base.size(), base) != 0) continue;
    const std::string tail = name.substr(base.size());
    if (std::regex_match(tail, m, shard_re))
      by_count[std::stoi(m[2].str())].push_back(join_path(dir, name));
  }
  if (by_count.empty()) return {};
  if (by_count.size() > 1)
    throw InvalidArgumentError("Ambiguous V1 checkpoint " + prefix + ": shard files for " +
                               std::to_string(by_count.size()) +
                               " different shard counts; pass the pattern P-?\?\?\?\?-of-0000N");
  auto& [count, files] = *by_count.begin();
  for (int i = 0; i < count; ++i) {
    char suffix[32];
    std::snprintf(suffix, sizeof(suffix), "-%05d-of-%05d", i, count);
    const std::string want = prefix + suffix;
    if (std::find(files.begin(), files.end(), want) == files.end())
      throw NotFoundError("V1 checkpoint " + prefix + " is missing shard file " + want);
  }
  return files;
}

}  // namespace

std::string wrong_prefix_hint(FileSystem* fs, const std::string& path) {
  static const std::regex data_re("(.*)\\.data-\\d{5}-of-\\d{5}");
  std::smatch m;
  auto ends_with = [&](const std::string& suffix) {
    return path.size() > suffix.size() &&
           path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with(".index"))
    return path + " is the .index file of a checkpoint: pass its prefix " +
           path.substr(0, path.size() - 6) + " instead";
  if (std::regex_match(path, m, data_re))
    return path + " is a data file of a checkpoint: pass its prefix " + m[1].str() + " instead";
  if (ends_with(".meta"))
    return path + " is a MetaGraph file, not a checkpoint: pass the checkpoint prefix " +
           path.substr(0, path.size() - 5) + " instead";
  const bool is_dir = is_directory(fs, path);
  const std::string state_dir = is_dir ? path : dirname(path);
  if (!is_dir && !(basename_of(path) == kCheckpointStateFilename && fs->exists(path))) return "";
  std::string latest;
  try {
    CheckpointState s = read_checkpoint_state(state_dir, fs);
    latest = resolve_checkpoint_path(state_dir, s.model_checkpoint_path);
  } catch (const Error&) {
  }
  const std::string what = is_dir ? path + " is a directory"
                                  : path + " is a checkpoint state file, not a checkpoint";
  if (latest.empty()) return what + ": pass a checkpoint prefix";
  return what + ": pass a checkpoint prefix such as " + latest + " (the latest it names)";
}

CheckpointFiles find_checkpoint_files(FileSystem* fs, const std::string& p) {
  CheckpointFiles out;
  out.prefix = p;
  if (!p.empty() && fs->exists(p + ".index")) {
    out.v2 = true;
    return out;
  }
  const std::string hint = p.empty() ? "" : wrong_prefix_hint(fs, p);
  if (hint.empty() && !p.empty()) {
    if (has_glob(basename_of(p))) {
      out.v1_files = glob_files(fs, p);
    } else if (fs->exists(p)) {
      out.v1_files = {p};
    } else {
      out.v1_files = sharded_v1_files(fs, p);
    }
    if (!out.v1_files.empty()) return out;
  }
  std::string msg = "Unsuccessful TensorSliceReader constructor: Failed to find any matching "
                    "files for " + p;
  if (!hint.empty()) msg += " (" + hint + ")";
  throw NotFoundError(msg);
}

}  // namespace kiln::io

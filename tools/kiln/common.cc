#include "tools/kiln/common.h"

#include <sys/stat.h>

#include <regex>

#include "io/checkpoint_state.h"

namespace kiln::cli {

namespace {

bool is_dir(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
bool is_file(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string basename_of(const std::string& p) {
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

// What DIR/checkpoint says, as advice: "e.g. its newest: P", or why it cannot be used.
std::string state_advice(const std::string& dir) {
  try {
    io::CheckpointState state = io::read_checkpoint_state(dir);
    if (state.model_checkpoint_path.empty()) return "(the state file names no checkpoint)";
    std::string newest = io::resolve_checkpoint_path(dir, state.model_checkpoint_path);
    if (io::checkpoint_exists(newest)) return "instead, e.g. its newest: " + newest;
    return "(the state file names " + newest + ", which does not exist)";
  } catch (const std::exception& e) {
    return "(the state file is unreadable: " + std::string(e.what()) + ")";
  }
}

// Up to three checkpoint prefixes in `dir` (from their .index files), for advice.
std::string prefixes_in(const std::string& dir) {
  std::string out;
  int n = 0;
  try {
    for (const auto& name : io::posix_file_system()->list_dir(dir)) {
      if (!ends_with(name, ".index")) continue;
      if (n++ == 3) { out += ", ..."; break; }
      out += (out.empty() ? "" : ", ") + io::join_path(dir, name.substr(0, name.size() - 6));
    }
  } catch (const std::exception&) {
  }
  return out;
}

}  // namespace

std::string prefix_hint(const std::string& arg) {
  if (arg.empty()) return "the checkpoint prefix is empty";
  if (is_file(arg + ".index")) return "";
  std::smatch m;
  static const std::regex data_re(R"(^(.*)\.data-\d{5}-of-\d{5}$)");
  if (ends_with(arg, ".index"))
    return arg + " is the index file of a checkpoint; pass its prefix instead: " +
           arg.substr(0, arg.size() - 6);
  if (std::regex_match(arg, m, data_re))
    return arg + " is a data file of a checkpoint; pass its prefix instead: " + m[1].str();
  if (ends_with(arg, ".meta"))
    return arg + " is a MetaGraphDef (.meta), not a checkpoint; pass the checkpoint prefix "
           "instead: " + arg.substr(0, arg.size() - 5);
  if (basename_of(arg) == io::kCheckpointStateFilename && is_file(arg))
    return arg + " is a checkpoint state file, not a checkpoint; pass a checkpoint prefix " +
           state_advice(io::dirname(arg));
  if (is_dir(arg)) {
    std::string msg = arg + " is a directory, not a checkpoint prefix";
    if (is_file(io::join_path(arg, io::kCheckpointStateFilename)))
      return msg + "; pass a checkpoint prefix " + state_advice(arg);
    std::string found = prefixes_in(arg);
    return msg + (found.empty() ? "; it holds no V2 checkpoint (no *.index file)"
                                : "; pass a prefix such as " + found);
  }
  return "";
}

std::unique_ptr<io::CheckpointReader> open_checkpoint(const std::string& arg) {
  std::string hint = prefix_hint(arg);
  if (!hint.empty()) throw Failure(hint);
  return std::make_unique<io::CheckpointReader>(arg);
}

std::string dtype_python_name(DType dtype) {
  switch (static_cast<int>(dtype)) {
    case 8: return "complex64";
    case 11: return "qint8";
    case 12: return "quint8";
    case 13: return "qint32";
    case 15: return "qint16";
    case 16: return "quint16";
    case 17: return "uint16";
    case 18: return "complex128";
    case 20: return "resource";
    case 21: return "variant";
    case 22: return "uint32";
    case 23: return "uint64";
    default: break;
  }
  if (dtype_is_valid(static_cast<int>(dtype))) return dtype_name(dtype);
  return "dtype(" + std::to_string(static_cast<int>(dtype)) + ")";
}

}  // namespace kiln::cli

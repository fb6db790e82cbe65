#include "io/checkpoint_state.h"

#include <fnmatch.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <filesystem>
#include <random>

#include "core/errors.h"
#include "io/proto/checkpoint_state.pb.h"

namespace kiln::io {

namespace {

FileSystem* or_posix(FileSystem* fs) { return fs ? fs : posix_file_system(); }

// Keeps the parser's first message instead of letting protobuf log it.
class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (first.empty())
      first = std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " + message;
  }
  void AddWarning(int, google::protobuf::io::ColumnNumber, const std::string&) override {}
  std::string first;
};

std::string read_whole_file(FileSystem* fs, const std::string& path) {
  uint64_t size = fs->file_size(path);
  if (size > (64u << 20))
    throw DataLossError(path + " is " + std::to_string(size) +
                        " bytes, too large for a checkpoint state file");
  return fs->new_random_access_file(path)->read(0, static_cast<size_t>(size));
}

bool has_glob(const std::string& s) { return s.find_first_of("?*[") != std::string::npos; }

}  // namespace

CheckpointState parse_checkpoint_state(std::string_view text, const std::string& filename) {
  kiln::CheckpointState proto;
  google::protobuf::TextFormat::Parser parser;
  FirstError errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), &proto))
    throw DataLossError((filename.empty() ? std::string("checkpoint state") : filename) +
                        " is not a valid CheckpointState text proto: " +
                        (errors.first.empty() ? "parse error" : errors.first));
  CheckpointState s;
  s.model_checkpoint_path = proto.model_checkpoint_path();
  s.all_model_checkpoint_paths.assign(proto.all_model_checkpoint_paths().begin(),
                                      proto.all_model_checkpoint_paths().end());
  s.all_model_checkpoint_timestamps.assign(proto.all_model_checkpoint_timestamps().begin(),
                                           proto.all_model_checkpoint_timestamps().end());
  s.last_preserved_timestamp = proto.last_preserved_timestamp();
  return s;
}

std::string format_checkpoint_state(const CheckpointState& state) {
  kiln::CheckpointState proto;
  proto.set_model_checkpoint_path(state.model_checkpoint_path);
  for (const auto& p : state.all_model_checkpoint_paths) proto.add_all_model_checkpoint_paths(p);
  for (double t : state.all_model_checkpoint_timestamps)
    proto.add_all_model_checkpoint_timestamps(t);
  proto.set_last_preserved_timestamp(state.last_preserved_timestamp);
  std::string out;
  google::protobuf::TextFormat::PrintToString(proto, &out);
  return out;
}

CheckpointState read_checkpoint_state(const std::string& dir, FileSystem* fs,
                                      const std::string& state_filename) {
  fs = or_posix(fs);
  std::string path = join_path(dir, state_filename);
  if (!fs->exists(path)) throw NotFoundError("No checkpoint state file " + path);
  return parse_checkpoint_state(read_whole_file(fs, path), path);
}

void write_checkpoint_state(const std::string& dir, const CheckpointState& state,
                            FileSystem* fs, const std::string& state_filename, bool sync) {
  fs = or_posix(fs);
  write_file_atomically(fs, join_path(dir, state_filename), format_checkpoint_state(state), sync);
}

namespace {

bool is_absolute(const std::string& p) { return !p.empty() && p.front() == '/'; }

// os.path.relpath(path, start), lexically.
std::string relpath(const std::string& path, const std::string& start) {
  namespace stdfs = std::filesystem;
  stdfs::path p(path), s(start.empty() ? "." : start);
  if (p.is_absolute() != s.is_absolute()) {
    p = stdfs::absolute(p);
    s = stdfs::absolute(s);
  }
  std::string r = p.lexically_normal().lexically_relative(s.lexically_normal()).string();
  return r.empty() ? path : r;
}

}  // namespace

void update_checkpoint_state(const std::string& save_dir, const std::string& model_checkpoint_path,
                             const std::vector<std::string>& all_model_checkpoint_paths,
                             const std::string& state_filename, bool save_relative_paths,
                             FileSystem* fs, bool sync) {
  fs = or_posix(fs);
  std::string state_path = join_path(save_dir, state_filename);
  if (state_path == model_checkpoint_path)
    throw InvalidArgumentError("Save path '" + model_checkpoint_path +
                               "' conflicts with path used for checkpoint state.  Please use a "
                               "different save path.");
  CheckpointState state;
  state.model_checkpoint_path = model_checkpoint_path;
  state.all_model_checkpoint_paths = all_model_checkpoint_paths;
  if (state.all_model_checkpoint_paths.empty() ||
      state.all_model_checkpoint_paths.back() != model_checkpoint_path)
    state.all_model_checkpoint_paths.push_back(model_checkpoint_path);
  auto convert = [&](std::string& p) {
    if (save_relative_paths && is_absolute(p)) p = relpath(p, save_dir);
    if (!is_absolute(save_dir) && !is_absolute(p)) p = relpath(p, save_dir);
  };
  convert(state.model_checkpoint_path);
  for (auto& p : state.all_model_checkpoint_paths) convert(p);
  write_checkpoint_state(save_dir, state, fs, state_filename, sync);
}

std::string resolve_checkpoint_path(const std::string& dir, const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  return join_path(dir, path);
}

bool checkpoint_exists(const std::string& prefix, FileSystem* fs) {
  fs = or_posix(fs);
  if (prefix.empty()) return false;
  if (fs->exists(prefix + ".index") || fs->exists(prefix)) return true;
  std::string dir = dirname(prefix);
  std::string base = prefix.substr(prefix.rfind('/') == std::string::npos ? 0 : prefix.rfind('/') + 1);
  std::string pattern = has_glob(base) ? base : base + "-?????" "-of-" "?????";
  if (!fs->exists(dir)) return false;
  for (const auto& name : fs->list_dir(dir))
    if (fnmatch(pattern.c_str(), name.c_str(), FNM_PATHNAME) == 0) return true;
  return false;
}

std::optional<std::string> latest_checkpoint(const std::string& dir, FileSystem* fs) {
  fs = or_posix(fs);
  if (!fs->exists(join_path(dir, kCheckpointStateFilename))) return std::nullopt;
  CheckpointState s = read_checkpoint_state(dir, fs);
  if (s.model_checkpoint_path.empty()) return std::nullopt;
  std::string prefix = resolve_checkpoint_path(dir, s.model_checkpoint_path);
  if (!checkpoint_exists(prefix, fs)) return std::nullopt;
  return prefix;
}

}  // namespace kiln::io

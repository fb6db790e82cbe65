#include "io/v1_reader.h"

#include "core/errors.h"
#include "io/ordered_code.h"
#include "io/proto/saved_tensor_slice.pb.h"
#include "io/table.h"
#include "io/tensor_proto.h"
#include "io/tensor_slice.h"

namespace kiln::io {
namespace {

std::string dims_string(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

TensorSlice slice_from_proto(const kiln::TensorSliceProto& proto) {
  TensorSlice slice;
  for (const auto& x : proto.extent()) {
    SliceExtent e;
    if (x.has_length_case() == kiln::TensorSliceProto::Extent::kLength) {
      e.start = x.start();
      e.length = x.length();
    }
    slice.push_back(e);
  }
  return slice;
}

VersionDef version_from_proto(const kiln::VersionDef& proto) {
  VersionDef v;
  v.producer = proto.producer();
  v.min_consumer = proto.min_consumer();
  v.bad_consumers.assign(proto.bad_consumers().begin(), proto.bad_consumers().end());
  return v;
}

}  // namespace

struct V1Reader::Rep {
  FileSystem* fs;
  std::vector<std::string> files;
  std::vector<std::unique_ptr<TableReader>> tables;
  std::map<std::string, TensorInfo> tensors;

  [[noreturn]] void corrupt(size_t file, const std::string& what) const {
    throw DataLossError("Unable to read V1 checkpoint file " + files[file] + ": " + what);
  }

  void read_meta(size_t f) {
    std::optional<std::string> header = tables[f]->get("");
    kiln::SavedTensorSlices sts;
    if (!header) corrupt(f, "no header entry (key \"\")");
    if (!sts.ParseFromString(*header) || !sts.has_meta()) corrupt(f, "unable to parse header");
    check_versions(version_from_proto(sts.meta().versions()));
    for (const kiln::SavedSliceMeta& m : sts.meta().tensor()) add_tensor(f, m);
  }

  void add_tensor(size_t f, const kiln::SavedSliceMeta& m) {
    TensorInfo info;
    info.dtype = static_cast<DType>(m.type());
    if (m.shape().unknown_rank()) corrupt(f, "tensor " + m.name() + " has an unknown rank");
    for (const auto& d : m.shape().dim()) {
      if (d.size() < 0) corrupt(f, "tensor " + m.name() + " has a negative dimension");
      info.shape.push_back(d.size());
    }
    auto [it, inserted] = tensors.emplace(m.name(), info);
    TensorInfo& t = it->second;
    if (!inserted && (t.dtype != info.dtype || t.shape != info.shape))
      corrupt(f, "tensor " + m.name() + " is " + dims_string(info.shape) + " TF type " +
                     std::to_string(m.type()) + " here but " + dims_string(t.shape) +
                     " TF type " + std::to_string(static_cast<int>(t.dtype)) + " in " +
                     files[t.slice_file.empty() ? f : t.slice_file[0]]);
    for (const auto& s : m.slice()) {
      t.slices.push_back(slice_from_proto(s));
      t.slice_file.push_back(f);
    }
  }

  const TensorInfo& info(const std::string& name) const {
    auto it = tensors.find(name);
    if (it == tensors.end()) throw NotFoundError("Key " + name + " not found in checkpoint");
    return it->second;
  }

  Tensor read_stored(const std::string& name, const TensorInfo& t, size_t i) const {
    const size_t f = t.slice_file[i];
    const std::string spec = slice_spec_string(t.slices[i]);
    std::optional<std::string> value = tables[f]->get(encode_slice_key(name, t.slices[i]));
    if (!value) corrupt(f, "slice " + spec + " of tensor " + name + " is listed but not stored");
    kiln::SavedTensorSlices sts;
    if (!sts.ParseFromString(*value) || !sts.has_data())
      corrupt(f, "unable to parse slice " + spec + " of tensor " + name);
    if (sts.data().name() != name || slice_from_proto(sts.data().slice()) != t.slices[i])
      corrupt(f, "the record for slice " + spec + " of tensor " + name + " names another slice");
    return tensor_from_proto(sts.data().data(), t.dtype, slice_shape(t.slices[i], t.shape),
                             "V1 checkpoint file " + files[f] + ", tensor " + name + " slice " +
                                 spec + ": ");
  }
};

V1Reader::V1Reader(std::vector<std::string> files, FileSystem* fs)
    : rep_(std::make_unique<Rep>()) {
  Rep& r = *rep_;
  r.fs = fs ? fs : posix_file_system();
  r.files = std::move(files);
  for (size_t f = 0; f < r.files.size(); ++f) {
    const uint64_t size = r.fs->file_size(r.files[f]);
    r.tables.push_back(
        std::make_unique<TableReader>(r.fs->new_random_access_file(r.files[f]), size));
    r.read_meta(f);
  }
}

V1Reader::~V1Reader() = default;

const std::vector<std::string>& V1Reader::files() const { return rep_->files; }

const std::map<std::string, V1Reader::TensorInfo>& V1Reader::tensors() const {
  return rep_->tensors;
}

Tensor V1Reader::lookup(const std::string& name) const {
  return lookup_slice(name, full_slice(static_cast<int>(rep_->info(name).shape.size())));
}

Tensor V1Reader::lookup_slice(const std::string& name, const TensorSlice& slice) const {
  const TensorInfo& t = rep_->info(name);
  if (!dtype_is_valid(static_cast<int>(t.dtype)) || t.dtype == DType::kInvalid)
    throw UnimplementedError("Unsupported dtype " + std::to_string(static_cast<int>(t.dtype)) +
                             " (TF DataType) of tensor " + name);
  return assemble_slice(name, t.dtype, t.shape, t.slices, slice,
                        [&](size_t i) { return rep_->read_stored(name, t, i); });
}

void V1Reader::check_all() const {
  const Rep& r = *rep_;
  // Every block of every table, then every tensor's values.
  for (const auto& table : r.tables) {
    auto it = table->new_iterator();
    for (it->seek_to_first(); it->valid(); it->next()) {
    }
  }
  for (const auto& [name, t] : r.tensors)
    for (size_t i = 0; i < t.slices.size(); ++i) {
      try {
        check_slice(t.slices[i], t.shape, "tensor " + name);
      } catch (const InvalidArgumentError& e) {
        r.corrupt(t.slice_file[i], e.what());
      }
      r.read_stored(name, t, i);
    }
}

}  // namespace kiln::io

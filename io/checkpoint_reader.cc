#include "io/checkpoint_reader.h"

#include <cstring>

#include "core/gpu.h"

#include "core/errors.h"
#include "io/bundle_reader.h"
#include "io/checkpoint_files.h"
#include "io/ordered_code.h"
#include "io/tensor_slice.h"
#include "io/v1_reader.h"

namespace kiln::io {
namespace {

// TF's DataType names by number, including the types kiln has no DType for, so that
// debug_string() shows any checkpoint as TF does.
const char* tf_type_name(DType dtype) {
  static const char* const kNames[] = {
      "DT_INVALID", "DT_FLOAT",      "DT_DOUBLE", "DT_INT32",    "DT_UINT8",    "DT_INT16",
      "DT_INT8",    "DT_STRING",     "DT_COMPLEX64", "DT_INT64", "DT_BOOL",     "DT_QINT8",
      "DT_QUINT8",  "DT_QINT32",     "DT_BFLOAT16", "DT_QINT16", "DT_QUINT16",  "DT_UINT16",
      "DT_COMPLEX128", "DT_HALF",    "DT_RESOURCE", "DT_VARIANT", "DT_UINT32",  "DT_UINT64"};
  const int v = static_cast<int>(dtype);
  return v >= 0 && v < static_cast<int>(std::size(kNames)) ? kNames[v] : "DT_INVALID";
}

struct Info {
  DType dtype = DType::kInvalid;
  std::vector<int64_t> shape;
  std::vector<TensorSlice> slices;
};

}  // namespace

struct CheckpointReader::Rep {
  FileSystem* fs;
  std::string prefix;
  std::unique_ptr<BundleReader> v2;
  std::unique_ptr<V1Reader> v1;
  std::map<std::string, Info> infos;
  std::vector<std::string> names;

  const Info& info(const std::string& name) const {
    auto it = infos.find(name);
    if (it == infos.end()) throw NotFoundError("Key " + name + " not found in checkpoint");
    return it->second;
  }
};

CheckpointReader::CheckpointReader(const std::string& prefix_or_pattern, FileSystem* fs)
    : rep_(std::make_unique<Rep>()) {
  Rep& r = *rep_;
  r.fs = fs ? fs : posix_file_system();
  r.prefix = prefix_or_pattern;
  CheckpointFiles files = find_checkpoint_files(r.fs, prefix_or_pattern);
  if (files.v2) {
    r.v2 = std::make_unique<BundleReader>(prefix_or_pattern, r.fs);
    r.v2->for_each([&](const std::string& key, const BundleEntry& e) {
      std::string name;
      TensorSlice slice;
      if (decode_slice_key(key, &name, &slice)) return;  // shown under the full name
      r.infos[key] = Info{e.dtype, e.shape, e.slices};
    });
  } else {
    r.v1 = std::make_unique<V1Reader>(files.v1_files, r.fs);
    for (const auto& [name, t] : r.v1->tensors()) {
      // A V1 tensor saved whole is one full slice; report it as unpartitioned.
      const bool whole = t.slices.size() == 1 && is_full_slice(t.slices[0], t.shape);
      r.infos[name] = Info{t.dtype, t.shape, whole ? std::vector<TensorSlice>{} : t.slices};
    }
  }
  for (const auto& [name, info] : r.infos) r.names.push_back(name);
}

CheckpointReader::~CheckpointReader() = default;

bool CheckpointReader::is_v2() const { return rep_->v2 != nullptr; }
const std::string& CheckpointReader::prefix() const { return rep_->prefix; }

bool CheckpointReader::has_tensor(const std::string& name) const {
  return rep_->infos.count(name) > 0;
}

Tensor CheckpointReader::get_tensor(const std::string& name) const {
  rep_->info(name);  // NotFoundError with TF's message
  return is_v2() ? rep_->v2->lookup(name) : rep_->v1->lookup(name);
}

void CheckpointReader::read_into(const std::string& name, Tensor& dst,
                                 PinnedBufferPool* staging) const {
  const Info& info = rep_->info(name);
  if (is_v2()) return rep_->v2->lookup_into(name, dst, staging);
  if (!dst.valid() || dst.dtype() != info.dtype || dst.shape().dims() != info.shape)
    throw InvalidArgumentError(
        "read_into " + name + ": the checkpoint holds " + std::string(dtype_name(info.dtype)) +
        " " + Shape(info.shape).to_string() + " but the destination is " +
        (dst.valid() ? std::string(dtype_name(dst.dtype())) + " " + dst.shape().to_string()
                     : std::string("an empty Tensor handle")) +
        " (" + rep_->prefix + ")");
  const Tensor host = rep_->v1->lookup(name);
  if (host.dtype() == DType::kString) {
    for (int64_t i = 0; i < host.num_elements(); ++i)
      dst.data<std::string>()[i] = host.data<std::string>()[i];
  } else if (dst.on_host()) {
    if (host.bytes() > 0) std::memcpy(dst.raw_data(), host.raw_data(), host.bytes());
  } else {
    Allocator* a = dst.allocator();
    gpu::copy_host_to_device(dst.raw_data(), host.raw_data(), host.bytes(), a->gpu_ordinal(),
                             a->stream());
    gpu::synchronize(a->stream());
  }
}

void CheckpointReader::read_each(const std::vector<std::string>& names, int threads,
                                 const std::function<void(size_t, Tensor&&)>& done,
                                 Allocator* allocator, DeviceSpec device) const {
  for (const std::string& name : names) rep_->info(name);  // NotFoundError before any read
  if (is_v2()) return rep_->v2->lookup_each(names, threads, done, allocator, device);
  for (size_t i = 0; i < names.size(); ++i) {
    Tensor host = rep_->v1->lookup(names[i]);
    if (allocator && host.dtype() != DType::kString && allocator != host.allocator())
      host = host.copy_to(allocator, device);
    done(i, std::move(host));
  }
}

Tensor CheckpointReader::get_slice(const std::string& name, const TensorSlice& slice) const {
  rep_->info(name);
  return is_v2() ? rep_->v2->lookup_slice(name, slice) : rep_->v1->lookup_slice(name, slice);
}

Shape CheckpointReader::shape(const std::string& name) const {
  return Shape(rep_->info(name).shape);
}

DType CheckpointReader::dtype(const std::string& name) const { return rep_->info(name).dtype; }

std::vector<TensorSlice> CheckpointReader::slices(const std::string& name) const {
  return rep_->info(name).slices;
}

const std::vector<std::string>& CheckpointReader::tensor_names() const { return rep_->names; }

std::map<std::string, Shape> CheckpointReader::variable_to_shape_map() const {
  std::map<std::string, Shape> out;
  for (const auto& [name, info] : rep_->infos) out.emplace(name, Shape(info.shape));
  return out;
}

std::map<std::string, DType> CheckpointReader::variable_to_dtype_map() const {
  std::map<std::string, DType> out;
  for (const auto& [name, info] : rep_->infos) out.emplace(name, info.dtype);
  return out;
}

std::string CheckpointReader::debug_string() const {
  std::string out;
  for (const auto& [name, info] : rep_->infos) {
    out += name + " (" + tf_type_name(info.dtype) + ") [";
    for (size_t i = 0; i < info.shape.size(); ++i)
      out += (i ? "," : "") + std::to_string(info.shape[i]);
    out += "]\n";
  }
  return out;
}

std::string CheckpointReader::index_file() const {
  return is_v2() ? index_filename(rep_->prefix) : std::string();
}

std::vector<std::string> CheckpointReader::data_files() const {
  if (!is_v2()) return rep_->v1->files();
  std::vector<std::string> out;
  const int n = rep_->v2->header().num_shards;
  for (int i = 0; i < n; ++i) out.push_back(data_filename(rep_->prefix, i, n));
  return out;
}

}  // namespace kiln::io

#include "io/bundle_writer.h"

#include <algorithm>
#include <exception>
#include <map>
#include <random>

#include "core/errors.h"
#include "core/pinned_pool.h"
#include "io/crc_worker.h"
#include "io/device_staging.h"
#include "io/bundle_format.h"
#include "io/crc32c.h"
#include "io/ordered_code.h"
#include "io/table.h"
#include "io/tensor_data.h"
#include "io/tensor_slice.h"

namespace kiln::io {
namespace {

uint64_t random64() {
  thread_local std::mt19937_64 gen([] {
    std::random_device rd;
    return (uint64_t(rd()) << 32) ^ rd();
  }());
  return gen();
}

struct DataShard {
  std::string tmp, final_name;
  std::unique_ptr<WritableFile> file;
  uint64_t size = 0;
  bool renamed = false;
};

}  // namespace

struct BundleWriter::Rep {
  FileSystem* fs;
  std::string prefix;
  BundleWriterOptions options;
  std::vector<DataShard> shards;
  std::string index_tmp, index_final;
  std::map<std::string, BundleEntry> entries;  // ordered: the index is written in key order
  std::exception_ptr error;
  bool closed = false;
  bool index_renamed = false;
  CrcWorker crc;                                  // checksums beside the writes
  std::unique_ptr<PinnedBufferPool> own_staging;  // when options.staging is null

  PinnedBufferPool& staging() {
    if (options.staging) return *options.staging;
    if (!own_staging) own_staging = std::make_unique<PinnedBufferPool>(8 << 20, 2);
    return *own_staging;
  }

  // REQUIRES: a failure is being handled. Best effort: errors here must not hide the first one.
  void cleanup() noexcept {
    auto remove = [&](const std::string& path) {
      try {
        if (fs->exists(path)) fs->delete_file(path);
        return true;
      } catch (...) {
        return false;
      }
    };
    for (DataShard& s : shards) s.file.reset();  // closes quietly
    remove(index_tmp);
    // Index first: never an index without its data. When the renamed index cannot be removed,
    // the renamed data files stay too (a complete bundle rather than an index without data).
    const bool keep_final = index_renamed && !remove(index_final);
    for (DataShard& s : shards) {
      remove(s.tmp);
      if (s.renamed && !keep_final) remove(s.final_name);
    }
  }

  [[noreturn]] void fail(std::exception_ptr e) {
    if (!error) {
      error = e;
      cleanup();
    }
    std::rethrow_exception(error);
  }

  template <typename F>
  void guard(F&& f) {
    try {
      f();
    } catch (...) {
      fail(std::current_exception());
    }
  }

  void check_usable() {
    if (error) std::rethrow_exception(error);
    if (closed) throw FailedPreconditionError("BundleWriter is closed (prefix " + prefix + ")");
  }

  int pick_shard(int shard) const {
    if (shard == kAnyShard) {
      auto smallest = std::min_element(shards.begin(), shards.end(),
                                       [](const auto& a, const auto& b) { return a.size < b.size; });
      return static_cast<int>(smallest - shards.begin());
    }
    if (shard < 0 || shard >= static_cast<int>(shards.size()))
      throw InvalidArgumentError("Shard " + std::to_string(shard) + " out of range: the bundle " +
                                 prefix + " has " + std::to_string(shards.size()) + " data files");
    return shard;
  }

  void pad_to_alignment(DataShard& s) {
    const uint64_t align = static_cast<uint64_t>(options.data_alignment);
    if (align <= 1 || s.size % align == 0) return;
    const std::string zeros(align - s.size % align, '\0');
    s.file->append(zeros);
    s.size += zeros.size();
  }

  // Appends the values and returns their entry (dtype, shape, shard, offset, size, crc).
  BundleEntry write_values(const std::string& key, const Tensor& tensor, int shard) {
    if (!tensor.valid()) throw InvalidArgumentError("Adding an empty Tensor handle as " + key);
    const int id = pick_shard(shard);
    DataShard& s = shards[id];
    BundleEntry entry;
    entry.dtype = tensor.dtype();
    entry.shape = tensor.shape().dims();
    entry.shard_id = id;
    entry.offset = static_cast<int64_t>(s.size);
    WrittenTensor written;
    if (!tensor.on_host() && tensor.dtype() != DType::kString) {
      // Device memory streams through the pinned staging buffers.
      auto engine = gpu_copy_engine(tensor, staging().capacity());
      const uint32_t value = stream_to_file(static_cast<const char*>(tensor.raw_data()),
                                            tensor.bytes(), *engine, staging(), s.file.get(), &crc);
      written = {tensor.bytes(), crc32c::mask(value)};
    } else {
      written = write_tensor_data(tensor.to_host(), s.file.get(), &crc);
    }
    entry.size = static_cast<int64_t>(written.size);
    entry.masked_crc32c = written.masked_crc32c;
    s.size += written.size;
    pad_to_alignment(s);
    return entry;
  }

  void add_slice(const std::string& name, const Shape& full_shape, const TensorSlice& slice,
                 const Tensor& values, int shard) {
    if (name.empty()) throw InvalidArgumentError("The empty key is reserved for the bundle header");
    if (!values.valid()) throw InvalidArgumentError("Adding an empty Tensor handle as " + name);
    const std::vector<int64_t>& dims = full_shape.dims();
    for (int64_t d : dims)
      if (d < 0) throw InvalidArgumentError("Invalid full shape " + full_shape.to_string() +
                                            " for partitioned tensor " + name);
    check_slice(slice, dims, "partitioned tensor " + name);
    if (values.shape().dims() != slice_shape(slice, dims))
      throw InvalidArgumentError("Slice " + slice_spec_string(slice) + " of " + name +
                                 " has shape " + Shape(slice_shape(slice, dims)).to_string() +
                                 " but the values have shape " + values.shape().to_string());
    auto it = entries.find(name);
    if (it != entries.end()) {
      BundleEntry& full = it->second;
      if (full.slices.empty()) throw InvalidArgumentError("Adding duplicate key: " + name);
      if (full.dtype != values.dtype() || full.shape != dims)
        throw InvalidArgumentError("Slice " + slice_spec_string(slice) + " of " + name + " is " +
                                   dtype_tf_name(values.dtype()) + " of full shape " +
                                   full_shape.to_string() + ", earlier slices are " +
                                   dtype_tf_name(full.dtype) + " of full shape " +
                                   Shape(full.shape).to_string());
      const TensorSlice mine = resolve_slice(slice, dims);
      for (const TensorSlice& other : full.slices)
        if (intersect(resolve_slice(other, dims), mine))
          throw InvalidArgumentError("Adding duplicate key: " + name + " (slice " +
                                     slice_spec_string(slice) + " overlaps stored slice " +
                                     slice_spec_string(other) + ")");
    }
    const std::string key = encode_slice_key(name, slice);
    BundleEntry entry = write_values(name + " slice " + slice_spec_string(slice), values, shard);
    if (it == entries.end()) {
      BundleEntry full;
      full.dtype = values.dtype();
      full.shape = dims;
      it = entries.emplace(name, std::move(full)).first;
    }
    it->second.slices.push_back(slice);
    entries.emplace(key, std::move(entry));
  }

  void write_index() {
    std::unique_ptr<WritableFile> index = fs->new_writable_file(index_tmp);
    TableWriter table(index.get());
    BundleHeader header;
    header.num_shards = static_cast<int>(shards.size());
    header.endianness = host_endianness();
    header.version.producer = kBundleVersion;
    header.version.min_consumer = kBundleMinConsumer;
    table.add("", encode_header(header));
    for (const auto& [key, entry] : entries) table.add(key, encode_entry(entry));
    table.finish();
    if (options.sync) index->sync();
    index->close();
  }
};

BundleWriter::BundleWriter(std::string prefix, BundleWriterOptions options)
    : rep_(std::make_unique<Rep>()) {
  Rep& r = *rep_;
  r.fs = options.fs ? options.fs : posix_file_system();
  r.prefix = std::move(prefix);
  r.options = options;
  if (r.options.data_alignment < 1)
    throw InvalidArgumentError("BundleWriter data_alignment must be >= 1, got " +
                               std::to_string(r.options.data_alignment));
  if (r.options.num_shards < 1 || r.options.num_shards > 99999)
    throw InvalidArgumentError("BundleWriter num_shards must be in [1, 99999], got " +
                               std::to_string(r.options.num_shards));
  r.index_final = index_filename(r.prefix);
  r.index_tmp = r.index_final + ".tempstate" + std::to_string(random64());
  r.shards.resize(r.options.num_shards);
  for (int i = 0; i < r.options.num_shards; ++i) {
    DataShard& s = r.shards[i];
    s.final_name = data_filename(r.prefix, i, r.options.num_shards);
    s.tmp = s.final_name + ".tempstate" + std::to_string(random64());
  }
  create_dirs(r.fs, dirname(r.prefix));
  r.guard([&] {
    WritableFileOptions fo;
    fo.direct_io = r.options.direct_io;
    for (DataShard& s : r.shards) s.file = r.fs->new_writable_file(s.tmp, fo);
  });
}

BundleWriter::~BundleWriter() {
  if (!rep_->closed && !rep_->error) rep_->cleanup();
}

const std::string& BundleWriter::prefix() const { return rep_->prefix; }

void BundleWriter::add(const std::string& key, const Tensor& tensor, int shard) {
  Rep& r = *rep_;
  r.check_usable();
  r.guard([&] {
    if (key.empty()) throw InvalidArgumentError("The empty key is reserved for the bundle header");
    if (r.entries.count(key)) throw InvalidArgumentError("Adding duplicate key: " + key);
    BundleEntry entry = r.write_values(key, tensor, shard);
    r.entries.emplace(key, std::move(entry));
  });
}

void BundleWriter::add_slice(const std::string& name, const Shape& full_shape,
                             const TensorSlice& slice, const Tensor& values, int shard) {
  Rep& r = *rep_;
  r.check_usable();
  // A whole-tensor "slice" is a plain entry, as TF stores it.
  if (slice.size() == full_shape.dims().size() && is_full_slice(slice, full_shape.dims()) &&
      values.shape() == full_shape) {
    add(name, values, shard);
    return;
  }
  r.guard([&] { r.add_slice(name, full_shape, slice, values, shard); });
}

void BundleWriter::finish() {
  Rep& r = *rep_;
  r.check_usable();
  r.guard([&] {
    for (DataShard& s : r.shards) {
      if (r.options.sync) s.file->sync();
      s.file->close();
      s.file.reset();
    }
    r.write_index();
    for (DataShard& s : r.shards) {
      r.fs->rename(s.tmp, s.final_name);
      s.renamed = true;
    }
    r.fs->rename(r.index_tmp, r.index_final);
    r.index_renamed = true;
    if (r.options.sync) r.fs->sync_dir(dirname(r.prefix));
  });
  r.closed = true;
}

}  // namespace kiln::io

#include "io/bundle_reader.h"

#include <algorithm>
#include <cstring>
#include <cstdio>
#include <limits>
#include <map>
#include <mutex>
#include <unordered_map>

#include "core/errors.h"
#include "core/gpu.h"
#include "core/pinned_pool.h"
#include "io/crc32c.h"
#include "io/crc_worker.h"
#include "io/device_staging.h"
#include "io/ordered_code.h"
#include "io/parallel_read.h"
#include "io/table.h"
#include "io/tensor_data.h"
#include "io/tensor_slice.h"

namespace kiln::io {
namespace {

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08x", v);
  return buf;
}

std::string shape_string(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

// Checks an entry's dtype and shape before anything is allocated for it; returns the element
// count. `key` and `prefix` only name the tensor in errors (built only when one is thrown: a
// restore of 16k small tensors must not format 16k strings).
int64_t checked_num_elements(const BundleEntry& e, const std::string& key,
                             const std::string& prefix) {
  auto where = [&] { return "tensor " + key + " in " + prefix; };
  const int dtype = static_cast<int>(e.dtype);
  if (dtype == 0) throw DataLossError("Invalid dtype DT_INVALID for " + where());
  if (!dtype_is_valid(dtype))
    throw UnimplementedError("Unsupported dtype " + std::to_string(dtype) + " (TF DataType) of " +
                             where());
  int64_t n = 1;
  for (int64_t d : e.shape) {
    if (d < 0 || (d > 0 && n > (int64_t{1} << 62) / d))
      throw DataLossError("Invalid tensor shape: " + shape_string(e.shape) + " for " + where());
    n *= d;
  }
  return n;
}

struct DataFile {
  std::unique_ptr<RandomAccessFile> file;
  uint64_t size = 0;
};

// Host reads go straight into the tensor in pieces of this size, each checksummed right after it
// lands, while it is still in the core's cache.
// Reads go in pieces of this size: each piece's crc runs while the next one is read.
constexpr size_t kHostChunk = 256 << 10;
// Device reads stage through pinned buffers of this size (two, so that reading the next piece
// overlaps the copy of the previous one).
constexpr size_t kStagingChunk = 8 << 20;

// Where a fixed-size or string tensor's bytes are, after every check that needs no data.
struct Located {
  const DataFile* data = nullptr;
  uint64_t offset = 0, size = 0;
  int shard = 0;
  // The prefix of checksum errors (made only for an error).
  std::string context(const std::string& prefix, const std::string& key) const {
    return "TensorBundle at " + prefix + " shard " + std::to_string(shard) + " (" +
           std::to_string(size) + " bytes), tensor " + key + " in " + data->file->name() + ": ";
  }
};

}  // namespace

struct BundleReader::Rep {
  FileSystem* fs;
  std::string prefix;
  std::string index_name;
  std::unique_ptr<TableReader> table;
  BundleHeader header;
  std::mutex mu;
  std::map<int, DataFile> data_files;  // by shard id, opened on first use
  // Every entry of the index (key -> serialized BundleEntryProto), loaded once on open so that a
  // lookup is a hash lookup instead of LevelDB re-reading and re-checksumming a 256 KiB block.
  // When the index cannot be read whole (a corrupt block), `index_loaded` is false and lookups go
  // to the table one by one, so each reports its own error as before.
  std::unordered_map<std::string, std::string> index;
  bool index_loaded = false;
  // Pinned staging buffers for lookup_into() a device tensor, made on first use.
  std::mutex staging_mu;
  std::unique_ptr<PinnedBufferPool> staging;
  // Checksums beside the reads (io/crc_worker.h); shared by concurrent lookups.
  CrcWorker crc;

  [[noreturn]] void corrupt_index(const std::string& detail) const {
    throw DataLossError("Unable to read file (" + index_name +
                        "). Perhaps the file is corrupt or was produced by a newer version of "
                        "TensorFlow with format changes (" + detail + ")");
  }

  void read_header() {
    auto it = table->new_iterator();
    it->seek("");
    if (!it->valid() || !it->key().empty()) corrupt_index("failed to seek to header entry");
    std::optional<BundleHeader> h = decode_header(it->value());
    if (!h) corrupt_index("unable to parse header");
    if (h->num_shards < 1) corrupt_index("invalid num_shards " + std::to_string(h->num_shards));
    if (h->endianness != host_endianness())
      throw UnimplementedError("Reading a bundle with different endianness from the reader is "
                               "unsupported: " + index_name);
    check_versions(h->version);  // io/bundle_format.h
    header = *h;
  }

  void load_index() {
    try {
      std::unordered_map<std::string, std::string> all;
      auto it = table->new_iterator();
      for (it->seek_to_first(); it->valid(); it->next())
        if (!it->key().empty()) all.emplace(std::string(it->key()), std::string(it->value()));
      index = std::move(all);
      index_loaded = true;
    } catch (const std::exception&) {
      index.clear();  // fall back to per-key table reads, which report the damage when reached
    }
  }

  std::optional<std::string> get(const std::string& key) const {
    if (!index_loaded) return table->get(key);
    auto it = index.find(key);
    if (it == index.end()) return std::nullopt;
    return it->second;
  }

  PinnedBufferPool& staging_pool() {
    std::lock_guard<std::mutex> lock(staging_mu);
    if (!staging) staging = std::make_unique<PinnedBufferPool>(kStagingChunk, 2);
    return *staging;
  }

  const DataFile& data_file(int shard) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = data_files.find(shard);
    if (it != data_files.end()) return it->second;
    const std::string name = data_filename(prefix, shard, header.num_shards);
    DataFile f;
    f.size = fs->file_size(name);  // NotFoundError naming the file when it is missing
    f.file = fs->new_random_access_file(name);
    return data_files.emplace(shard, std::move(f)).first->second;
  }
};

BundleReader::BundleReader(std::string prefix, FileSystem* fs) : rep_(std::make_unique<Rep>()) {
  Rep& r = *rep_;
  r.fs = fs ? fs : posix_file_system();
  r.prefix = std::move(prefix);
  r.index_name = index_filename(r.prefix);
  const uint64_t size = r.fs->file_size(r.index_name);
  r.table = std::make_unique<TableReader>(r.fs->new_random_access_file(r.index_name), size);
  r.read_header();
  r.load_index();
}

BundleReader::~BundleReader() = default;

const std::string& BundleReader::prefix() const { return rep_->prefix; }
const BundleHeader& BundleReader::header() const { return rep_->header; }

bool BundleReader::contains(const std::string& key) const {
  return !key.empty() && rep_->get(key).has_value();
}

BundleEntry BundleReader::entry(const std::string& key) const {
  std::optional<std::string> value;
  if (!key.empty()) value = rep_->get(key);
  if (!value) throw NotFoundError("Key " + key + " not found in checkpoint");
  std::optional<BundleEntry> e = decode_entry(*value);
  if (!e) throw DataLossError("Entry for key " + key + " not parseable in " + rep_->index_name);
  return *e;
}

Tensor BundleReader::lookup(const std::string& key) const { return read(key, entry(key)); }

namespace {

[[noreturn]] void checksum_mismatch(const std::string& context, uint32_t masked, uint32_t actual) {
  throw DataLossError(context + "Checksum does not match: stored " + hex(crc32c::unmask(masked)) +
                      " vs. calculated on the restored bytes " + hex(actual));
}

// Reads [offset, offset + size) of `data` into dst piece by piece, extending the crc32c over
// each piece while it is hot in cache; returns the crc (unmasked).
// Reads straight into dst; the crc of each piece runs on `worker` while the next is read.
uint32_t read_and_checksum(const DataFile& data, uint64_t offset, uint64_t size, char* dst,
                           CrcWorker* worker) {
  return crc_beside(worker, IoDirection::kRead, dst, static_cast<size_t>(size), kHostChunk, [&](size_t off, size_t n) {
    data.file->read_exact(offset + off, n, dst + off);
  });
}

}  // namespace

// Checks everything about an entry that needs no tensor bytes and returns where the bytes are.
// REQUIRES: e is not a partitioned tensor's full entry; n = checked_num_elements(e).
struct BundleReaderAccess {
  static Located locate(BundleReader::Rep& r, const std::string& key, const BundleEntry& e,
                        int64_t n) {
    auto where = [&] { return "tensor " + key + " in " + r.prefix; };
    if (e.shard_id < 0 || e.shard_id >= r.header.num_shards)
      throw DataLossError("Invalid shard_id " + std::to_string(e.shard_id) + " (bundle has " +
                          std::to_string(r.header.num_shards) + " shards) for " + where());
    const bool is_string = e.dtype == DType::kString;
    int64_t expected = is_string ? -1 : fixed_size_bytes(e.dtype, n);
    bool size_ok = e.offset >= 0 && e.size >= 0;
    if (!is_string) size_ok = size_ok && e.size == expected;
    if (is_string && n > 0) size_ok = size_ok && e.size >= n + 4;  // >= 1 byte per length + crc
    if (is_string && n == 0) size_ok = size_ok && (e.size == 0 || e.size == 4);
    if (!size_ok)
      throw DataLossError("Invalid size in bundle entry: key " + key + "; stored size " +
                          std::to_string(e.size) + "; expected size " +
                          (is_string ? "at least " + std::to_string(n == 0 ? 0 : n + 4)
                                     : std::to_string(expected)) +
                          " (offset " + std::to_string(e.offset) + ", " + r.prefix + ")");
    const DataFile& data = r.data_file(e.shard_id);
    const uint64_t offset = static_cast<uint64_t>(e.offset), size = static_cast<uint64_t>(e.size);
    if (offset > data.size || size > data.size - offset)
      throw DataLossError("Bundle entry for " + key + " points past the end of data file " +
                          data.file->name() + ": offset " + std::to_string(offset) + " + size " +
                          std::to_string(size) + " > file size " + std::to_string(data.size));
    Located loc;
    loc.data = &data;
    loc.offset = offset;
    loc.size = size;
    loc.shard = e.shard_id;
    return loc;
  }
};

Tensor BundleReader::read(const std::string& key, const BundleEntry& e) const {
  Rep& r = *rep_;
  const int64_t n = checked_num_elements(e, key, r.prefix);
  if (!e.slices.empty()) return read_slice(key, e, full_slice(static_cast<int>(e.shape.size())));
  const Located loc = BundleReaderAccess::locate(r, key, e, n);
  Tensor out(e.dtype, Shape(e.shape));
  if (e.dtype == DType::kString) {
    std::string bytes = loc.data->file->read(loc.offset, loc.size);
    decode_string_data(bytes, e.masked_crc32c, &out, loc.context(r.prefix, key));
    return out;
  }
  const uint32_t actual =
      read_and_checksum(*loc.data, loc.offset, loc.size, static_cast<char*>(out.raw_data()), &r.crc);
  if (crc32c::mask(actual) != e.masked_crc32c) checksum_mismatch(loc.context(r.prefix, key), e.masked_crc32c, actual);
  return out;
}

void BundleReader::lookup_into(const std::string& key, Tensor& dst,
                               PinnedBufferPool* staging) const {
  Rep& r = *rep_;
  if (!dst.valid())
    throw InvalidArgumentError("lookup_into " + key + ": the destination is an empty Tensor handle");
  const BundleEntry e = entry(key);
  if (e.dtype != dst.dtype() || e.shape != dst.shape().dims())
    throw InvalidArgumentError(
        "lookup_into " + key + ": the checkpoint holds " + dtype_tf_name(e.dtype) + " " +
        shape_string(e.shape) + " but the destination tensor is " + dtype_tf_name(dst.dtype()) +
        " " + shape_string(dst.shape().dims()) + " (" + r.prefix + ")");
  const int64_t n = checked_num_elements(e, key, r.prefix);
  const bool to_host = dst.on_host();

  // Strings and partitioned tensors are assembled on the host first.
  if (e.dtype == DType::kString || !e.slices.empty()) {
    Tensor host = read(key, e);
    if (e.dtype == DType::kString) {
      std::string* out = dst.data<std::string>();
      std::string* in = host.data<std::string>();
      for (int64_t i = 0; i < n; ++i) out[i] = std::move(in[i]);
    } else if (host.bytes() > 0) {
      if (to_host) {
        std::memcpy(dst.raw_data(), host.raw_data(), host.bytes());
      } else {
        Allocator* a = dst.allocator();
        gpu::copy_host_to_device(dst.raw_data(), host.raw_data(), host.bytes(), a->gpu_ordinal(),
                                 a->stream());
        gpu::synchronize(a->stream());
      }
    }
    return;
  }

  const Located loc = BundleReaderAccess::locate(r, key, e, n);
  if (to_host) {
    const uint32_t actual =
        read_and_checksum(*loc.data, loc.offset, loc.size, static_cast<char*>(dst.raw_data()), &r.crc);
    if (crc32c::mask(actual) != e.masked_crc32c)
      checksum_mismatch(loc.context(r.prefix, key), e.masked_crc32c, actual);
    return;
  }

  // A device destination: each piece is read into a pinned buffer, checksummed beside the next
  // read, and copied to the device on its io stream while the next piece is read.
  PinnedBufferPool& pool = staging ? *staging : r.staging_pool();
  auto engine = gpu_copy_engine(dst, pool.capacity());
  const uint32_t crc = stream_from_file(*loc.data->file, loc.offset, static_cast<size_t>(loc.size),
                                        static_cast<char*>(dst.raw_data()), *engine, pool, &r.crc);
  if (crc32c::mask(crc) != e.masked_crc32c) checksum_mismatch(loc.context(r.prefix, key), e.masked_crc32c, crc);
}

void BundleReader::lookup_each(const std::vector<std::string>& keys, int threads,
                               const std::function<void(size_t, Tensor&&)>& done,
                               Allocator* allocator, DeviceSpec device) const {
  Rep& r = *rep_;
  struct Planned {
    size_t key;
    BundleEntry entry;
    Located loc;
  };
  // Every key is looked up and its dtype and shape checked before any byte is read, fixed-size
  // tensors also their place in the data file (strings and partitioned tensors are read whole,
  // first, as read() reads them).
  std::vector<Planned> planned;
  std::vector<RangeRead> ranges;
  std::vector<std::pair<size_t, BundleEntry>> on_host;  // strings and partitioned tensors
  planned.reserve(keys.size());
  ranges.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    BundleEntry e = entry(keys[i]);
    const int64_t n = checked_num_elements(e, keys[i], r.prefix);
    if (e.dtype == DType::kString || !e.slices.empty()) {
      on_host.emplace_back(i, std::move(e));
      continue;
    }
    const Located loc = BundleReaderAccess::locate(r, keys[i], e, n);
    ranges.push_back({loc.data->file.get(), loc.offset, loc.size});
    planned.push_back({i, std::move(e), loc});
  }
  for (auto& [i, e] : on_host) done(i, read(keys[i], e));

  std::vector<Tensor> tensors(ranges.size());
  ParallelReadOptions options;
  options.threads = std::max(threads, 1);
  options.sub_piece_bytes = kHostChunk;
  read_ranges_in_parallel(
      ranges, options,
      {.destination =
           [&](size_t j) {
             const BundleEntry& e = planned[j].entry;
             tensors[j] = allocator ? Tensor(e.dtype, Shape(e.shape), allocator, device)
                                    : Tensor(e.dtype, Shape(e.shape));
             return static_cast<char*>(tensors[j].raw_data());
           },
       .finished =
           [&](size_t j, uint32_t crc) {
             const Planned& p = planned[j];
             if (crc32c::mask(crc) != p.entry.masked_crc32c) {
               tensors[j] = Tensor();  // give the memory back now
               checksum_mismatch(p.loc.context(r.prefix, keys[p.key]), p.entry.masked_crc32c, crc);
             }
             const size_t key = p.key;
             done(key, std::move(tensors[j]));
           }});
}

Tensor BundleReader::lookup_slice(const std::string& name, const TensorSlice& slice) const {
  const BundleEntry e = entry(name);
  check_slice(slice, e.shape, "tensor " + name);
  if (e.slices.empty()) {
    const Tensor whole = read(name, e);
    return assemble_slice(name, e.dtype, e.shape, {full_slice(static_cast<int>(e.shape.size()))},
                          slice, [&](size_t) { return whole; });
  }
  checked_num_elements(e, name, rep_->prefix);
  return read_slice(name, e, slice);
}

// REQUIRES: `full` is a partitioned tensor's entry whose dtype and shape were validated.
Tensor BundleReader::read_slice(const std::string& name, const BundleEntry& full,
                                const TensorSlice& slice) const {
  return assemble_slice(name, full.dtype, full.shape, full.slices, slice, [&](size_t i) {
    const std::string key = encode_slice_key(name, full.slices[i]);
    std::optional<std::string> value = rep_->get(key);
    if (!value)
      throw DataLossError("Slice " + slice_spec_string(full.slices[i]) + " of partitioned tensor " +
                          name + " is listed but not stored in " + rep_->index_name);
    std::optional<BundleEntry> e = decode_entry(*value);
    if (!e || !e->slices.empty())
      throw DataLossError("Entry for slice " + slice_spec_string(full.slices[i]) + " of " + name +
                          " not parseable in " + rep_->index_name);
    return read(name + " (slice " + slice_spec_string(full.slices[i]) + ")", *e);
  });
}

void BundleReader::for_each(
    const std::function<void(const std::string& key, const BundleEntry&)>& fn) const {
  auto it = rep_->table->new_iterator();
  for (it->seek_to_first(); it->valid(); it->next()) {
    if (it->key().empty()) continue;  // the header
    const std::string key(it->key());
    std::optional<BundleEntry> e = decode_entry(it->value());
    if (!e) throw DataLossError("Entry for key " + key + " not parseable in " + rep_->index_name);
    fn(key, *e);
  }
}

std::vector<std::string> BundleReader::keys() const {
  std::vector<std::string> out;
  for_each([&](const std::string& key, const BundleEntry&) { out.push_back(key); });
  return out;
}

}  // namespace kiln::io

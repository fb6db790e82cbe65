#include "io/verify.h"

#include <map>
#include <new>

#include "core/errors.h"
#include "io/bundle_reader.h"
#include "io/checkpoint_files.h"
#include "io/crc32c.h"
#include "io/ordered_code.h"
#include "io/tensor_slice.h"
#include "io/v1_reader.h"

namespace kiln::io {
namespace {

[[noreturn]] void problem(const std::string& what) { throw DataLossError(what); }

// A tensor of a dtype kiln cannot hold: its bytes are still checked against the entry's bounds
// and checksum.
void check_raw_bytes(FileSystem* fs, const BundleReader& reader, const std::string& key,
                     const BundleEntry& e) {
  const BundleHeader& h = reader.header();
  if (e.shard_id < 0 || e.shard_id >= h.num_shards)
    problem("Invalid shard_id " + std::to_string(e.shard_id) + " for tensor " + key);
  const std::string file = data_filename(reader.prefix(), e.shard_id, h.num_shards);
  const uint64_t size = fs->file_size(file);
  if (e.offset < 0 || e.size < 0 || static_cast<uint64_t>(e.offset) > size ||
      static_cast<uint64_t>(e.size) > size - static_cast<uint64_t>(e.offset))
    problem("Bundle entry for " + key + " points past the end of data file " + file);
  const std::string bytes = fs->new_random_access_file(file)->read(e.offset, e.size);
  if (crc32c::mask(crc32c::value(bytes.data(), bytes.size())) != e.masked_crc32c)
    problem("Checksum does not match for tensor " + key + " in " + file);
}

// The slices of a partitioned tensor: inside its shape, disjoint, each stored under its key as an
// entry of the slice's shape and the tensor's dtype.
void check_partitioned(const std::map<std::string, BundleEntry>& entries, const std::string& name,
                       const BundleEntry& full) {
  std::vector<TensorSlice> resolved;
  for (const TensorSlice& s : full.slices) {
    try {
      check_slice(s, full.shape, "partitioned tensor " + name);
    } catch (const InvalidArgumentError& e) {
      problem(e.what());
    }
    resolved.push_back(resolve_slice(s, full.shape));
    for (size_t j = 0; j + 1 < resolved.size(); ++j)
      if (intersect(resolved[j], resolved.back()))
        problem("Overlapping slices " + slice_spec_string(full.slices[j]) + " and " +
                slice_spec_string(s) + " of tensor " + name);
    auto it = entries.find(encode_slice_key(name, s));
    if (it == entries.end())
      problem("Slice " + slice_spec_string(s) + " of tensor " + name + " is listed but not stored");
    if (it->second.dtype != full.dtype || it->second.shape != slice_shape(s, full.shape))
      problem("Slice " + slice_spec_string(s) + " of tensor " + name +
              " is stored with another dtype or shape");
  }
}

void verify_v2(FileSystem* fs, const std::string& prefix) {
  BundleReader reader(prefix, fs);  // the index's structure and its header
  const BundleHeader& h = reader.header();
  for (int i = 0; i < h.num_shards; ++i) {
    const std::string file = data_filename(prefix, i, h.num_shards);
    if (!fs->exists(file)) throw NotFoundError("Data file " + file + " is missing");
  }
  std::map<std::string, BundleEntry> entries;  // reads every block of the index
  reader.for_each([&](const std::string& key, const BundleEntry& e) { entries.emplace(key, e); });

  for (const auto& [key, e] : entries) {
    std::string name;
    TensorSlice slice;
    if (decode_slice_key(key, &name, &slice)) {
      auto full = entries.find(name);
      bool listed = false;
      if (full != entries.end())
        for (const TensorSlice& s : full->second.slices) listed = listed || s == slice;
      if (!listed)
        problem("Slice entry " + slice_spec_string(slice) + " of tensor " + name +
                " is not listed by a partitioned tensor of that name");
      name += " (slice " + slice_spec_string(slice) + ")";
    } else {
      name = key;
    }
    if (!e.slices.empty()) {
      check_partitioned(entries, key, e);
      continue;
    }
    if (dtype_is_valid(static_cast<int>(e.dtype)) || e.dtype == DType::kInvalid ||
        static_cast<int>(e.dtype) > 23)
      reader.read(name, e);  // every bound and checksum; bad dtypes throw here
    else
      check_raw_bytes(fs, reader, name, e);
  }
}

}  // namespace

std::string verify_checkpoint(const std::string& prefix_or_pattern, FileSystem* fs) {
  fs = fs ? fs : posix_file_system();
  try {
    CheckpointFiles files = find_checkpoint_files(fs, prefix_or_pattern);
    if (files.v2) {
      verify_v2(fs, prefix_or_pattern);
    } else {
      V1Reader(files.v1_files, fs).check_all();
    }
    return "";
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    return e.what();
  }
}

}  // namespace kiln::io

#include "io/merge_bundles.h"

#include <exception>
#include <map>
#include <random>

#include "core/errors.h"
#include "io/bundle_format.h"
#include "io/bundle_reader.h"
#include "io/table.h"

namespace kiln::io {
namespace {

std::string version_string(const VersionDef& v) {
  std::string s = "{producer: " + std::to_string(v.producer) +
                  ", min_consumer: " + std::to_string(v.min_consumer) + ", bad_consumers: [";
  for (size_t i = 0; i < v.bad_consumers.size(); ++i)
    s += (i ? "," : "") + std::to_string(v.bad_consumers[i]);
  return s + "]}";
}

struct Merge {
  BundleHeader header;
  std::map<std::string, BundleEntry> entries;
  std::map<std::string, int> new_ids;  // source data file -> merged shard id
  std::vector<std::string> sources;    // by merged shard id

  void add_header(size_t i, const BundleHeader& h) {
    if (i == 0) {
      header.endianness = h.endianness;
      header.version = h.version;
      return;
    }
    if (h.endianness != header.endianness)
      throw InvalidArgumentError("Merging bundles with conflicting endianness; inputs corrupted?");
    const VersionDef &a = header.version, &b = h.version;
    if (a.producer != b.producer || a.min_consumer != b.min_consumer ||
        a.bad_consumers != b.bad_consumers)
      throw InvalidArgumentError("Merging bundles with different format versions: merged " +
                                 version_string(a) + " vs. " + version_string(b));
  }

  void add_entry(const std::string& prefix, int num_shards, const std::string& key,
                 BundleEntry e) {
    auto it = entries.find(key);
    if (it != entries.end()) {
      BundleEntry& seen = it->second;
      if (seen.slices.empty() || e.slices.empty())
        throw InvalidArgumentError("Duplicate tensor keyed by " + key +
                                   " encountered, when merging prefix: " + prefix);
      if (seen.dtype != e.dtype || seen.shape != e.shape)
        throw InvalidArgumentError("Slices of tensor " + key + " disagree on dtype or shape "
                                   "when merging prefix: " + prefix);
      seen.slices.insert(seen.slices.end(), e.slices.begin(), e.slices.end());
      return;
    }
    if (e.slices.empty()) {  // holds bytes: map its data file to a merged shard
      if (e.shard_id < 0 || e.shard_id >= num_shards)
        throw DataLossError("Invalid shard_id " + std::to_string(e.shard_id) + " for " + key +
                            " in " + index_filename(prefix));
      const std::string file = data_filename(prefix, e.shard_id, num_shards);
      auto [id, inserted] = new_ids.emplace(file, static_cast<int>(sources.size()));
      if (inserted) sources.push_back(file);
      e.shard_id = id->second;
    } else {
      e.shard_id = 0;
    }
    entries.emplace(key, std::move(e));
  }
};

void write_index(FileSystem* fs, const Merge& m, const std::string& merged_prefix) {
  const std::string final_name = index_filename(merged_prefix);
  const std::string tmp = final_name + ".tempstate" + std::to_string(std::random_device{}());
  try {
    std::unique_ptr<WritableFile> file = fs->new_writable_file(tmp);
    TableWriter table(file.get());
    table.add("", encode_header(m.header));
    for (const auto& [key, entry] : m.entries) table.add(key, encode_entry(entry));
    table.finish();
    file->sync();
    file->close();
    fs->rename(tmp, final_name);
  } catch (...) {
    try {
      if (fs->exists(tmp)) fs->delete_file(tmp);
    } catch (...) {
    }
    throw;
  }
}

}  // namespace

void merge_bundles(FileSystem* fs, const std::vector<std::string>& prefixes,
                   const std::string& merged_prefix) {
  fs = fs ? fs : posix_file_system();
  if (prefixes.empty()) throw InvalidArgumentError("merge_bundles needs at least one prefix");
  Merge m;
  for (size_t i = 0; i < prefixes.size(); ++i) {
    BundleReader reader(prefixes[i], fs);
    m.add_header(i, reader.header());
    const int num_shards = reader.header().num_shards;
    reader.for_each([&](const std::string& key, const BundleEntry& e) {
      m.add_entry(prefixes[i], num_shards, key, e);
    });
  }
  for (const std::string& file : m.sources)
    if (!fs->exists(file)) throw NotFoundError("Data file " + file + " of a merged bundle is missing");

  // Data files first, the index last: a reader that sees the index sees the data.
  create_dirs(fs, dirname(merged_prefix));
  const int n = static_cast<int>(m.sources.size());
  m.header.num_shards = std::max(n, 1);
  // On failure the renames are undone, so no data file without an index is left behind and the
  // inputs stay whole for the caller to remove or retry.
  int renamed = 0;
  bool index_written = false;
  try {
    for (; renamed < n; ++renamed)
      fs->rename(m.sources[renamed], data_filename(merged_prefix, renamed, n));
    if (n == 0) fs->new_writable_file(data_filename(merged_prefix, 0, 1))->close();
    write_index(fs, m, merged_prefix);
    index_written = true;
    fs->sync_dir(dirname(merged_prefix));
  } catch (...) {
    // The directory sync failed after the index was renamed into place: remove the index first
    // (never an index without its data); if even that fails, leave the bundle whole.
    if (index_written) {
      const std::exception_ptr first = std::current_exception();
      try {
        fs->delete_file(index_filename(merged_prefix));
      } catch (...) {
        std::rethrow_exception(first);
      }
    }
    for (int id = renamed - 1; id >= 0; --id) {
      try {
        fs->rename(data_filename(merged_prefix, id, n), m.sources[id]);
      } catch (...) {
      }
    }
    if (n == 0) {
      try {
        if (fs->exists(data_filename(merged_prefix, 0, 1))) fs->delete_file(data_filename(merged_prefix, 0, 1));
      } catch (...) {
      }
    }
    throw;
  }

  for (const std::string& prefix : prefixes) {
    if (index_filename(prefix) == index_filename(merged_prefix)) continue;
    try {
      fs->delete_file(index_filename(prefix));
    } catch (...) {  // as TF: a leftover input index is harmless
    }
  }
}

}  // namespace kiln::io

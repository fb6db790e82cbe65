#include "io/bundle_writer.h"

#include <exception>
#include <map>
#include <random>

#include "core/errors.h"
#include "io/bundle_format.h"
#include "io/table.h"
#include "io/tensor_data.h"

namespace kiln::io {
namespace {

uint64_t random64() {
  thread_local std::mt19937_64 gen([] {
    std::random_device rd;
    return (uint64_t(rd()) << 32) ^ rd();
  }());
  return gen();
}

}  // namespace

struct BundleWriter::Rep {
  FileSystem* fs;
  std::string prefix;
  BundleWriterOptions options;
  std::string data_tmp, index_tmp;
  std::string data_final, index_final;
  std::unique_ptr<WritableFile> data;
  uint64_t data_size = 0;
  std::map<std::string, BundleEntry> entries;  // ordered: the index is written in key order
  std::exception_ptr error;
  bool closed = false;
  bool data_renamed = false;
  bool index_renamed = false;

  // REQUIRES: a failure is being handled. Best effort: errors here must not hide the first one.
  void cleanup() noexcept {
    data.reset();  // closes quietly
    auto remove = [&](const std::string& path) {
      try {
        if (fs->exists(path)) fs->delete_file(path);
      } catch (...) {
      }
    };
    remove(data_tmp);
    remove(index_tmp);
    if (index_renamed) remove(index_final);  // index first: never an index without its data
    if (data_renamed) remove(data_final);
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

  void pad_to_alignment() {
    const uint64_t align = static_cast<uint64_t>(options.data_alignment);
    if (align <= 1 || data_size % align == 0) return;
    const std::string zeros(align - data_size % align, '\0');
    data->append(zeros);
    data_size += zeros.size();
  }

  void write_index() {
    std::unique_ptr<WritableFile> index = fs->new_writable_file(index_tmp);
    TableWriter table(index.get());
    BundleHeader header;
    header.num_shards = 1;
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
  r.data_final = data_filename(r.prefix, 0, 1);
  r.index_final = index_filename(r.prefix);
  r.data_tmp = r.data_final + ".tempstate" + std::to_string(random64());
  r.index_tmp = r.index_final + ".tempstate" + std::to_string(random64());
  create_dirs(r.fs, dirname(r.prefix));
  r.data = r.fs->new_writable_file(r.data_tmp);
}

BundleWriter::~BundleWriter() {
  if (!rep_->closed && !rep_->error) rep_->cleanup();
}

const std::string& BundleWriter::prefix() const { return rep_->prefix; }

void BundleWriter::add(const std::string& key, const Tensor& tensor) {
  Rep& r = *rep_;
  r.check_usable();
  r.guard([&] {
    if (key.empty()) throw InvalidArgumentError("The empty key is reserved for the bundle header");
    if (r.entries.count(key)) throw InvalidArgumentError("Adding duplicate key: " + key);
    if (!tensor.valid()) throw InvalidArgumentError("Adding an empty Tensor handle as " + key);
    const Tensor host = tensor.to_host();
    BundleEntry entry;
    entry.dtype = host.dtype();
    entry.shape = host.shape().dims();
    entry.offset = static_cast<int64_t>(r.data_size);
    WrittenTensor written = write_tensor_data(host, r.data.get());
    entry.size = static_cast<int64_t>(written.size);
    entry.masked_crc32c = written.masked_crc32c;
    r.data_size += written.size;
    r.pad_to_alignment();
    r.entries.emplace(key, std::move(entry));
  });
}

void BundleWriter::finish() {
  Rep& r = *rep_;
  r.check_usable();
  r.guard([&] {
    if (r.options.sync) r.data->sync();
    r.data->close();
    r.data.reset();
    r.write_index();
    r.fs->rename(r.data_tmp, r.data_final);
    r.data_renamed = true;
    r.fs->rename(r.index_tmp, r.index_final);
    r.index_renamed = true;
    if (r.options.sync) r.fs->sync_dir(dirname(r.prefix));
  });
  r.closed = true;
}

}  // namespace kiln::io

// TableWriter/TableReader over leveldb::TableBuilder/leveldb::Table. LevelDB talks to files
// through its own Env interfaces and Status values (it is built without exceptions), so two
// small adapters sit between it and kiln's files: they catch kiln's exceptions at the boundary,
// hand LevelDB a non-ok Status, and keep the first exception to rethrow on our side.
#include "io/table.h"

#include <leveldb/env.h>
#include <leveldb/iterator.h>
#include <leveldb/options.h>
#include <leveldb/table.h>
#include <leveldb/table_builder.h>

#include <exception>

#include "core/errors.h"
#include "io/table_check.h"

namespace kiln::io {
namespace {

class LevelDbWritableFile final : public leveldb::WritableFile {
 public:
  explicit LevelDbWritableFile(io::WritableFile* file) : file_(file) {}

  leveldb::Status Append(const leveldb::Slice& data) override {
    return call([&] { file_->append(std::string_view(data.data(), data.size())); });
  }
  leveldb::Status Flush() override { return call([&] { file_->flush(); }); }
  // The table's owner decides when to sync and close (after finish()).
  leveldb::Status Sync() override { return leveldb::Status::OK(); }
  leveldb::Status Close() override { return leveldb::Status::OK(); }

  std::exception_ptr error() const { return error_; }

 private:
  template <typename F>
  leveldb::Status call(F&& f) {
    try {
      f();
      return leveldb::Status::OK();
    } catch (const std::exception& e) {
      if (!error_) error_ = std::current_exception();
      return leveldb::Status::IOError(file_->name(), e.what());
    }
  }

  io::WritableFile* file_;
  std::exception_ptr error_;
};

// Reads are const and may run on several threads, so errors travel only as Status text.
class LevelDbRandomAccessFile final : public leveldb::RandomAccessFile {
 public:
  explicit LevelDbRandomAccessFile(std::unique_ptr<io::RandomAccessFile> file)
      : file_(std::move(file)) {}

  leveldb::Status Read(uint64_t offset, size_t n, leveldb::Slice* result,
                       char* scratch) const override {
    try {
      size_t got = file_->read_at(offset, n, scratch);
      *result = leveldb::Slice(scratch, got);  // a short read: LevelDB reports a truncated block
      return leveldb::Status::OK();
    } catch (const std::exception& e) {
      return leveldb::Status::IOError(file_->name(), e.what());
    }
  }

  const io::RandomAccessFile& file() const { return *file_; }

 private:
  std::unique_ptr<io::RandomAccessFile> file_;
};

leveldb::Options writer_options() {
  leveldb::Options options;
  options.compression = leveldb::kNoCompression;
  options.block_size = kTableBlockSize;
  options.block_restart_interval = kTableRestartInterval;
  return options;
}

// Corruption means damaged bytes; anything else came from the file layer.
[[noreturn]] void throw_status(const std::string& file, const leveldb::Status& s) {
  std::string msg = "Unable to read table file " + file + ": " + s.ToString();
  if (s.IsCorruption()) throw DataLossError(msg);
  throw UnknownError(msg);
}

}  // namespace

// ---- TableWriter -------------------------------------------------------------------------------

struct TableWriter::Rep {
  explicit Rep(WritableFile* f) : file(f), builder(writer_options(), &file) {}
  ~Rep() {
    if (!closed) builder.Abandon();  // LevelDB insists on Finish() or Abandon()
  }
  // Rethrows the first failure: the file's own exception when there is one.
  void check() {
    if (error) std::rethrow_exception(error);
    leveldb::Status s = builder.status();
    if (s.ok()) return;
    error = file.error() ? file.error()
                         : std::make_exception_ptr(UnknownError(file_name() + ": " + s.ToString()));
    std::rethrow_exception(error);
  }
  std::string file_name() const { return name; }

  LevelDbWritableFile file;
  leveldb::TableBuilder builder;
  std::string name;
  std::string last_key;
  bool closed = false;
  std::exception_ptr error;
};

TableWriter::TableWriter(WritableFile* file) : rep_(std::make_unique<Rep>(file)) {
  rep_->name = file->name();
}

TableWriter::~TableWriter() = default;

void TableWriter::add(std::string_view key, std::string_view value) {
  Rep& r = *rep_;
  r.check();
  if (r.closed) throw FailedPreconditionError("TableWriter for " + r.name + " is finished");
  if (r.builder.NumEntries() > 0 && key <= std::string_view(r.last_key))
    throw InvalidArgumentError("Table keys must be added in increasing order: \"" +
                               std::string(key) + "\" after \"" + r.last_key + "\" in " + r.name);
  r.last_key.assign(key);
  r.builder.Add(leveldb::Slice(key.data(), key.size()),
                leveldb::Slice(value.data(), value.size()));
  r.check();
}

void TableWriter::finish() {
  Rep& r = *rep_;
  r.check();
  if (r.closed) throw FailedPreconditionError("TableWriter for " + r.name + " is finished");
  r.closed = true;
  r.builder.Finish();
  r.check();
}

uint64_t TableWriter::num_entries() const { return rep_->builder.NumEntries(); }
uint64_t TableWriter::file_size() const { return rep_->builder.FileSize(); }

// ---- TableReader -------------------------------------------------------------------------------

struct TableReader::Rep {
  std::string name;
  std::unique_ptr<LevelDbRandomAccessFile> file;
  std::unique_ptr<leveldb::Table> table;
  uint64_t file_size = 0;
};

struct TableReader::Iterator::Rep {
  const std::string* name;
  uint64_t file_size = 0;
  std::unique_ptr<leveldb::Iterator> it;
};

namespace {

// LevelDB's block parser checks an entry's lengths against the block with a 32-bit sum
// (shared + non_shared + value_length can wrap), so a crafted block whose CRC is right (or any
// block when CRCs are not checked) can yield a key or value of ~4 GB pointing past the block.
// No entry can be larger than the file it is in: such a slice is damage, caught before use.
void check_slice_size(const std::string& name, uint64_t file_size, size_t size, const char* what) {
  if (size > file_size)
    throw DataLossError("Corrupt table " + name + ": an entry's " + what + " claims " +
                        std::to_string(size) + " bytes in a file of " + std::to_string(file_size));
}

}  // namespace

TableReader::TableReader(std::unique_ptr<RandomAccessFile> file, uint64_t file_size)
    : rep_(std::make_unique<Rep>()) {
  rep_->name = file->name();
  rep_->file_size = file_size;
  check_table_structure(*file, file_size);
  rep_->file = std::make_unique<LevelDbRandomAccessFile>(std::move(file));
  leveldb::Options options;
  options.paranoid_checks = true;  // verify the index block's checksum on open
#ifdef KILN_FUZZ_NO_TABLE_CHECKSUMS  // fuzz builds only (CMakeLists.txt, KILN_FUZZ)
  options.paranoid_checks = false;
#endif
  leveldb::Table* table = nullptr;
  leveldb::Status s = leveldb::Table::Open(options, rep_->file.get(), file_size, &table);
  if (!s.ok()) throw_status(rep_->name, s);
  rep_->table.reset(table);
}

TableReader::~TableReader() = default;

const std::string& TableReader::name() const { return rep_->name; }

std::unique_ptr<TableReader::Iterator> TableReader::new_iterator() const {
  leveldb::ReadOptions options;
  options.verify_checksums = true;
#ifdef KILN_FUZZ_NO_TABLE_CHECKSUMS  // fuzz builds only: let mutated blocks reach our decoding
  options.verify_checksums = false;
#endif
  options.fill_cache = false;
  auto rep = std::make_unique<Iterator::Rep>();
  rep->name = &rep_->name;
  rep->file_size = rep_->file_size;
  rep->it.reset(rep_->table->NewIterator(options));
  return std::unique_ptr<Iterator>(new Iterator(std::move(rep)));
}

std::optional<std::string> TableReader::get(std::string_view key) const {
  auto it = new_iterator();
  it->seek(key);
  if (!it->valid() || it->key() != key) return std::nullopt;
  return std::string(it->value());
}

TableReader::Iterator::Iterator(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
TableReader::Iterator::~Iterator() = default;

void TableReader::Iterator::check() const {
  if (!rep_->it->status().ok()) throw_status(*rep_->name, rep_->it->status());
}
void TableReader::Iterator::seek_to_first() {
  rep_->it->SeekToFirst();
  check();
}
void TableReader::Iterator::seek(std::string_view target) {
  rep_->it->Seek(leveldb::Slice(target.data(), target.size()));
  check();
}
bool TableReader::Iterator::valid() const { return rep_->it->Valid(); }
void TableReader::Iterator::next() {
  rep_->it->Next();
  check();
}
std::string_view TableReader::Iterator::key() const {
  leveldb::Slice k = rep_->it->key();
  check_slice_size(*rep_->name, rep_->file_size, k.size(), "key");
  return {k.data(), k.size()};
}
std::string_view TableReader::Iterator::value() const {
  leveldb::Slice v = rep_->it->value();
  check_slice_size(*rep_->name, rep_->file_size, v.size(), "value");
  return {v.data(), v.size()};
}

}  // namespace kiln::io

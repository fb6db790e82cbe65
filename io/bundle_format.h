// The V2 tensor bundle ("checkpoint") format: file names, the header and entry records, and their
// protobuf encoding. A bundle at prefix P is
//   P.index                    a LevelDB-format table: key "" -> BundleHeaderProto, then
//                              tensor name -> BundleEntryProto, in bytewise key order
//   P.data-00000-of-0000N      tensor bytes, one file per shard
// (facts: shared/reference/tf-checkpoint-format.md §1).
//
// The records here are plain structs so that no public header sees protobuf; the encode/decode
// functions are the only place the generated messages are used.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"

namespace kiln::io {

// Versions a bundle writer stamps and a reader accepts (TF's kTensorBundle* constants).
inline constexpr int kBundleVersion = 1;
inline constexpr int kBundleMinProducer = 0;
inline constexpr int kBundleMinConsumer = 0;

// P.index
std::string index_filename(const std::string& prefix);
// P.data-%05d-of-%05d
std::string data_filename(const std::string& prefix, int shard_id, int num_shards);

struct VersionDef {
  int producer = 0;
  int min_consumer = 0;
  std::vector<int> bad_consumers;
};

struct BundleHeader {
  enum class Endianness { kLittle = 0, kBig = 1 };
  int num_shards = 1;
  Endianness endianness = Endianness::kLittle;
  VersionDef version;
};

// One dimension of a slice: [start, start + length); length -1 means the whole dimension.
struct SliceExtent {
  int64_t start = 0;
  int64_t length = -1;
  bool operator==(const SliceExtent&) const = default;
};
using TensorSlice = std::vector<SliceExtent>;

struct BundleEntry {
  // TF's DataType number; may be one kiln has no DType for (complex64, ...), which a reader
  // reports only when such a tensor is looked up.
  DType dtype = DType::kInvalid;
  std::vector<int64_t> shape;  // as stored; validated by the reader before use
  int shard_id = 0;
  int64_t offset = 0;
  int64_t size = 0;
  uint32_t masked_crc32c = 0;
  std::vector<TensorSlice> slices;  // only on the full entry of a partitioned tensor
};

// TF's CheckVersions for bundles and V1 checkpoints (both at version 1), with TF's messages:
// InvalidArgumentError "Checkpoint min consumer version X above current version 1 for
// TensorFlow", "... producer version X below min producer 0 ...", "Checkpoint disallows consumer
// version 1.  Please upgrade TensorFlow: this version is likely buggy."
void check_versions(const VersionDef& version);

// The host's byte order as a header records it.
BundleHeader::Endianness host_endianness();

// Serialized BundleHeaderProto / BundleEntryProto, byte-identical to TF's C++ serialization
// (proto3: default scalars omitted; an entry's shape is always written, "12 00" for a scalar).
std::string encode_header(const BundleHeader& header);
std::string encode_entry(const BundleEntry& entry);
// std::nullopt when the bytes are not a valid message.
std::optional<BundleHeader> decode_header(std::string_view bytes);
std::optional<BundleEntry> decode_entry(std::string_view bytes);

}  // namespace kiln::io

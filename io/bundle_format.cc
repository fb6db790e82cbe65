// Conversion between the plain bundle records and the generated protobuf messages.
#include "io/bundle_format.h"

#include <bit>
#include <cstdio>

#include "core/errors.h"
#include "io/proto/tensor_bundle.pb.h"

namespace kiln::io {

std::string index_filename(const std::string& prefix) { return prefix + ".index"; }

std::string data_filename(const std::string& prefix, int shard_id, int num_shards) {
  char suffix[64];
  std::snprintf(suffix, sizeof(suffix), ".data-%05d-of-%05d", shard_id, num_shards);
  return prefix + suffix;
}

void check_versions(const VersionDef& v) {
  const std::string current = std::to_string(kBundleVersion);
  if (v.min_consumer > kBundleVersion)
    throw InvalidArgumentError("Checkpoint min consumer version " + std::to_string(v.min_consumer) +
                               " above current version " + current + " for TensorFlow");
  if (v.producer < kBundleMinProducer)
    throw InvalidArgumentError("Checkpoint producer version " + std::to_string(v.producer) +
                               " below min producer " + std::to_string(kBundleMinProducer) +
                               " supported by TensorFlow");
  for (int bad : v.bad_consumers)
    if (bad == kBundleVersion)
      throw InvalidArgumentError("Checkpoint disallows consumer version " + current +
                                 ".  Please upgrade TensorFlow: this version is likely buggy.");
}

BundleHeader::Endianness host_endianness() {
  return std::endian::native == std::endian::little ? BundleHeader::Endianness::kLittle
                                                    : BundleHeader::Endianness::kBig;
}

std::string encode_header(const BundleHeader& header) {
  kiln::BundleHeaderProto proto;
  proto.set_num_shards(header.num_shards);
  proto.set_endianness(header.endianness == BundleHeader::Endianness::kBig
                           ? kiln::BundleHeaderProto::BIG
                           : kiln::BundleHeaderProto::LITTLE);
  kiln::VersionDef* version = proto.mutable_version();
  version->set_producer(header.version.producer);
  version->set_min_consumer(header.version.min_consumer);
  for (int v : header.version.bad_consumers) version->add_bad_consumers(v);
  return proto.SerializeAsString();
}

std::string encode_entry(const BundleEntry& entry) {
  kiln::BundleEntryProto proto;
  proto.set_dtype(static_cast<kiln::DataType>(entry.dtype));
  kiln::TensorShapeProto* shape = proto.mutable_shape();  // always present, as TF writes it
  for (int64_t d : entry.shape) shape->add_dim()->set_size(d);
  proto.set_shard_id(entry.shard_id);
  proto.set_offset(entry.offset);
  proto.set_size(entry.size);
  proto.set_crc32c(entry.masked_crc32c);
  for (const TensorSlice& slice : entry.slices) {
    kiln::TensorSliceProto* s = proto.add_slices();
    for (const SliceExtent& e : slice) {
      kiln::TensorSliceProto::Extent* x = s->add_extent();
      if (e.length >= 0) {  // a full dimension is an empty Extent
        x->set_start(e.start);
        x->set_length(e.length);
      }
    }
  }
  return proto.SerializeAsString();
}

std::optional<BundleHeader> decode_header(std::string_view bytes) {
  kiln::BundleHeaderProto proto;
  if (!proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return std::nullopt;
  BundleHeader header;
  header.num_shards = proto.num_shards();
  header.endianness = proto.endianness() == kiln::BundleHeaderProto::BIG
                          ? BundleHeader::Endianness::kBig
                          : BundleHeader::Endianness::kLittle;
  header.version.producer = proto.version().producer();
  header.version.min_consumer = proto.version().min_consumer();
  header.version.bad_consumers.assign(proto.version().bad_consumers().begin(),
                                      proto.version().bad_consumers().end());
  return header;
}

std::optional<BundleEntry> decode_entry(std::string_view bytes) {
  kiln::BundleEntryProto proto;
  if (!proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return std::nullopt;
  BundleEntry entry;
  entry.dtype = static_cast<DType>(proto.dtype());
  if (proto.shape().unknown_rank()) return std::nullopt;
  for (const auto& dim : proto.shape().dim()) entry.shape.push_back(dim.size());
  entry.shard_id = proto.shard_id();
  entry.offset = proto.offset();
  entry.size = proto.size();
  entry.masked_crc32c = proto.crc32c();
  for (const auto& s : proto.slices()) {
    TensorSlice slice;
    for (const auto& x : s.extent()) {
      SliceExtent e;
      if (x.has_length_case() == kiln::TensorSliceProto::Extent::kLength) {
        e.start = x.start();
        e.length = x.length();
      }
      slice.push_back(e);
    }
    entry.slices.push_back(std::move(slice));
  }
  return entry;
}

}  // namespace kiln::io

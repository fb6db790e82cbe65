// Byte-level checks against the vectors in shared/reference/tf-checkpoint-format.md (§1.5, §1.13).
#include "io/bundle_format.h"

#include <gtest/gtest.h>

#include "core/tensor.h"
#include "io/bundle_writer.h"
#include "io/crc32c.h"
#include "io/mem_file_system.h"
#include "io/tensor_data.h"

namespace kiln::io {
namespace {

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}

std::string to_hex(const std::string& s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += digits[c >> 4];
    out += digits[c & 15];
    out += ' ';
  }
  return out;
}

TEST(BundleFormat, FileNames) {
  EXPECT_EQ(index_filename("/a/model.ckpt"), "/a/model.ckpt.index");
  EXPECT_EQ(data_filename("/a/model.ckpt", 0, 1), "/a/model.ckpt.data-00000-of-00001");
  EXPECT_EQ(data_filename("p", 2, 13), "p.data-00002-of-00013");
}

TEST(BundleFormat, HeaderBytes) {
  BundleHeader h;
  h.num_shards = 1;
  h.version.producer = 1;
  EXPECT_EQ(to_hex(encode_header(h)), to_hex(bytes({0x08, 0x01, 0x1a, 0x02, 0x08, 0x01})));
  auto back = decode_header(encode_header(h));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->num_shards, 1);
  EXPECT_EQ(back->version.producer, 1);
  EXPECT_EQ(back->endianness, BundleHeader::Endianness::kLittle);
}

TEST(BundleFormat, EntryBytes) {
  BundleEntry e;
  e.dtype = DType::kFloat;
  e.shape = {2, 3};
  e.size = 24;
  e.masked_crc32c = 0x7c5ff4cf;
  EXPECT_EQ(to_hex(encode_entry(e)),
            to_hex(bytes({0x08, 0x01, 0x12, 0x08, 0x12, 0x02, 0x08, 0x02, 0x12, 0x02, 0x08, 0x03,
                          0x28, 0x18, 0x35, 0xcf, 0xf4, 0x5f, 0x7c})));
  BundleEntry scalar;
  scalar.dtype = DType::kFloat;
  scalar.size = 4;
  float one = 1.0f;
  scalar.masked_crc32c = crc32c::mask(crc32c::value(&one, 4));
  EXPECT_EQ(to_hex(encode_entry(scalar)),
            to_hex(bytes({0x08, 0x01, 0x12, 0x00, 0x28, 0x04, 0x35, 0x81, 0xa5, 0xda, 0x2b})));
}

TEST(BundleFormat, SlicesRoundTrip) {
  BundleEntry e;
  e.dtype = DType::kInt64;
  e.shape = {10, 3};
  e.slices = {{{0, 5}, {0, -1}}, {{5, 5}, {0, -1}}};
  auto back = decode_entry(encode_entry(e));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->slices, e.slices);
  EXPECT_EQ(back->shape, e.shape);
}

TEST(BundleFormat, DecodeRejectsGarbage) {
  EXPECT_FALSE(decode_entry(bytes({0x12, 0x7f})));  // length past the end
  EXPECT_FALSE(decode_header(bytes({0xff})));
}

// Writes a string tensor's data through the in-memory file system and returns the bytes.
TEST(BundleFormat, StringTensorDataBytes) {
  MemFileSystem fs;
  auto f = fs.new_writable_file("d");
  WrittenTensor w = write_tensor_data(Tensor::of_strings({"hello", "world"}, Shape{2}), f.get());
  EXPECT_EQ(to_hex(fs.get_contents("d")),
            to_hex(bytes({0x05, 0x05, 0xb5, 0x6f, 0x99, 0x4f, 'h', 'e', 'l', 'l', 'o', 'w', 'o',
                          'r', 'l', 'd'})));
  EXPECT_EQ(w.size, 16u);
  EXPECT_EQ(crc32c::unmask(w.masked_crc32c), 0xb0a1b2a9u);
  EXPECT_EQ(w.masked_crc32c, 0x07d64c1bu);
}

// The complete 125-byte .index for one tensor "v" (float32 [2,3] zeros) from the reference.
TEST(BundleFormat, IndexIsByteIdenticalToTensorFlows) {
  const std::string expected = bytes({
      0x00, 0x00, 0x06, 0x08, 0x01, 0x1a, 0x02, 0x08, 0x01, 0x00, 0x01, 0x13, 0x76, 0x08, 0x01, 0x12,
      0x08, 0x12, 0x02, 0x08, 0x02, 0x12, 0x02, 0x08, 0x03, 0x28, 0x18, 0x35, 0xcf, 0xf4, 0x5f, 0x7c,
      0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0xa1, 0xee, 0x25, 0x84, 0x00, 0x00, 0x00,
      0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xf2, 0xa1, 0xb0, 0x00, 0x01, 0x02, 0x77, 0x00, 0x28,
      0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0xab, 0xa9, 0xc0, 0xb8, 0x2d, 0x08, 0x3a,
      0x0e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb});
  ASSERT_EQ(expected.size(), 125u);
  MemFileSystem fs;
  BundleWriter writer("model", {.fs = &fs});
  writer.add("v", Tensor::of<float>({0, 0, 0, 0, 0, 0}, {2, 3}));
  writer.finish();
  EXPECT_EQ(to_hex(fs.get_contents("model.index")), to_hex(expected));
  EXPECT_EQ(fs.get_contents("model.data-00000-of-00001"), std::string(24, '\0'));
  EXPECT_EQ(fs.list_dir("."), (std::vector<std::string>{"model.data-00000-of-00001",
                                                        "model.index"}));
}

}  // namespace
}  // namespace kiln::io

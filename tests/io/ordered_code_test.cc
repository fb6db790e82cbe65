// Slice keys (OrderedCode) and slice specs: the reference's test vector, round trips, and that
// encodings sort like the values they encode.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>

#include "core/errors.h"
#include "io/ordered_code.h"
#include "io/tensor_slice.h"
#include "io_test_util.h"

namespace kiln::io {
namespace {

std::string hex(const std::string& s) {
  std::string out;
  char buf[4];
  for (unsigned char c : s) {
    std::snprintf(buf, sizeof(buf), "%02x ", c);
    out += buf;
  }
  if (!out.empty()) out.pop_back();
  return out;
}

TEST(OrderedCode, ReferenceSliceKey) {
  EXPECT_EQ(hex(encode_slice_key("foo", parse_slice_spec("-:0,1"))),
            "00 66 6f 6f 00 01 01 02 80 7f 80 81");
}

TEST(OrderedCode, SignedSingleBytes) {
  for (auto [v, byte] : std::vector<std::pair<int64_t, int>>{{0, 0x80}, {1, 0x81}, {5, 0x85},
                                                             {-1, 0x7f}, {63, 0xbf}, {-64, 0x40}}) {
    std::string s;
    ordered_put_signed(&s, v);
    EXPECT_EQ(s, std::string(1, static_cast<char>(byte))) << v;
  }
}

TEST(OrderedCode, SignedRoundTripAndOrder) {
  std::vector<int64_t> values = {0, 1, -1, 63, 64, -64, -65, 8191, 8192, -8192, -8193,
                                 1 << 20, -(1 << 20), int64_t{1} << 40, -(int64_t{1} << 40),
                                 (int64_t{1} << 55) - 1, int64_t{1} << 55, int64_t{1} << 62,
                                 std::numeric_limits<int64_t>::max(),
                                 std::numeric_limits<int64_t>::min()};
  std::sort(values.begin(), values.end());
  std::vector<std::string> encoded;
  for (int64_t v : values) {
    std::string s;
    ordered_put_signed(&s, v);
    std::string_view in = s;
    int64_t back = 0;
    ASSERT_TRUE(ordered_get_signed(&in, &back)) << v;
    EXPECT_EQ(back, v);
    EXPECT_TRUE(in.empty()) << v;
    encoded.push_back(s);
  }
  EXPECT_TRUE(std::is_sorted(encoded.begin(), encoded.end())) << "encodings sort like values";
  std::string s;
  ordered_put_signed(&s, 64);
  EXPECT_EQ(hex(s), "c0 40");  // two bytes: prefix 110, then 13 value bits
}

TEST(OrderedCode, NamesWithEscapesRoundTrip) {
  const std::string name("a\0b\xff/c", 6);
  const TensorSlice slice = {{0, 5}, {}, {3, 1000}};
  std::string back;
  TensorSlice back_slice;
  ASSERT_TRUE(decode_slice_key(encode_slice_key(name, slice), &back, &back_slice));
  EXPECT_EQ(back, name);
  EXPECT_EQ(back_slice, slice);
  EXPECT_FALSE(decode_slice_key("plain_name", &back, &back_slice));
  EXPECT_FALSE(decode_slice_key(encode_slice_key("x", slice) + "z", &back, &back_slice));
}

TEST(TensorSliceSpec, ParseAndFormat) {
  EXPECT_EQ(parse_slice_spec("0,5:-"), (TensorSlice{{0, 5}, {}}));
  EXPECT_EQ(parse_slice_spec(""), TensorSlice{});
  EXPECT_EQ(slice_spec_string({{2, 3}, {}}), "2,3:-");
  KILN_EXPECT_ERROR(parse_slice_spec("0,"), InvalidArgumentError, "Invalid slice spec");
  KILN_EXPECT_ERROR(parse_slice_spec("a,1"), InvalidArgumentError, "Invalid slice spec");
  KILN_EXPECT_ERROR(parse_slice_spec("-1,2"), InvalidArgumentError, "Invalid slice spec");
  ShapeAndSlice ss = parse_shape_and_slice("10 3 0,5:0,3");
  EXPECT_EQ(ss.shape, (std::vector<int64_t>{10, 3}));
  EXPECT_EQ(ss.slice, (TensorSlice{{0, 5}, {0, 3}}));
  KILN_EXPECT_ERROR(parse_shape_and_slice("10 3 8,5:-"), InvalidArgumentError, "outside");
}

TEST(TensorSliceSpec, CheckAndResolve) {
  const std::vector<int64_t> shape = {4, 6};
  KILN_EXPECT_ERROR(check_slice({{0, 5}, {}}, shape, "t"), InvalidArgumentError, "outside");
  KILN_EXPECT_ERROR(check_slice({{0, 1}}, shape, "t"), InvalidArgumentError, "rank");
  EXPECT_TRUE(is_full_slice({{}, {0, 6}}, shape));
  EXPECT_FALSE(is_full_slice({{}, {0, 5}}, shape));
  EXPECT_EQ(slice_shape({{1, 2}, {}}, shape), (std::vector<int64_t>{2, 6}));
  EXPECT_EQ(intersect({{0, 2}, {0, 6}}, {{1, 3}, {4, 2}}), (TensorSlice{{1, 1}, {4, 2}}));
  EXPECT_FALSE(intersect({{0, 2}, {0, 6}}, {{2, 2}, {0, 6}}).has_value());
}

}  // namespace
}  // namespace kiln::io

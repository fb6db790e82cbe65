#include "io/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace kiln::crc32c {
namespace {

TEST(Crc32c, StandardCheckValue) {
  EXPECT_EQ(value("123456789"), 0xe3069283u);
  EXPECT_EQ(extend_portable(0, "123456789", 9), 0xe3069283u);
  if (hardware_available()) {
    EXPECT_EQ(extend_hardware(0, "123456789", 9), 0xe3069283u);
  }
}

// Vectors from RFC 3720 (iSCSI), B.4.
TEST(Crc32c, Rfc3720Vectors) {
  std::string zeros(32, '\0'), ones(32, '\xff'), ascending(32, 0), descending(32, 0);
  for (int i = 0; i < 32; ++i) {
    ascending[i] = static_cast<char>(i);
    descending[i] = static_cast<char>(31 - i);
  }
  EXPECT_EQ(value(zeros), 0x8a9136aau);
  EXPECT_EQ(value(ones), 0x62a8ab43u);
  EXPECT_EQ(value(ascending), 0x46dd794eu);
  EXPECT_EQ(value(descending), 0x113fdb5cu);
  EXPECT_EQ(value(""), 0u);
}

TEST(Crc32c, ExtendEqualsValueOfConcatenation) {
  std::string a = "hello ", b = "world";
  EXPECT_EQ(extend(value(a), b), value(a + b));
}

TEST(Crc32c, MaskRoundTripsAndMatchesDefinition) {
  const uint32_t crc = value("foo");
  EXPECT_NE(mask(crc), crc);
  EXPECT_NE(mask(mask(crc)), crc);
  EXPECT_EQ(unmask(mask(crc)), crc);
  EXPECT_EQ(unmask(unmask(mask(mask(crc)))), crc);
  EXPECT_EQ(mask(crc), ((crc >> 15) | (crc << 17)) + 0xa282ead8u);
  // From the bundle format reference: 24 zero bytes.
  EXPECT_EQ(value(std::string(24, '\0')), 0x84fbeceeu);
  EXPECT_EQ(mask(0x84fbeceeu), 0x7c5ff4cfu);
}

TEST(Crc32c, HardwareMatchesPortableOnRandomBuffers) {
  if (!hardware_available()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  std::mt19937_64 rng(42);
  std::string buf(1 << 16, '\0');
  for (char& c : buf) c = static_cast<char>(rng());
  for (int trial = 0; trial < 500; ++trial) {
    size_t start = rng() % 64;  // every alignment
    size_t len = rng() % (buf.size() - start);
    if (trial < 100) len = trial;  // every short length
    uint32_t init = static_cast<uint32_t>(rng());
    ASSERT_EQ(extend_hardware(init, buf.data() + start, len),
              extend_portable(init, buf.data() + start, len))
        << "start " << start << " len " << len;
  }
}

// The three-way interleaved path (long and short blocks joined by the zero-extension operator)
// against one chain of the same instruction and against the portable tables, on lengths that
// cross every block boundary and on every alignment.
TEST(Crc32c, InterleavedEqualsSerialOnRandomLengthsAndAlignments) {
  std::mt19937_64 rng(7);
  std::string buf((1 << 20) + 64, '\0');
  for (char& c : buf) c = static_cast<char>(rng());
  const size_t interesting[] = {0,         1,         7,         8,          767,
                                768,       769,       3 * 256,   3 * 8192 - 1, 3 * 8192,
                                3 * 8192 + 1, 3 * 8192 + 768, 2 * 3 * 8192 + 5, 1 << 20};
  std::vector<size_t> lengths(std::begin(interesting), std::end(interesting));
  for (int i = 0; i < 300; ++i) lengths.push_back(rng() % (1 << 20));
  for (size_t len : lengths) {
    const size_t start = rng() % 64;
    const uint32_t init = static_cast<uint32_t>(rng());
    const char* p = buf.data() + start;
    const uint32_t serial = extend_hardware_serial(init, p, len);
    ASSERT_EQ(extend(init, p, len), serial) << "start " << start << " len " << len;
    ASSERT_EQ(extend_hardware(init, p, len), serial) << "start " << start << " len " << len;
    if (len < 100000) {
      ASSERT_EQ(extend_portable(init, p, len), serial) << "start " << start << " len " << len;
    }
  }
}

TEST(Crc32c, CombineJoinsPieces) {
  std::mt19937_64 rng(11);
  std::string buf(100000, '\0');
  for (char& c : buf) c = static_cast<char>(rng());
  for (int trial = 0; trial < 200; ++trial) {
    const size_t cut = rng() % (buf.size() + 1);
    const uint32_t a = value(buf.data(), cut), b = value(buf.data() + cut, buf.size() - cut);
    ASSERT_EQ(combine(a, b, buf.size() - cut), value(buf)) << "cut " << cut;
  }
  EXPECT_EQ(combine(value("12345"), value("6789"), 4), 0xe3069283u);
  EXPECT_EQ(combine(value("123456789"), 0, 0), 0xe3069283u);
}

}  // namespace
}  // namespace kiln::crc32c

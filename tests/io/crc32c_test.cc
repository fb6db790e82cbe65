#include "io/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

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

}  // namespace
}  // namespace kiln::crc32c

// Tests for kernels/random/philox.h and the uniform bit mapping: Random123 known answers, counter carries.
// Must be compiled like the kernels: -ffp-contract=off, no -ffast-math.
#include "kernels/random_test_util.h"

namespace kiln::random {
namespace {

using namespace test_util;

// ----------------------------------------------------------------- Philox --

struct Kat {
  Uint32x4 ctr;
  std::uint32_t key[2];
  Uint32x4 expected;
};

// Random123 tests/kat_vectors, the three "philox4x32 10" lines
// (fields: counter[4], key[2], expected[4]).
TEST(RandomPhilox, Random123KnownAnswers) {
  const Kat kats[] = {
      {{{0, 0, 0, 0}},
       {0, 0},
       {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}}},
      {{{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}},
       {0xffffffff, 0xffffffff},
       {{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}}},
      {{{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}},
       {0xa4093822, 0x299f31d0},
       {{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}}},
  };
  for (const Kat& k : kats) {
    const Philox4x32 gen{{k.key[0], k.key[1]}};
    const Uint32x4 out = gen(k.ctr);
    for (int j = 0; j < 4; ++j) EXPECT_EQ(out.v[j], k.expected.v[j]) << j;
  }
}

TEST(RandomPhilox, CounterAddCarries) {
  const Uint32x4 a = counter_add(make_counter(~0ull, 5), 1);
  EXPECT_EQ(a.v[0], 0u);
  EXPECT_EQ(a.v[1], 0u);
  EXPECT_EQ(a.v[2], 6u);
  EXPECT_EQ(a.v[3], 0u);
  const Uint32x4 b = counter_add(make_counter(0xfffffffeull, 0), 3);
  EXPECT_EQ(b.v[0], 1u);
  EXPECT_EQ(b.v[1], 1u);
  const Uint32x4 c = counter_add(make_counter(~0ull, ~0ull), 1);  // wraps
  for (int j = 0; j < 4; ++j) EXPECT_EQ(c.v[j], 0u);
  const Uint32x4 d = counter_add_high(make_counter(7, ~0ull), 2);
  EXPECT_EQ(d.v[0], 7u);
  EXPECT_EQ(d.v[2], 1u);
  EXPECT_EQ(d.v[3], 0u);
  const Philox4x32 g = make_philox(0x0123456789abcdefull);
  EXPECT_EQ(g.key[0], 0x89abcdefu);
  EXPECT_EQ(g.key[1], 0x01234567u);
}

// ---------------------------------------------------------------- Uniform --

TEST(RandomUniform, FloatBits) {
  EXPECT_EQ(uint32_to_float01(0u), 0.0f);
  EXPECT_EQ(uint32_to_float01(0xffffffffu), 1.0f - 0x1p-23f);
  EXPECT_EQ(uint32_to_float01(1u), 0x1p-23f);
  EXPECT_EQ(uint32_to_float01(0x00400000u), 0.5f);
  EXPECT_EQ(uint32_to_float01(0xff800000u), 0.0f);  // top 9 bits ignored
  std::mt19937 rng(1);
  for (int i = 0; i < 1000000; ++i) {
    const std::uint32_t x = rng();
    const float u = uint32_to_float01(x);
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    ASSERT_EQ(u, static_cast<float>(x & 0x7fffffu) * 0x1p-23f);
  }
}

TEST(RandomUniform, DoubleBits) {
  EXPECT_EQ(uint32x2_to_double01(0u, 0u), 0.0);
  EXPECT_EQ(uint32x2_to_double01(0xffffffffu, 0xffffffffu), 1.0 - 0x1p-52);
  EXPECT_EQ(uint32x2_to_double01(1u, 0u), 0x1p-52);  // lo word = low bits
  EXPECT_EQ(uint32x2_to_double01(0u, 0x80000u), 0.5);
  EXPECT_EQ(uint32x2_to_double01(0u, 0xfff00000u), 0.0);  // top 12 ignored
  std::mt19937_64 rng(2);
  for (int i = 0; i < 1000000; ++i) {
    const std::uint64_t x = rng();
    const double u = uint32x2_to_double01(static_cast<std::uint32_t>(x),
                                          static_cast<std::uint32_t>(x >> 32));
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    ASSERT_EQ(u, static_cast<double>(x & 0xfffffffffffffull) * 0x1p-52);
  }
}


}  // namespace
}  // namespace kiln::random

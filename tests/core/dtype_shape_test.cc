#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "core/dtype.h"
#include "core/errors.h"
#include "core/shape.h"

namespace kiln {
namespace {

TEST(DType, NumberingMatchesTensorFlow) {
  EXPECT_EQ(static_cast<int>(DType::kFloat), 1);
  EXPECT_EQ(static_cast<int>(DType::kDouble), 2);
  EXPECT_EQ(static_cast<int>(DType::kInt32), 3);
  EXPECT_EQ(static_cast<int>(DType::kUInt8), 4);
  EXPECT_EQ(static_cast<int>(DType::kInt16), 5);
  EXPECT_EQ(static_cast<int>(DType::kInt8), 6);
  EXPECT_EQ(static_cast<int>(DType::kString), 7);
  EXPECT_EQ(static_cast<int>(DType::kInt64), 9);
  EXPECT_EQ(static_cast<int>(DType::kBool), 10);
  EXPECT_EQ(static_cast<int>(DType::kBFloat16), 14);
  EXPECT_EQ(static_cast<int>(DType::kHalf), 19);
}

TEST(DType, NamesRoundTrip) {
  for (DType d : {float32, float64, float16, bfloat16, int8, int16, int32, int64, uint8, boolean, string}) {
    EXPECT_EQ(dtype_from_name(dtype_name(d)), d);
    EXPECT_EQ(dtype_from_name(dtype_tf_name(d)), d);
  }
  EXPECT_STREQ(dtype_tf_name(float32), "DT_FLOAT");
  EXPECT_STREQ(dtype_name(float16), "float16");
  EXPECT_THROW(dtype_from_name("complex1024"), InvalidArgumentError);
  EXPECT_TRUE(dtype_is_valid(19));
  EXPECT_FALSE(dtype_is_valid(8));
}

TEST(DType, HalfConversionRoundsToNearestEven) {
  EXPECT_EQ(Half(1.0f).bits, 0x3c00);
  EXPECT_EQ(Half(-2.0f).bits, 0xc000);
  EXPECT_EQ(Half(65504.0f).bits, 0x7bff);
  EXPECT_EQ(Half(65520.0f).bits, 0x7c00);                // rounds up to infinity
  EXPECT_EQ(Half(std::ldexp(1.0f, -24)).bits, 0x0001);   // smallest subnormal
  EXPECT_EQ(Half(std::ldexp(1.0f, -26)).bits, 0x0000);   // below half of it rounds to zero
  EXPECT_EQ(Half(1.0f + std::ldexp(1.0f, -11)).bits, 0x3c00);  // tie -> even
  EXPECT_EQ(Half(1.0f + 3 * std::ldexp(1.0f, -11)).bits, 0x3c02);  // tie -> even (up)
  EXPECT_TRUE(std::isnan(static_cast<float>(Half(std::numeric_limits<float>::quiet_NaN()))));
  // Every finite half survives a round trip through float.
  for (uint32_t b = 0; b < 0x10000; ++b) {
    Half h = Half::from_bits(static_cast<uint16_t>(b));
    float f = static_cast<float>(h);
    if (std::isnan(f)) continue;
    ASSERT_EQ(Half(f).bits, h.bits) << "bits " << b;
  }
}

TEST(DType, BFloat16ConversionRoundsToNearestEven) {
  EXPECT_EQ(BFloat16(1.0f).bits, 0x3f80);
  EXPECT_EQ(static_cast<float>(BFloat16::from_bits(0x4049)), 3.140625f);
  EXPECT_EQ(BFloat16(1.0f + std::ldexp(1.0f, -8)).bits, 0x3f80);      // tie -> even
  EXPECT_EQ(BFloat16(1.0f + 3 * std::ldexp(1.0f, -8)).bits, 0x3f82);  // tie -> even (up)
  EXPECT_TRUE(std::isnan(static_cast<float>(BFloat16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST(Shape, BasicsAndPartialShapes) {
  Shape s{2, 3};
  EXPECT_EQ(s.rank(), 2);
  EXPECT_EQ(s.num_elements(), 6);
  EXPECT_EQ(s.to_string(), "[2,3]");
  EXPECT_EQ(Shape{}.num_elements(), 1);
  EXPECT_EQ(Shape({0, 5}).num_elements(), 0);
  Shape partial{-1, 3};
  EXPECT_FALSE(partial.fully_defined());
  EXPECT_EQ(partial.to_string(), "[?,3]");
  EXPECT_EQ(partial.to_tuple_string(), "(?, 3)");
  EXPECT_TRUE(partial.compatible_with(Shape{7, 3}));
  EXPECT_FALSE(partial.compatible_with(Shape{7, 4}));
  EXPECT_TRUE(Shape::unknown().compatible_with(Shape{1, 2, 3}));
  EXPECT_EQ(partial.merge_with(Shape{7, -1}), (Shape{7, 3}));
  EXPECT_THROW(partial.merge_with(Shape{7}), InvalidArgumentError);
}

TEST(Shape, BroadcastLikeNumpy) {
  EXPECT_EQ(broadcast_shapes(Shape{2, 3}, Shape{3}), (Shape{2, 3}));
  EXPECT_EQ(broadcast_shapes(Shape{2, 1}, Shape{1, 3}), (Shape{2, 3}));
  EXPECT_EQ(broadcast_shapes(Shape{4, 1, 3}, Shape{2, 1}), (Shape{4, 2, 3}));
  EXPECT_EQ(broadcast_shapes(Shape{}, Shape{5}), (Shape{5}));
  EXPECT_EQ(broadcast_shapes(Shape{0, 3}, Shape{1, 3}), (Shape{0, 3}));
  EXPECT_EQ(broadcast_shapes(Shape{-1, 3}, Shape{3}), (Shape{-1, 3}));
  try {
    broadcast_shapes(Shape{2, 3}, Shape{4});
    FAIL() << "expected an error";
  } catch (const InvalidArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("[2,3]"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("[4]"), std::string::npos);
  }
}

}  // namespace
}  // namespace kiln

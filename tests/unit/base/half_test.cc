// fp16 / bf16 conversions: exhaustive round trips and round-to-nearest-even.
#include <gtest/gtest.h>

#include <cmath>

#include "base/half.h"

namespace silica {
namespace {

TEST(Half, Fp16RoundTripIsExactForEveryValue) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = fp16_to_f32(uint16_t(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(fp16_to_f32(f32_to_fp16(f))));
      continue;
    }
    ASSERT_EQ(f32_to_fp16(f), uint16_t(h)) << "h=" << h;
  }
}

TEST(Half, Fp16RoundsToNearestEven) {
  // 1 + 2^-11 lies exactly between 1 and 1 + 2^-10: ties go to the even mantissa (1.0).
  EXPECT_EQ(f32_to_fp16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  EXPECT_EQ(f32_to_fp16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(f32_to_fp16(65504.0f), 0x7bff);
  EXPECT_EQ(f32_to_fp16(65520.0f), 0x7c00);               // overflows to inf
  EXPECT_EQ(f32_to_fp16(std::ldexp(1.0f, -25)), 0x0000);  // tie to even: 0
  EXPECT_EQ(f32_to_fp16(std::ldexp(3.0f, -25)), 0x0002);
  EXPECT_EQ(f32_to_fp16(-std::ldexp(1.0f, -24)), 0x8001);
}

TEST(Half, Bf16RoundTripAndRounding) {
  for (uint32_t b = 0; b < 0x10000; ++b) {
    float f = bf16_to_f32(uint16_t(b));
    if (std::isnan(f)) continue;
    ASSERT_EQ(f32_to_bf16(f), uint16_t(b));
  }
  EXPECT_EQ(f32_to_bf16(f32_from_bits(0x3f808000u)), 0x3f80);  // tie, even stays
  EXPECT_EQ(f32_to_bf16(f32_from_bits(0x3f818000u)), 0x3f82);  // tie, odd rounds up
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::nanf("")))));
}

}  // namespace
}  // namespace silica

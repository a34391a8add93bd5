// vec_dot_ref's integer formulation (int products per block, scales and mins applied per
// block) equals the plain float dot of the dequantized rows, for every type.
#include <gtest/gtest.h>

#include <cmath>

#include "base/half.h"
#include "quant_test_util.h"
#include "tensor/blocks.h"
#include "tensor/dtype.h"
#include "tensor/reference.h"

namespace silica {
namespace {

using testing::Dist;

// Float rounding of the per-block products and the running sum, relative to sum |a_i * b_i|.
constexpr double kTolDotRel = 1e-5;
// q4_1 / q5_1 use the q8_1 block's s = fp16(d * sum(q)) in place of the exact sum of the
// dequantized activations: an extra fp16 rounding (half an ulp, 2^-11 relative) of s, times m.
constexpr double kFp16HalfUlpRel = 1.0 / 2048.0;

// Extra error allowed for the s-rounding of the q8_1 formats: sum over blocks |m| * |s| / 2048.
template <typename Block>
double q8_1_sum_rounding(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  const auto* x = reinterpret_cast<const Block*>(a.data());
  const auto* y = reinterpret_cast<const BlockQ8_1*>(b.data());
  double bound = 0;
  for (size_t i = 0; i < a.size() / sizeof(Block); ++i) {
    bound += std::fabs(fp16_to_f32(x[i].m)) * std::fabs(fp16_to_f32(y[i].s)) * kFp16HalfUlpRel;
  }
  return bound;
}

class VecDot : public ::testing::TestWithParam<DType> {};

TEST_P(VecDot, MatchesDotOfDequantizedRows) {
  const DType t = GetParam();
  const DType tb = dtype_traits(t)->vec_dot_type;
  for (Dist dist : {Dist::kNormal, Dist::kUniform, Dist::kShiftedNormal}) {
    for (uint32_t seed : {1u, 2u, 3u}) {
      for (int64_t n : {256, 1024, 4096}) {
        const auto qa = testing::quantize(t, testing::random_row(dist, seed, n));
        const auto qb = testing::quantize(tb, testing::random_row(dist, seed + 100, n));
        const auto a = testing::dequantize(t, qa, n);
        const auto b = testing::dequantize(tb, qb, n);
        double want = 0, magnitude = 0;
        for (int64_t i = 0; i < n; ++i) {
          want += double(a[i]) * b[i];
          magnitude += std::fabs(double(a[i]) * b[i]);
        }
        double tol = kTolDotRel * magnitude;
        if (t == DType::kQ4_1) tol += q8_1_sum_rounding<BlockQ4_1>(qa, qb);
        if (t == DType::kQ5_1) tol += q8_1_sum_rounding<BlockQ5_1>(qa, qb);
        const double got = vec_dot_ref(t, qa.data(), qb.data(), n);
        EXPECT_NEAR(got, want, tol) << dtype_name(t) << " x " << dtype_name(tb) << " "
                                    << testing::dist_name(dist) << " seed " << seed << " n " << n;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, VecDot, ::testing::ValuesIn(testing::all_reference_types()),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

}  // namespace
}  // namespace silica

// Quantize -> dequantize error bounds per type on random rows, and vec_dot_ref's integer
// formulation against the float dot of the dequantized rows.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "base/half.h"
#include "quant_test_util.h"
#include "tensor/blocks.h"
#include "tensor/dtype.h"
#include "tensor/reference.h"

namespace silica {
namespace {

using testing::Dist;

// RMS(dequant(quant(x)) - x) / RMS(x), worst over the distributions, seeds and lengths below;
// measured values in the comments, bounds with a margin above them.
// Measured worst cases: f16 0.00022, bf16 0.0018, q8_0 / q8_1 0.0055, q8_K 0.0073 (these
// three round exactly as ggml does, so they are the format's own error), q6_K 0.0166,
// q5_0 0.041, q5_1 0.037, q5_K 0.036, q4_0 0.084, q4_1 0.075, q4_K 0.075, q3_K 0.147,
// q2_K 0.275 (normal data is the worst case: its outliers stretch the block scales).
constexpr double kTolRoundTripF16 = 3e-4;
constexpr double kTolRoundTripBF16 = 2e-3;
constexpr double kTolRoundTripQ8_0 = 0.006;
constexpr double kTolRoundTripQ8_1 = 0.006;
constexpr double kTolRoundTripQ8_K = 0.008;
constexpr double kTolRoundTripQ6_K = 0.018;
constexpr double kTolRoundTripQ5_0 = 0.045;
constexpr double kTolRoundTripQ5_1 = 0.04;
constexpr double kTolRoundTripQ5_K = 0.04;
constexpr double kTolRoundTripQ4_0 = 0.09;
constexpr double kTolRoundTripQ4_1 = 0.08;
constexpr double kTolRoundTripQ4_K = 0.08;
constexpr double kTolRoundTripQ3_K = 0.16;
constexpr double kTolRoundTripQ2_K = 0.29;

double round_trip_bound(DType t) {
  switch (t) {
    case DType::kF32:
      return 0.0;
    case DType::kF16:
      return kTolRoundTripF16;
    case DType::kBF16:
      return kTolRoundTripBF16;
    case DType::kQ8_0:
      return kTolRoundTripQ8_0;
    case DType::kQ8_1:
      return kTolRoundTripQ8_1;
    case DType::kQ8_K:
      return kTolRoundTripQ8_K;
    case DType::kQ6_K:
      return kTolRoundTripQ6_K;
    case DType::kQ5_0:
      return kTolRoundTripQ5_0;
    case DType::kQ5_1:
      return kTolRoundTripQ5_1;
    case DType::kQ5_K:
      return kTolRoundTripQ5_K;
    case DType::kQ4_0:
      return kTolRoundTripQ4_0;
    case DType::kQ4_1:
      return kTolRoundTripQ4_1;
    case DType::kQ4_K:
      return kTolRoundTripQ4_K;
    case DType::kQ3_K:
      return kTolRoundTripQ3_K;
    case DType::kQ2_K:
      return kTolRoundTripQ2_K;
    default:
      return 0.0;
  }
}

constexpr Dist kDists[] = {Dist::kNormal, Dist::kUniform, Dist::kShiftedNormal};
constexpr uint32_t kSeeds[] = {1, 2, 3};
constexpr int64_t kLengths[] = {256, 1024, 4096};

double relative_rms_error(const std::vector<float>& x, const std::vector<float>& y) {
  double err = 0, ref = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    err += (double(y[i]) - x[i]) * (double(y[i]) - x[i]);
    ref += double(x[i]) * x[i];
  }
  return std::sqrt(err / ref);
}

class RoundTrip : public ::testing::TestWithParam<DType> {};

TEST_P(RoundTrip, RelativeRmsErrorIsBounded) {
  const DType t = GetParam();
  double worst = 0;
  for (Dist dist : kDists) {
    for (uint32_t seed : kSeeds) {
      for (int64_t n : kLengths) {
        const auto x = testing::random_row(dist, seed, n);
        const auto y = testing::dequantize(t, testing::quantize(t, x), n);
        const double e = relative_rms_error(x, y);
        worst = std::max(worst, e);
        EXPECT_LE(e, round_trip_bound(t))
            << dtype_name(t) << " " << testing::dist_name(dist) << " seed " << seed << " n " << n;
      }
    }
  }
  std::printf("[ measured ] %s worst relative RMS error %.5f (bound %.5f)\n", dtype_name(t), worst,
              round_trip_bound(t));
}

INSTANTIATE_TEST_SUITE_P(AllTypes, RoundTrip, ::testing::ValuesIn(testing::all_reference_types()),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

}  // namespace
}  // namespace silica

namespace silica {
namespace {

// Degenerate rows every quantizer must survive without nan / inf: all zeros decode to exact
// zeros, a constant row stays close to the constant, a single spike does not poison the rest.
constexpr double kTolConstantRowRel = 0.01;  // constant 0.75 through fp16 scales, any type

TEST_P(RoundTrip, DegenerateRowsStayFinite) {
  const DType t = GetParam();
  constexpr int64_t kN = 512;
  const std::vector<float> zeros(kN, 0.0f), constant(kN, 0.75f), negative(kN, -0.75f);
  std::vector<float> spike(kN, 0.01f);
  spike[3] = 1000.0f;
  using Row = const std::vector<float>*;
  for (Row row : {Row(&zeros), Row(&constant), Row(&negative), Row(&spike)}) {
    const auto y = testing::dequantize(t, testing::quantize(t, *row), kN);
    for (int64_t i = 0; i < kN; ++i) ASSERT_TRUE(std::isfinite(y[i])) << dtype_name(t) << " " << i;
  }
  for (float v : testing::dequantize(t, testing::quantize(t, zeros), kN)) EXPECT_EQ(v, 0.0f);
  for (Row row : {Row(&constant), Row(&negative)}) {
    const auto y = testing::dequantize(t, testing::quantize(t, *row), kN);
    for (int64_t i = 0; i < kN; ++i) {
      EXPECT_NEAR(y[i], (*row)[i], std::fabs((*row)[i]) * kTolConstantRowRel) << dtype_name(t);
    }
  }
}

}  // namespace
}  // namespace silica

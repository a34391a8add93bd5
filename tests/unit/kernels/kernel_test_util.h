// Shared helpers for the kernel tests: random rows quantized by the scalar reference, the
// tolerances per type, and the types each test covers.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernels.h"
#include "tensor/reference.h"

namespace silica::test {

// |simd - ref| <= kTol * sum_i |a_i * b_i|: float types differ from the reference only in
// summation order; integer-dot types are exact per block and differ in how block results are
// accumulated in float. bf16 on AVX-512 also flushes subnormal products (vdpbf16ps).
constexpr double kTolF32 = 1e-5;
constexpr double kTolF16 = 1e-5;
constexpr double kTolBF16 = 1e-5;
constexpr double kTolQ8_0 = 1e-5;
constexpr double kTolQ4_0 = 1e-5;
constexpr double kTolQuantOther = 1e-5;  // types that fall back to the reference (same order)
constexpr double kTolQ4_K = 1e-5;
constexpr double kTolQ6_K = 1e-5;

inline double tolerance_for(DType t) {
  switch (t) {
    case DType::kF32:
      return kTolF32;
    case DType::kF16:
      return kTolF16;
    case DType::kBF16:
      return kTolBF16;
    case DType::kQ8_0:
      return kTolQ8_0;
    case DType::kQ4_0:
      return kTolQ4_0;
    case DType::kQ4_K:
      return kTolQ4_K;
    case DType::kQ6_K:
      return kTolQ6_K;
    default:
      return kTolQuantOther;
  }
}

// Every weight type the kernel tables give a vec_dot for.
inline std::vector<DType> weight_types() {
  return {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ4_0, DType::kQ4_1,
          DType::kQ5_0, DType::kQ5_1, DType::kQ8_0, DType::kQ2_K, DType::kQ3_K,
          DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};
}

inline std::string label(Isa isa, DType t) {
  return std::string(isa_name(isa)) + "/" + dtype_name(t);
}

// Gaussian values with a few larger outliers, like real activations and weights.
inline std::vector<float> random_floats(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> pick(0, 63);
  std::vector<float> v(n);
  for (auto& x : v) x = normal(rng) * (pick(rng) == 0 ? 8.0f : 1.0f);
  return v;
}

inline std::vector<uint8_t> quantize(DType t, const std::vector<float>& x) {
  std::vector<uint8_t> out(dtype_row_size(t, int64_t(x.size())));
  quantize_row_ref(t, x.data(), out.data(), int64_t(x.size()));
  return out;
}

// sum_i |a_i * b_i| of the dequantized rows: the scale the dot's rounding error grows with.
inline double abs_dot_scale(DType ta, const void* a, DType tb, const void* b, int64_t n) {
  std::vector<float> fa(n), fb(n);
  dequantize_row_ref(ta, a, fa.data(), n);
  dequantize_row_ref(tb, b, fb.data(), n);
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += std::fabs(double(fa[i]) * fb[i]);
  return s;
}

}  // namespace silica::test

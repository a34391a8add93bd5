// Shared helpers for the tensor tests: random rows, type lists, dequantized dots.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "tensor/dtype.h"
#include "tensor/reference.h"

namespace silica::testing {

enum class Dist { kNormal, kUniform, kShiftedNormal };

inline const char* dist_name(Dist d) {
  switch (d) {
    case Dist::kNormal:
      return "normal";
    case Dist::kUniform:
      return "uniform";
    case Dist::kShiftedNormal:
      return "shifted_normal";
  }
  return "?";
}

// n floats: N(0, 1), U(-1, 1), or N(0.5, 1) (a mean away from 0 exercises the min terms).
inline std::vector<float> random_row(Dist dist, uint32_t seed, int64_t n) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) {
    switch (dist) {
      case Dist::kNormal:
        v = normal(rng);
        break;
      case Dist::kUniform:
        v = uniform(rng);
        break;
      case Dist::kShiftedNormal:
        v = 0.5f + normal(rng);
        break;
    }
  }
  return x;
}

inline std::vector<uint8_t> quantize(DType t, const std::vector<float>& x) {
  std::vector<uint8_t> q(dtype_row_size(t, int64_t(x.size())));
  quantize_row_ref(t, x.data(), q.data(), int64_t(x.size()));
  return q;
}

inline std::vector<float> dequantize(DType t, const std::vector<uint8_t>& q, int64_t n) {
  std::vector<float> y(static_cast<size_t>(n));
  dequantize_row_ref(t, q.data(), y.data(), n);
  return y;
}

// Every type with a reference, in GGUF id order.
inline std::vector<DType> all_reference_types() {
  return {DType::kF32,  DType::kF16,  DType::kQ4_0, DType::kQ4_1, DType::kQ5_0,
          DType::kQ5_1, DType::kQ8_0, DType::kQ8_1, DType::kQ2_K, DType::kQ3_K,
          DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kQ8_K, DType::kBF16};
}

}  // namespace silica::testing

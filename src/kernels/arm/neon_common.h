// Shared NEON helpers, included by the arm/ kernel files; internal linkage.
#pragma once

#include <arm_neon.h>

#include <type_traits>

#include "base/half.h"
#include "tensor/blocks.h"

namespace {

using namespace silica;

// acc[k] += sum_{j<4} a[4k+j] * b[4k+j] (signed int8). Without SDOT the four lane sums come out
// in a different grouping, but every caller reduces the whole vector or 16-byte group.
template <bool kDot>
inline int32x4_t dot_s8(int32x4_t acc, int8x16_t a, int8x16_t b) {
  if constexpr (kDot) {
    return vdotq_s32(acc, a, b);
  } else {
    const int16x8_t lo = vmull_s8(vget_low_s8(a), vget_low_s8(b));
    const int16x8_t hi = vmull_high_s8(a, b);
    return vpadalq_s16(vpadalq_s16(acc, lo), hi);
  }
}

inline float half_to_float(uint16_t h) {
  return fp16_to_f32(h);
}

// 16 int32 -> 16 int8 with saturation (values are already within [-127, 127]).
inline int8x16_t narrow_i32x16(const int32x4_t v[4]) {
  const int16x8_t a = vcombine_s16(vqmovn_s32(v[0]), vqmovn_s32(v[1]));
  const int16x8_t b = vcombine_s16(vqmovn_s32(v[2]), vqmovn_s32(v[3]));
  return vcombine_s8(vqmovn_s16(a), vqmovn_s16(b));
}

// q8_0 and q8_1 rows, bit-identical to the reference: d = amax/127, q = roundf(x * (1/d))
// (FCVTAS rounds ties away from zero, as roundf); q8_1 adds s = fp16(d * sum(q)) with the
// fp32 d.
template <class Block>
void from_float_q8(const float* x, void* out, int64_t n) {
  auto* y = static_cast<Block*>(out);
  for (int64_t i = 0; i < n / kQK8_0; ++i) {
    const float* xb = x + i * kQK8_0;
    float32x4_t v[8], amax = vdupq_n_f32(0.0f);
    for (int k = 0; k < 8; ++k) {
      v[k] = vld1q_f32(xb + 4 * k);
      amax = vmaxq_f32(amax, vabsq_f32(v[k]));
    }
    const float d = vmaxvq_f32(amax) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = f32_to_fp16(d);
    int32_t total = 0;
    for (int h = 0; h < 2; ++h) {
      int32x4_t q[4];
      for (int k = 0; k < 4; ++k) q[k] = vcvtaq_s32_f32(vmulq_n_f32(v[4 * h + k], id));
      const int8x16_t packed = narrow_i32x16(q);
      vst1q_s8(y[i].qs + 16 * h, packed);
      total += vaddlvq_s8(packed);
    }
    if constexpr (std::is_same_v<Block, BlockQ8_1>) y[i].s = f32_to_fp16(float(total) * d);
  }
}

}  // namespace

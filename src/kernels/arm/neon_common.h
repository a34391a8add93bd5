// Shared NEON helpers, included by the arm/ kernel files; internal linkage.
#pragma once

#include <arm_neon.h>

#include "base/half.h"

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

}  // namespace

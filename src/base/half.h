// fp16 and bf16 scalar conversions (IEEE binary16, bfloat16), exact and portable.
#pragma once

#include <cstdint>
#include <cstring>

namespace silica {

inline uint32_t f32_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float f32_from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// binary16 -> float, exact for every input (subnormals, inf, nan).
inline float fp16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  if (exp == 0) {
    if (mant == 0) return f32_from_bits(sign);
    // Subnormal: value = mant * 2^-24, exact in float.
    float v = float(mant) * (1.0f / 16777216.0f);
    return sign ? -v : v;
  }
  if (exp == 31) {  // inf, or nan made quiet (as F16C's vcvtph2ps and ggml do)
    return f32_from_bits(sign | 0x7f800000u | (mant << 13) | (mant ? 0x400000u : 0));
  }
  return f32_from_bits(sign | ((exp + 112) << 23) | (mant << 13));
}

// float -> binary16 with round-to-nearest-even, as F16C's vcvtps2ph does.
inline uint16_t f32_to_fp16(float f) {
  const uint32_t x = f32_bits(f);
  const uint32_t sign = (x >> 16) & 0x8000;
  const uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) {  // inf or nan
    return uint16_t(sign | 0x7c00 | (ax > 0x7f800000u ? 0x200 | ((ax >> 13) & 0x3ff) : 0));
  }
  if (ax >= 0x477ff000u) return uint16_t(sign | 0x7c00);  // rounds to >= 65520: inf
  if (ax < 0x38800000u) {                                 // below the smallest normal 2^-14
    // Subnormal or zero: scale to units of 2^-24 and round to nearest even.
    const float v = f32_from_bits(ax) * 16777216.0f;  // exact: power-of-two scale
    uint32_t m = uint32_t(v);
    const float rem = v - float(m);
    if (rem > 0.5f || (rem == 0.5f && (m & 1))) ++m;
    return uint16_t(sign | m);
  }
  uint32_t mant = ax & 0x7fffff;
  uint32_t exp = (ax >> 23) - 112;
  uint32_t h = (exp << 10) | (mant >> 13);
  const uint32_t rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) ++h;  // carries into exp correctly
  return uint16_t(sign | h);
}

inline float bf16_to_f32(uint16_t b) {
  return f32_from_bits(uint32_t(b) << 16);
}

// float -> bfloat16, round-to-nearest-even; NaN stays NaN (quiet), as ggml and PyTorch do.
inline uint16_t f32_to_bf16(float f) {
  uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 64);
  return uint16_t((u + (0x7fff + ((u >> 16) & 1))) >> 16);
}

}  // namespace silica

// Element and scale accessors for the k-quant bit layouts: where element i of a super-block
// lives, in one place, shared by dequantize, dot and the quantizers.
#pragma once

#include <cstdint>

#include "tensor/blocks.h"

namespace silica::ref {

// q2_K: element i = 128h + 32j + l sits in qs[32h + l] at bits 2j..2j+1; range 0..3.
inline int q2k_get(const BlockQ2_K& b, int i) {
  return (b.qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
}
inline void q2k_put(BlockQ2_K& b, int i, int q) {
  b.qs[32 * (i / 128) + i % 32] |= uint8_t((q & 3) << (2 * ((i % 128) / 32)));
}

// q3_K: low 2 bits as q2_K; the high bit sits in hmask[i % 32] at bit i / 32. A clear high bit
// means "subtract 4", so the signed value is (low | high << 2) - 4, range -4..3.
inline int q3k_get(const BlockQ3_K& b, int i) {
  const int low = (b.qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
  const int high = (b.hmask[i % 32] >> (i / 32)) & 1;
  return low + 4 * high - 4;
}
inline void q3k_put(BlockQ3_K& b, int i, int q) {
  const int u = q + 4;  // 0..7
  b.qs[32 * (i / 128) + i % 32] |= uint8_t((u & 3) << (2 * ((i % 128) / 32)));
  b.hmask[i % 32] |= uint8_t((u >> 2) << (i / 32));
}

// q3_K's 16 scales, 6 bits each, biased by 32: the low nibble of scale s is byte s % 8 (low
// nibble for s < 8, high for s >= 8); the top 2 bits are in byte 8 + s % 4 at bits 2 * (s / 4).
inline int q3k_scale(const uint8_t* sc, int s) {
  const int low = s < 8 ? (sc[s] & 0x0f) : (sc[s - 8] >> 4);
  const int high = (sc[8 + s % 4] >> (2 * (s / 4))) & 3;
  return (low | (high << 4)) - 32;
}
inline void q3k_put_scale(uint8_t* sc, int s, int v) {
  const int u = v + 32;  // 0..63
  sc[s % 8] |= uint8_t((u & 0x0f) << (s < 8 ? 0 : 4));
  sc[8 + s % 4] |= uint8_t((u >> 4) << (2 * (s / 4)));
}

// q4_K / q5_K: 8 sub-blocks of 32, each with a 6-bit scale and a 6-bit min packed in 12 bytes.
// Sub-blocks 0..3 use the low 6 bits of bytes s (scale) and s + 4 (min); sub-blocks 4..7 keep
// their low nibbles in byte s + 4 and their top 2 bits in the spare top bits of bytes s - 4
// (scale) and s (min).
struct KScaleMin {
  int scale;
  int min;
};
inline KScaleMin kscale_get(const uint8_t* sc, int s) {
  if (s < 4) return {sc[s] & 63, sc[s + 4] & 63};
  return {(sc[s + 4] & 0x0f) | ((sc[s - 4] >> 6) << 4), (sc[s + 4] >> 4) | ((sc[s] >> 6) << 4)};
}
inline void kscale_put(uint8_t* sc, int s, int scale, int min) {
  if (s < 4) {
    sc[s] |= uint8_t(scale);
    sc[s + 4] |= uint8_t(min);
    return;
  }
  sc[s + 4] |= uint8_t((scale & 0x0f) | ((min & 0x0f) << 4));
  sc[s - 4] |= uint8_t((scale >> 4) << 6);
  sc[s] |= uint8_t((min >> 4) << 6);
}

// q4_K: element i = 64c + 32u + l sits in qs[32c + l], low nibble for u = 0, high for u = 1.
inline int q4k_get(const uint8_t* qs, int i) {
  return (qs[32 * (i / 64) + i % 32] >> (4 * ((i % 64) / 32))) & 0x0f;
}
inline void q4k_put(uint8_t* qs, int i, int q) {
  qs[32 * (i / 64) + i % 32] |= uint8_t((q & 0x0f) << (4 * ((i % 64) / 32)));
}

// q5_K: low 4 bits as q4_K; the 5th bit in qh[i % 32] at bit i / 32 (its sub-block).
inline int q5k_get(const BlockQ5_K& b, int i) {
  return q4k_get(b.qs, i) | (((b.qh[i % 32] >> (i / 32)) & 1) << 4);
}
inline void q5k_put(BlockQ5_K& b, int i, int q) {
  q4k_put(b.qs, i, q);
  b.qh[i % 32] |= uint8_t(((q >> 4) & 1) << (i / 32));
}

// q6_K: element i = 128h + 32j + l. Low 4 bits in ql[64h + 32(j & 1) + l] (low nibble for
// j < 2, high for j >= 2); high 2 bits in qh[32h + l] at bits 2j. Stored biased by 32.
inline int q6k_get(const BlockQ6_K& b, int i) {
  const int h = i / 128, j = (i % 128) / 32, l = i % 32;
  const int low = (b.ql[64 * h + 32 * (j & 1) + l] >> (4 * (j >> 1))) & 0x0f;
  const int high = (b.qh[32 * h + l] >> (2 * j)) & 3;
  return (low | (high << 4)) - 32;
}
inline void q6k_put(BlockQ6_K& b, int i, int q) {
  const int h = i / 128, j = (i % 128) / 32, l = i % 32, u = q + 32;
  b.ql[64 * h + 32 * (j & 1) + l] |= uint8_t((u & 0x0f) << (4 * (j >> 1)));
  b.qh[32 * h + l] |= uint8_t((u >> 4) << (2 * j));
}

}  // namespace silica::ref

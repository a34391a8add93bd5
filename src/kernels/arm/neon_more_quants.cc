// NEON dots of the GGUF types beside the main ones: the k-quants q2_K and q3_K (in Q2_K / Q3_K_M
// files) and the legacy q4_1, q5_0 and q5_1, as row-tile kernels (kernels/row_tile.h: one weight
// row unpacked once for up to kRowTileTokens tokens, its 1-token case the vec_dot); the int8
// dots on SDOT or widening multiplies as in neon_kernels.cc. Also q8_1's quantizer.
#include <arm_neon.h>

#include <cstring>

#include "kernels/arm/neon_common.h"
#include "kernels/kernel_tables.h"
#include "kernels/row_tile.h"
#include "tensor/blocks.h"

namespace {

// sum_s a[s] * b[s] over 16 int16 pairs (two vectors each).
inline int32_t dot16_s16(int16x8_t a0, int16x8_t a1, int16x8_t b0, int16x8_t b1) {
  int32x4_t s = vmull_s16(vget_low_s16(a0), vget_low_s16(b0));
  s = vmlal_high_s16(s, a0, b0);
  s = vmlal_s16(s, vget_low_s16(a1), vget_low_s16(b1));
  s = vmlal_high_s16(s, a1, b1);
  return vaddvq_s32(s);
}
inline int16x8_t widen_u8_lo(uint8x16_t v) {
  return vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(v)));
}
inline int16x8_t widen_u8_hi(uint8x16_t v) {
  return vreinterpretq_s16_u16(vmovl_high_u8(v));
}

// The 8 chunk products of a q2_K / q3_K super-block against T tokens: chunk k = 4h + j is the
// 2-bit field j of qs[32h..32h + 31], or'ed with high(a, b) (q3_K's third bit, for elements
// 0..15 and 16..31; called once a chunk, in order), its products scaled by sc[2k] (elements
// 0..15) and sc[2k + 1] (16..31).
template <bool kDot, int T, class S, class High>
inline void k2_chunks(const uint8_t* qs, const BlockQ8_K* const (&y)[T], int64_t i, const S* sc,
                      int32x4_t (&sumi)[T], High high) {
  const uint8x16_t k3 = vdupq_n_u8(3);
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) sumi[t] = vdupq_n_s32(0);
  SILICA_UNROLL
  for (int h = 0; h < 2; ++h) {
    const uint8x16_t q2a = vld1q_u8(qs + 32 * h), q2b = vld1q_u8(qs + 32 * h + 16);
    SILICA_UNROLL
    for (int j = 0; j < 4; ++j) {
      const int8x16_t shift = vdupq_n_s8(int8_t(-2 * j));  // a right shift by 2j
      uint8x16_t ua = vandq_u8(vshlq_u8(q2a, shift), k3), ub = vandq_u8(vshlq_u8(q2b, shift), k3);
      high(ua, ub);
      const int8x16_t qa = vreinterpretq_s8_u8(ua), qb = vreinterpretq_s8_u8(ub);
      const int k = 4 * h + j;
      SILICA_UNROLL
      for (int t = 0; t < T; ++t) {
        const int8_t* a = y[t][i].qs + 128 * h + 32 * j;
        const int32x4_t pa = dot_s8<kDot>(vdupq_n_s32(0), qa, vld1q_s8(a));
        const int32x4_t pb = dot_s8<kDot>(vdupq_n_s32(0), qb, vld1q_s8(a + 16));
        sumi[t] = vmlaq_n_s32(vmlaq_n_s32(sumi[t], pa, sc[2 * k]), pb, sc[2 * k + 1]);
      }
    }
  }
}

// q2_K: q in 0..3 (element 128h + 32j + l at bits 2j of qs[32h + l]), value = d * sc * q -
// dmin * m with a 4-bit scale and min per 16 elements; the mins term uses the q8_K per-16 sums.
template <bool kDot>
struct Q2K {
  using Block = BlockQ2_K;
  using Act = BlockQ8_K;
  static constexpr int kElems = kQK_K;
  template <int T>
  static void micro(const Block* x, const Act* const (&y)[T], int64_t nb, float* out, int64_t ys) {
    const uint8x16_t kLow = vdupq_n_u8(0x0f);
    float sum[T] = {};
    for (int64_t i = 0; i < nb; ++i) {
      row_prefetch<T, sizeof(Block)>(x + i);
      const uint8x16_t sc = vld1q_u8(x[i].scales);
      uint8_t scales[16];
      vst1q_u8(scales, vandq_u8(sc, kLow));
      const uint8x16_t mins = vshrq_n_u8(sc, 4);
      int32x4_t sumi[T];
      k2_chunks<kDot>(x[i].qs, y, i, scales, sumi, [](uint8x16_t&, uint8x16_t&) {});
      const float xd = half_to_float(x[i].d), xmin = half_to_float(x[i].dmin);
      SILICA_UNROLL
      for (int t = 0; t < T; ++t) {
        const int32_t summ = dot16_s16(widen_u8_lo(mins), widen_u8_hi(mins),
                                       vld1q_s16(y[t][i].bsums), vld1q_s16(y[t][i].bsums + 8));
        sum[t] += y[t][i].d * xd * float(vaddvq_s32(sumi[t])) - y[t][i].d * xmin * float(summ);
      }
    }
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) out[t * ys] = sum[t];
  }
};

// q3_K's 16 scales (6 bits biased by 32) from its 12 packed bytes as three words: the low
// nibbles of scales 0..7 and 8..15 are the low and high nibbles of words 0 and 1, their top two
// bits the bit pairs of word 2. Writes the signed scales in sub-block order.
inline void q3k_scales(const uint8_t* q, int8_t* sc) {
  uint32_t w[3];
  std::memcpy(w, q, 12);
  constexpr uint32_t kNib = 0x0f0f0f0f, k2 = 0x03030303;
  const uint32_t biased[4] = {(w[0] & kNib) | ((w[2] & k2) << 4),
                              (w[1] & kNib) | (((w[2] >> 2) & k2) << 4),
                              ((w[0] >> 4) & kNib) | (((w[2] >> 4) & k2) << 4),
                              ((w[1] >> 4) & kNib) | (((w[2] >> 6) & k2) << 4)};
  vst1q_s8(sc, vsubq_s8(vreinterpretq_s8_u32(vld1q_u32(biased)), vdupq_n_s8(32)));
}

// q3_K: q = (2 low bits as q2_K | the hmask bit << 2) - 4, value = d * sc * q with signed 6-bit
// scales per 16. The products use q + 4 (0..7); the -4 comes back once a block as
// 4 * sum_s sc_s * bsums_s.
template <bool kDot>
struct Q3K {
  using Block = BlockQ3_K;
  using Act = BlockQ8_K;
  static constexpr int kElems = kQK_K;
  template <int T>
  static void micro(const Block* x, const Act* const (&y)[T], int64_t nb, float* out, int64_t ys) {
    const uint8x16_t k4 = vdupq_n_u8(4);
    float sum[T] = {};
    for (int64_t i = 0; i < nb; ++i) {
      row_prefetch<T, sizeof(Block)>(x + i);
      int8_t sc[16];
      q3k_scales(x[i].scales, sc);
      const int8x16_t scv = vld1q_s8(sc);
      const int16x8_t sc0 = vmovl_s8(vget_low_s8(scv)), sc1 = vmovl_high_s8(scv);
      // Chunk k's high bits are bit k of hmask[l]: shifted down once a chunk, moved to bit 2.
      uint8x16_t ha = vld1q_u8(x[i].hmask), hb = vld1q_u8(x[i].hmask + 16);
      int32x4_t sumi[T];
      k2_chunks<kDot>(x[i].qs, y, i, sc, sumi, [&](uint8x16_t& a, uint8x16_t& b) {
        a = vorrq_u8(a, vandq_u8(vshlq_n_u8(ha, 2), k4));
        b = vorrq_u8(b, vandq_u8(vshlq_n_u8(hb, 2), k4));
        ha = vshrq_n_u8(ha, 1);
        hb = vshrq_n_u8(hb, 1);
      });
      const float xd = half_to_float(x[i].d);
      SILICA_UNROLL
      for (int t = 0; t < T; ++t) {
        const int32_t offset =
            dot16_s16(sc0, sc1, vld1q_s16(y[t][i].bsums), vld1q_s16(y[t][i].bsums + 8));
        sum[t] += y[t][i].d * xd * float(vaddvq_s32(sumi[t]) - 4 * offset);
      }
    }
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) out[t * ys] = sum[t];
  }
};

// The 5th bits of a q5_0 / q5_1 block (32 bits, bit j for element j) as 0x10 in byte j, for
// elements 0..15 (lo) and 16..31 (hi).
inline void fifth_bits_32(const uint8_t* qh, uint8x16_t& lo, uint8x16_t& hi) {
  static const uint8_t kSel[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  const uint8x16_t sel = vld1q_u8(kSel), k16 = vdupq_n_u8(0x10);
  lo = vandq_u8(vtstq_u8(vcombine_u8(vdup_n_u8(qh[0]), vdup_n_u8(qh[1])), sel), k16);
  hi = vandq_u8(vtstq_u8(vcombine_u8(vdup_n_u8(qh[2]), vdup_n_u8(qh[3])), sel), k16);
}

// The legacy 32-element types: q = the nibbles (element j low in qs[j], j + 16 high), plus the
// 5th bit for q5_*; q4_1 / q5_1 are affine (d * q + m, against q8_1 whose s = d * sum(a) takes
// the m term once a block), q5_0 is symmetric (d * (q - 16)).
template <bool kDot, class B, class A, bool kFifth, bool kAffine>
struct Legacy {
  using Block = B;
  using Act = A;
  static constexpr int kElems = 32;
  template <int T>
  static void micro(const Block* x, const Act* const (&y)[T], int64_t nb, float* out, int64_t ys) {
    const uint8x16_t kLow = vdupq_n_u8(0x0f);
    float32x4_t acc[T];
    float mins[T] = {};
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) acc[t] = vdupq_n_f32(0.0f);
    for (int64_t i = 0; i < nb; ++i) {
      row_prefetch<T, sizeof(Block)>(x + i);
      const uint8x16_t qs = vld1q_u8(x[i].qs);
      uint8x16_t lo = vandq_u8(qs, kLow), hi = vshrq_n_u8(qs, 4);
      if constexpr (kFifth) {
        uint8x16_t blo, bhi;
        fifth_bits_32(x[i].qh, blo, bhi);
        lo = vorrq_u8(lo, blo);
        hi = vorrq_u8(hi, bhi);
      }
      int8x16_t qlo = vreinterpretq_s8_u8(lo), qhi = vreinterpretq_s8_u8(hi);
      if constexpr (!kAffine) {
        qlo = vsubq_s8(qlo, vdupq_n_s8(16));
        qhi = vsubq_s8(qhi, vdupq_n_s8(16));
      }
      const float xd = half_to_float(x[i].d);
      SILICA_UNROLL
      for (int t = 0; t < T; ++t) {
        int32x4_t p = dot_s8<kDot>(vdupq_n_s32(0), qlo, vld1q_s8(y[t][i].qs));
        p = dot_s8<kDot>(p, qhi, vld1q_s8(y[t][i].qs + 16));
        acc[t] = vfmaq_n_f32(acc[t], vcvtq_f32_s32(p), xd * half_to_float(y[t][i].d));
        if constexpr (kAffine) mins[t] += half_to_float(x[i].m) * half_to_float(y[t][i].s);
      }
    }
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) out[t * ys] = vaddvq_f32(acc[t]) + mins[t];
  }
};

template <bool kDot>
void fill(silica::kernels_internal::KernelTable& table) {
  set_row_kernels<Q2K<kDot>>(table, DType::kQ2_K);
  set_row_kernels<Q3K<kDot>>(table, DType::kQ3_K);
  set_row_kernels<Legacy<kDot, BlockQ4_1, BlockQ8_1, false, true>>(table, DType::kQ4_1);
  set_row_kernels<Legacy<kDot, BlockQ5_0, BlockQ8_0, true, false>>(table, DType::kQ5_0);
  set_row_kernels<Legacy<kDot, BlockQ5_1, BlockQ8_1, true, true>>(table, DType::kQ5_1);
  silica::kernels_internal::entry(table, DType::kQ8_1).from_float = &from_float_q8<BlockQ8_1>;
}

}  // namespace

namespace silica::kernels_internal {

void fill_neon_more_kernels(KernelTable& table, bool dotprod) {
  if (dotprod) {
    fill<true>(table);
  } else {
    fill<false>(table);
  }
}

}  // namespace silica::kernels_internal

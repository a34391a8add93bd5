// NEON tiles over packed groups (kernels/packed.h) for cores with FEAT_DotProd (every Apple
// Silicon core): one group of 16 rows is four 128-bit quads of 4 rows, piece j (elements
// 4j..4j+3) of a quad is one SDOT against lane j % 4 of the token's activation vector, so the
// weights are loaded (and unpacked) once for every token of the call. Per block the float steps
// are the twin's: Q8_0 / Q4_0 acc = fma(float(isum), dw * da, acc) with isum = sum(w * a)
// exactly (the weights are made signed, so the activations' offset term is not needed); Q4_K /
// Q6_K the sub-block scales in int32, then the super-block's FMAs; F16 / BF16 in two fma chains
// (even and odd elements) added at the end. The result equals the scalar twin (and the x86
// tiles) bit for bit.
#include <arm_neon.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "kernels/kernel_tables.h"
#include "kernels/packed.h"
#include "tensor/blocks.h"

#define SILICA_UNROLL _Pragma("GCC unroll 16")

namespace silica::kernels_internal {
namespace {

// Tokens per microkernel call: 2 x 4 float accumulators, 2 x 2 x 4 int sums, 4 weight quads and
// the activations fill most of the 32 vector registers.
constexpr int kMaxTok = 2;

// y[0, rows) = the 16 lanes of acc (rows < 16 in a matrix's last group).
inline void store_rows(const float32x4_t (&acc)[4], float* y, int64_t rows) {
  if (rows >= kPackRows) {
    SILICA_UNROLL
    for (int q = 0; q < 4; ++q) vst1q_f32(y + 4 * q, acc[q]);
    return;
  }
  float tmp[kPackRows];
  SILICA_UNROLL
  for (int q = 0; q < 4; ++q) vst1q_f32(tmp + 4 * q, acc[q]);
  std::memcpy(y, tmp, size_t(rows) * sizeof(float));
}

// Q8_0: the packed bytes are w + 128; the top bit flipped gives w.
struct Q8_0Neon {
  static constexpr int64_t kValueBytes = 512;
  template <int J>
  [[gnu::always_inline]] static inline void piece(const uint8_t* v, int8x16_t (&w)[4]) {
    SILICA_UNROLL
    for (int q = 0; q < 4; ++q)
      w[q] = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(v + 64 * J + 16 * q), vdupq_n_u8(0x80)));
  }
};

// Q4_0: pieces 0-3 are the low nibbles of the stored pieces, 4-7 their high nibbles, each - 8.
struct Q4_0Neon {
  static constexpr int64_t kValueBytes = 256;
  template <int J>
  [[gnu::always_inline]] static inline void piece(const uint8_t* v, int8x16_t (&w)[4]) {
    SILICA_UNROLL
    for (int q = 0; q < 4; ++q) {
      const uint8x16_t p = vld1q_u8(v + 64 * (J % 4) + 16 * q);
      const uint8x16_t n = J < 4 ? vandq_u8(p, vdupq_n_u8(0x0f)) : vshrq_n_u8(p, 4);
      w[q] = vsubq_s8(vreinterpretq_s8_u8(n), vdupq_n_s8(8));
    }
  }
};

// Piece J of a block for T tokens: 4 SDOTs each, into chain J % 2.
template <class W, int T, int J>
[[gnu::always_inline]] inline void q0_piece(const uint8_t* v, const int8x16_t (&a)[T][2],
                                            int32x4_t (&is)[2][T][4]) {
  int8x16_t w[4];
  W::template piece<J>(v, w);
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) {
    SILICA_UNROLL
    for (int q = 0; q < 4; ++q)
      is[J % 2][t][q] = vdotq_laneq_s32(is[J % 2][t][q], w[q], a[t][J / 4], J % 4);
  }
}

template <class W, int T, int... Js>
[[gnu::always_inline]] inline void q0_pieces(const uint8_t* v, const int8x16_t (&a)[T][2],
                                             int32x4_t (&is)[2][T][4],
                                             std::integer_sequence<int, Js...>) {
  (q0_piece<W, T, Js>(v, a, is), ...);
}

// One group (16 rows) x T tokens over nb blocks of 32.
template <class W, int T>
void micro_q0(const uint8_t* g, int64_t nb, const uint8_t* a, size_t as, float* y, int64_t ys,
              int64_t rows) {
  const PackedActBlock* ab[T];
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) ab[t] = reinterpret_cast<const PackedActBlock*>(a + t * as);
  float32x4_t acc[T][4];
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) {
    SILICA_UNROLL
    for (int q = 0; q < 4; ++q) acc[t][q] = vdupq_n_f32(0.0f);
  }
  for (int64_t b = 0; b < nb; ++b) {
    int8x16_t av[T][2];
    int32x4_t is[2][T][4];
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) {
      av[t][0] = vld1q_s8(ab[t][b].qs);
      av[t][1] = vld1q_s8(ab[t][b].qs + 16);
      SILICA_UNROLL
      for (int q = 0; q < 4; ++q) is[0][t][q] = is[1][t][q] = vdupq_n_s32(0);
    }
    // The scales first: they lead the pair in memory (kernels/packed.h).
    const uint16_t* sc = q0_scales(g, b, W::kValueBytes);
    float32x4_t dw[4];  // the hardware's fp16 -> fp32 is exact, as fp16_to_f32
    SILICA_UNROLL
    for (int q = 0; q < 4; ++q) dw[q] = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(sc + 4 * q)));
    q0_pieces<W, T>(q0_values(g, b, W::kValueBytes), av, is, std::make_integer_sequence<int, 8>());
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) {
      SILICA_UNROLL
      for (int q = 0; q < 4; ++q) {
        const int32x4_t s = vaddq_s32(is[0][t][q], is[1][t][q]);
        acc[t][q] = vfmaq_f32(acc[t][q], vcvtq_f32_s32(s), vmulq_n_f32(dw[q], ab[t][b].d));
      }
    }
  }
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) store_rows(acc[t], y + t * ys, rows);
}

// F16 / BF16: element i of the 16 rows is 32 contiguous bytes, widened once for T tokens.
struct F16Neon {
  [[gnu::always_inline]] static inline void load(const uint16_t* p, float32x4_t (&w)[4]) {
    const float16x8_t lo = vreinterpretq_f16_u16(vld1q_u16(p));
    const float16x8_t hi = vreinterpretq_f16_u16(vld1q_u16(p + 8));
    w[0] = vcvt_f32_f16(vget_low_f16(lo));
    w[1] = vcvt_high_f32_f16(lo);
    w[2] = vcvt_f32_f16(vget_low_f16(hi));
    w[3] = vcvt_high_f32_f16(hi);
  }
};
struct BF16Neon {
  [[gnu::always_inline]] static inline void load(const uint16_t* p, float32x4_t (&w)[4]) {
    const uint16x8_t lo = vld1q_u16(p), hi = vld1q_u16(p + 8);
    w[0] = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(lo), 16));
    w[1] = vreinterpretq_f32_u32(vshll_high_n_u16(lo, 16));
    w[2] = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(hi), 16));
    w[3] = vreinterpretq_f32_u32(vshll_high_n_u16(hi, 16));
  }
};

// Element 4k + L of T tokens (x[t]: their elements 4k..4k+3) into chain L % 2.
template <class H, int T, int L>
[[gnu::always_inline]] inline void half_element(const uint16_t* w, const float32x4_t (&x)[T],
                                                float32x4_t (&acc)[2][T][4]) {
  float32x4_t wv[4];
  H::load(w + L * kPackRows, wv);
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) {
    SILICA_UNROLL
    for (int q = 0; q < 4; ++q)
      acc[L % 2][t][q] = vfmaq_laneq_f32(acc[L % 2][t][q], wv[q], x[t], L);
  }
}

template <class H, int T>
void micro_half(const uint8_t* g, int64_t nb, const uint8_t* a, size_t as, float* y, int64_t ys,
                int64_t rows) {
  const auto* w = reinterpret_cast<const uint16_t*>(g);
  const float* x[T];
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) x[t] = reinterpret_cast<const float*>(a + t * as);
  float32x4_t acc[2][T][4];
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) {
    SILICA_UNROLL
    for (int q = 0; q < 4; ++q) acc[0][t][q] = acc[1][t][q] = vdupq_n_f32(0.0f);
  }
  const int64_t n = nb * 32;
  for (int64_t i = 0; i < n; i += 4) {
    float32x4_t xv[T];
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) xv[t] = vld1q_f32(x[t] + i);
    const uint16_t* wi = w + i * kPackRows;
    half_element<H, T, 0>(wi, xv, acc);
    half_element<H, T, 1>(wi, xv, acc);
    half_element<H, T, 2>(wi, xv, acc);
    half_element<H, T, 3>(wi, xv, acc);
  }
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) {
    float32x4_t sum[4];
    SILICA_UNROLL
    for (int q = 0; q < 4; ++q) sum[q] = vaddq_f32(acc[0][t][q], acc[1][t][q]);
    store_rows(sum, y + t * ys, rows);
  }
}

// ---- K-quants: per super-block and token the sub-block sums in int32 (SDOT), times the
// sub-block scales (MLA) as the twin does, then the twin's float steps.

// uint8 / int8 x16 (16 rows) -> 4 int32 quads.
inline void widen_u8(uint8x16_t v, int32x4_t (&out)[4]) {
  const uint16x8_t lo = vmovl_u8(vget_low_u8(v)), hi = vmovl_high_u8(v);
  out[0] = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(lo)));
  out[1] = vreinterpretq_s32_u32(vmovl_high_u16(lo));
  out[2] = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(hi)));
  out[3] = vreinterpretq_s32_u32(vmovl_high_u16(hi));
}
inline void widen_s8(int8x16_t v, int32x4_t (&out)[4]) {
  const int16x8_t lo = vmovl_s8(vget_low_s8(v)), hi = vmovl_high_s8(v);
  out[0] = vmovl_s16(vget_low_s16(lo));
  out[1] = vmovl_high_s16(lo);
  out[2] = vmovl_s16(vget_low_s16(hi));
  out[3] = vmovl_high_s16(hi);
}
inline void load_f16x16(const uint8_t* p, float32x4_t (&out)[4]) {
  const auto* h = reinterpret_cast<const uint16_t*>(p);
  SILICA_UNROLL
  for (int q = 0; q < 4; ++q) out[q] = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(h + 4 * q)));
}

// Q4_K piece C of a pair's 8 pieces (kHigh: the high nibbles, the pair's odd sub-block) for T
// tokens; a[t]: the sub-block's 32 activations.
template <int T, int C, bool kHigh>
[[gnu::always_inline]] inline void q4_K_piece(const uint8_t* pieces, const int8x16_t (&a)[T][2],
                                              int32x4_t (&is)[T][4]) {
  int8x16_t w[4];
  SILICA_UNROLL
  for (int q = 0; q < 4; ++q) {
    const uint8x16_t p = vld1q_u8(pieces + 64 * C + 16 * q);
    w[q] = vreinterpretq_s8_u8(kHigh ? vshrq_n_u8(p, 4) : vandq_u8(p, vdupq_n_u8(0x0f)));
  }
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) {
    SILICA_UNROLL
    for (int q = 0; q < 4; ++q) is[t][q] = vdotq_laneq_s32(is[t][q], w[q], a[t][C / 4], C % 4);
  }
}

template <int T, bool kHigh, int... Cs>
[[gnu::always_inline]] inline void q4_K_sub(const uint8_t* pieces, const int8x16_t (&a)[T][2],
                                            int32x4_t (&is)[T][4],
                                            std::integer_sequence<int, Cs...>) {
  (q4_K_piece<T, Cs, kHigh>(pieces, a, is), ...);
}

// Sub-block sub of a Q4_K super-block: isc += scale * sum(q * a), per row.
template <int T, bool kHigh>
[[gnu::always_inline]] inline void q4_K_sub_block(const uint8_t* sb, int sub,
                                                  const PackedActBlockK* const (&ab)[T], int64_t b,
                                                  int32x4_t (&isc)[T][4]) {
  int8x16_t av[T][2];
  int32x4_t is[T][4];
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) {
    av[t][0] = vld1q_s8(ab[t][b].qs + 32 * sub);
    av[t][1] = vld1q_s8(ab[t][b].qs + 32 * sub + 16);
    SILICA_UNROLL
    for (int q = 0; q < 4; ++q) is[t][q] = vdupq_n_s32(0);
  }
  q4_K_sub<T, kHigh>(sb + kQ4KNibbles + (sub / 2) * 512, av, is,
                     std::make_integer_sequence<int, 8>());
  int32x4_t sc[4];
  widen_u8(vld1q_u8(sb + kQ4KScales + sub * kPackRows), sc);
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) {
    SILICA_UNROLL
    for (int q = 0; q < 4; ++q) isc[t][q] = vmlaq_s32(isc[t][q], is[t][q], sc[q]);
  }
}

template <int T>
void micro_q4_K(const uint8_t* g, int64_t nb, const uint8_t* a, size_t as, float* y, int64_t ys,
                int64_t rows) {
  const PackedActBlockK* ab[T];
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) ab[t] = reinterpret_cast<const PackedActBlockK*>(a + t * as);
  float32x4_t acc[T][4];
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) {
    SILICA_UNROLL
    for (int q = 0; q < 4; ++q) acc[t][q] = vdupq_n_f32(0.0f);
  }
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* sb = g + b * kPackQ4_KBytes;
    int32x4_t isc[T][4];
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) {
      SILICA_UNROLL
      for (int q = 0; q < 4; ++q) isc[t][q] = vdupq_n_s32(0);
    }
    for (int p = 0; p < 4; ++p) {
      q4_K_sub_block<T, false>(sb, 2 * p, ab, b, isc);
      q4_K_sub_block<T, true>(sb, 2 * p + 1, ab, b, isc);
    }
    float32x4_t dw[4], dm[4];
    load_f16x16(sb + kQ4KD, dw);
    load_f16x16(sb + kQ4KDmin, dm);
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) {
      // imin = sum_s m_s * bsum_s: pair k's (m, m') bytes deinterleaved to sub-blocks 2k, 2k + 1.
      int32x4_t imin[4] = {vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0)};
      SILICA_UNROLL
      for (int k = 0; k < 4; ++k) {
        const uint8x16x2_t m = vld2q_u8(sb + kQ4KMins + 32 * k);
        int32x4_t m0[4], m1[4];
        widen_u8(m.val[0], m0);
        widen_u8(m.val[1], m1);
        SILICA_UNROLL
        for (int q = 0; q < 4; ++q) {
          imin[q] = vmlaq_n_s32(imin[q], m0[q], ab[t][b].bsum[2 * k]);
          imin[q] = vmlaq_n_s32(imin[q], m1[q], ab[t][b].bsum[2 * k + 1]);
        }
      }
      const float da = ab[t][b].d;
      SILICA_UNROLL
      for (int q = 0; q < 4; ++q) {
        acc[t][q] = vfmaq_f32(acc[t][q], vcvtq_f32_s32(isc[t][q]), vmulq_n_f32(dw[q], da));
        acc[t][q] = vfmsq_f32(acc[t][q], vcvtq_f32_s32(imin[q]), vmulq_n_f32(dm[q], da));
      }
    }
  }
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) store_rows(acc[t], y + t * ys, rows);
}

// Q6_K piece J (of 64) as signed q - 32 for 16 rows (kernels/packed.h): one AND for the first
// three quarters; for the fourth, the tops of triple J % 16's vectors shifted in (SRI keeps the
// destination's top bits: x's at bits 0-1, y's at 2-3, z's at 4-5).
template <int J>
[[gnu::always_inline]] inline void q6_K_piece(const uint8_t* sb, int8x16_t (&w)[4]) {
  constexpr int kK = J % 16, kV = J / 16;
  SILICA_UNROLL
  for (int q = 0; q < 4; ++q) {
    uint8x16_t v;
    if constexpr (kV < 3) {
      v = vandq_u8(vld1q_u8(sb + q6k_vec_at(kK, kV) + 16 * q), vdupq_n_u8(0x3f));
    } else {
      const uint8x16_t x = vld1q_u8(sb + q6k_vec_at(kK, 0) + 16 * q);
      const uint8x16_t y = vld1q_u8(sb + q6k_vec_at(kK, 1) + 16 * q);
      const uint8x16_t z = vld1q_u8(sb + q6k_vec_at(kK, 2) + 16 * q);
      v = vshrq_n_u8(vsriq_n_u8(z, vsriq_n_u8(y, x, 2), 2), 2);
    }
    w[q] = vsubq_s8(vreinterpretq_s8_u8(v), vdupq_n_s8(32));
  }
}

// Piece C of sub-block S (elements 16S + 4C..+3) for T tokens; a[t]: the sub-block's 16
// activations.
template <int T, int S, int C>
[[gnu::always_inline]] inline void q6_K_sub_piece(const uint8_t* sb, const int8x16_t (&a)[T],
                                                  int32x4_t (&is)[T][4]) {
  int8x16_t w[4];
  q6_K_piece<4 * S + C>(sb, w);
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) {
    SILICA_UNROLL
    for (int q = 0; q < 4; ++q) is[t][q] = vdotq_laneq_s32(is[t][q], w[q], a[t], C);
  }
}

// Sub-block S: isc += scale * sum((q - 32) * a). Summed over the 16 sub-blocks that is the
// twin's isc - 32 * ioff, the same integer.
template <int T, int S>
[[gnu::always_inline]] inline void q6_K_sub_block(const uint8_t* sb,
                                                  const BlockQ8_K* const (&ab)[T], int64_t b,
                                                  int32x4_t (&isc)[T][4]) {
  int8x16_t av[T];
  int32x4_t is[T][4];
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) {
    av[t] = vld1q_s8(ab[t][b].qs + 16 * S);
    SILICA_UNROLL
    for (int q = 0; q < 4; ++q) is[t][q] = vdupq_n_s32(0);
  }
  q6_K_sub_piece<T, S, 0>(sb, av, is);
  q6_K_sub_piece<T, S, 1>(sb, av, is);
  q6_K_sub_piece<T, S, 2>(sb, av, is);
  q6_K_sub_piece<T, S, 3>(sb, av, is);
  // [row][sub-block pair] int8 scales: vld2 splits the even and odd sub-blocks' bytes.
  const int8x16x2_t pair =
      vld2q_s8(reinterpret_cast<const int8_t*>(sb + kQ6KScales + 32 * (S / 2)));
  int32x4_t sc[4];
  widen_s8(pair.val[S % 2], sc);
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) {
    SILICA_UNROLL
    for (int q = 0; q < 4; ++q) isc[t][q] = vmlaq_s32(isc[t][q], is[t][q], sc[q]);
  }
}

template <int T, int... Ss>
[[gnu::always_inline]] inline void q6_K_sub_blocks(const uint8_t* sb,
                                                   const BlockQ8_K* const (&ab)[T], int64_t b,
                                                   int32x4_t (&isc)[T][4],
                                                   std::integer_sequence<int, Ss...>) {
  (q6_K_sub_block<T, Ss>(sb, ab, b, isc), ...);
}

template <int T>
void micro_q6_K(const uint8_t* g, int64_t nb, const uint8_t* a, size_t as, float* y, int64_t ys,
                int64_t rows) {
  const BlockQ8_K* ab[T];
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) ab[t] = reinterpret_cast<const BlockQ8_K*>(a + t * as);
  float32x4_t acc[T][4];
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) {
    SILICA_UNROLL
    for (int q = 0; q < 4; ++q) acc[t][q] = vdupq_n_f32(0.0f);
  }
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* sb = g + b * kPackQ6_KBytes;
    int32x4_t isc[T][4];
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) {
      SILICA_UNROLL
      for (int q = 0; q < 4; ++q) isc[t][q] = vdupq_n_s32(0);
    }
    q6_K_sub_blocks<T>(sb, ab, b, isc, std::make_integer_sequence<int, 16>());
    float32x4_t dw[4];
    load_f16x16(sb + kQ6KD, dw);
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) {
      SILICA_UNROLL
      for (int q = 0; q < 4; ++q)
        acc[t][q] = vfmaq_f32(acc[t][q], vcvtq_f32_s32(isc[t][q]), vmulq_n_f32(dw[q], ab[t][b].d));
    }
  }
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) store_rows(acc[t], y + t * ys, rows);
}

using MicroFn = void (*)(const uint8_t*, int64_t, const uint8_t*, size_t, float*, int64_t, int64_t);

// Tokens outer, groups inner (as on x86): the call's activations stay in L1 while its groups
// stream from L2. fns[t - 1] takes t tokens; nb blocks per row.
void drive_tiles(const MicroFn (&fns)[kMaxTok], int64_t nb, const void* g, size_t g_bytes,
                 int64_t n_groups, int64_t n_rows, const void* a, size_t as, int64_t n_tok,
                 float* y, int64_t ys) {
  const auto* gb = static_cast<const uint8_t*>(g);
  const auto* abytes = static_cast<const uint8_t*>(a);
  for (int64_t t = 0; t < n_tok; t += kMaxTok) {
    const int tt = int(std::min<int64_t>(kMaxTok, n_tok - t));
    for (int64_t gi = 0; gi < n_groups; ++gi)
      fns[tt - 1](gb + size_t(gi) * g_bytes, nb, abytes + t * as, as, y + t * ys + gi * kPackRows,
                  ys, std::min<int64_t>(kPackRows, n_rows - gi * kPackRows));
  }
}

template <class W>
void tile_q0(const void* g, size_t g_bytes, int64_t n_groups, int64_t n_rows, const void* a,
             size_t as, int64_t n_tok, int64_t n, float* y, int64_t ys) {
  static constexpr MicroFn kFns[kMaxTok] = {&micro_q0<W, 1>, &micro_q0<W, 2>};
  drive_tiles(kFns, n / 32, g, g_bytes, n_groups, n_rows, a, as, n_tok, y, ys);
}

void tile_q4_K(const void* g, size_t g_bytes, int64_t n_groups, int64_t n_rows, const void* a,
               size_t as, int64_t n_tok, int64_t n, float* y, int64_t ys) {
  static constexpr MicroFn kFns[kMaxTok] = {&micro_q4_K<1>, &micro_q4_K<2>};
  drive_tiles(kFns, n / 256, g, g_bytes, n_groups, n_rows, a, as, n_tok, y, ys);
}

void tile_q6_K(const void* g, size_t g_bytes, int64_t n_groups, int64_t n_rows, const void* a,
               size_t as, int64_t n_tok, int64_t n, float* y, int64_t ys) {
  static constexpr MicroFn kFns[kMaxTok] = {&micro_q6_K<1>, &micro_q6_K<2>};
  drive_tiles(kFns, n / 256, g, g_bytes, n_groups, n_rows, a, as, n_tok, y, ys);
}

template <class H>
void tile_half(const void* g, size_t g_bytes, int64_t n_groups, int64_t n_rows, const void* a,
               size_t as, int64_t n_tok, int64_t n, float* y, int64_t ys) {
  static constexpr MicroFn kFns[kMaxTok] = {&micro_half<H, 1>, &micro_half<H, 2>};
  drive_tiles(kFns, n / 32, g, g_bytes, n_groups, n_rows, a, as, n_tok, y, ys);
}

}  // namespace

PackedTileFn neon_packed_tile(DType t) {
  switch (t) {
    case DType::kQ8_0:
      return &tile_q0<Q8_0Neon>;
    case DType::kQ4_0:
      return &tile_q0<Q4_0Neon>;
    case DType::kQ4_K:
      return &tile_q4_K;
    case DType::kQ6_K:
      return &tile_q6_K;
    case DType::kF16:
      return &tile_half<F16Neon>;
    case DType::kBF16:
      return &tile_half<BF16Neon>;
    default:
      return nullptr;
  }
}

int neon_packed_tile_tokens() {
  return kMaxTok;
}

}  // namespace silica::kernels_internal

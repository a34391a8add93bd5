// NEON kernels (AArch64 baseline), with the int8 dots on SDOT where FEAT_DotProd is present and
// on widening multiplies otherwise; chosen once when the table is filled.
#include <arm_neon.h>

#include <cstring>
#include <type_traits>

#include "base/half.h"
#include "kernels/arm/neon_common.h"
#include "kernels/kernel_tables.h"
#include "kernels/row_tile.h"
#include "tensor/blocks.h"

namespace {

using namespace silica;

template <bool kDot>
float dot_q8_0_q8_0(const void* a, const void* b, int64_t n) {
  const auto* x = static_cast<const BlockQ8_0*>(a);
  const auto* y = static_cast<const BlockQ8_0*>(b);
  float32x4_t acc = vdupq_n_f32(0.0f);
  for (int64_t i = 0; i < n / kQK8_0; ++i) {
    int32x4_t p = dot_s8<kDot>(vdupq_n_s32(0), vld1q_s8(x[i].qs), vld1q_s8(y[i].qs));
    p = dot_s8<kDot>(p, vld1q_s8(x[i].qs + 16), vld1q_s8(y[i].qs + 16));
    acc = vfmaq_n_f32(acc, vcvtq_f32_s32(p), half_to_float(x[i].d) * half_to_float(y[i].d));
  }
  return vaddvq_f32(acc);
}

template <bool kDot>
float dot_q4_0_q8_0(const void* a, const void* b, int64_t n) {
  const auto* x = static_cast<const BlockQ4_0*>(a);
  const auto* y = static_cast<const BlockQ8_0*>(b);
  const uint8x16_t kLow = vdupq_n_u8(0x0f);
  const int8x16_t k8 = vdupq_n_s8(8);
  float32x4_t acc = vdupq_n_f32(0.0f);
  for (int64_t i = 0; i < n / kQK4_0; ++i) {
    const uint8x16_t q = vld1q_u8(x[i].qs);
    const int8x16_t lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, kLow)), k8);  // elements 0..15
    const int8x16_t hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), k8);   // 16..31
    int32x4_t p = dot_s8<kDot>(vdupq_n_s32(0), lo, vld1q_s8(y[i].qs));
    p = dot_s8<kDot>(p, hi, vld1q_s8(y[i].qs + 16));
    acc = vfmaq_n_f32(acc, vcvtq_f32_s32(p), half_to_float(x[i].d) * half_to_float(y[i].d));
  }
  return vaddvq_f32(acc);
}

inline void unpack_k4_scales(const uint8_t* q, uint8_t* sc, uint8_t* mn) {
  for (int j = 0; j < 4; ++j) {
    sc[j] = q[j] & 63;
    mn[j] = q[j + 4] & 63;
    sc[j + 4] = (q[j + 8] & 0x0f) | ((q[j] >> 6) << 4);
    mn[j + 4] = (q[j + 8] >> 4) | ((q[j + 4] >> 6) << 4);
  }
}

// q4_K and q5_K: value = d * sc * q - dmin * m, q the nibble (q4_K, 0..15) or the nibble plus a
// 5th bit (q5_K, 0..31: bit s of qh[l] for element l of sub-block s); both valid int8 for SDOT.
// A row-tile kernel (kernels/row_tile.h): a row is unpacked once for up to kRowTileTokens tokens.
template <bool kDot, class B>
struct K4 {
  using Block = B;
  using Act = BlockQ8_K;
  static constexpr int kElems = kQK_K;
  static constexpr bool kFifth = std::is_same_v<Block, BlockQ5_K>;
  template <int T>
  static void micro(const Block* x, const Act* const (&y)[T], int64_t nb, float* out, int64_t ys) {
    const uint8x16_t kLow = vdupq_n_u8(0x0f), kBit = vdupq_n_u8(0x10);
    float sum[T] = {};
    for (int64_t i = 0; i < nb; ++i) {
      row_prefetch<T, sizeof(Block)>(x + i);
      uint8_t sc[8], mn[8];
      unpack_k4_scales(x[i].scales, sc, mn);
      // q5_K: qh shifted right once a sub-block, its bit 0 moved to bit 4.
      uint8x16_t h0 = vdupq_n_u8(0), h1 = vdupq_n_u8(0);
      if constexpr (kFifth) h0 = vld1q_u8(x[i].qh), h1 = vld1q_u8(x[i].qh + 16);
      auto with_fifth = [&](uint8x16_t q, uint8x16_t& h) {
        if constexpr (!kFifth) return q;
        const uint8x16_t out = vorrq_u8(q, vandq_u8(vshlq_n_u8(h, 4), kBit));
        h = vshrq_n_u8(h, 1);
        return out;
      };
      int32_t sumi[T] = {};
      SILICA_UNROLL
      for (int j = 0; j < 4; ++j) {
        const uint8x16_t q0 = vld1q_u8(x[i].qs + 32 * j), q1 = vld1q_u8(x[i].qs + 32 * j + 16);
        const int8x16_t lo0 = vreinterpretq_s8_u8(with_fifth(vandq_u8(q0, kLow), h0));
        const int8x16_t lo1 = vreinterpretq_s8_u8(with_fifth(vandq_u8(q1, kLow), h1));
        const int8x16_t hi0 = vreinterpretq_s8_u8(with_fifth(vshrq_n_u8(q0, 4), h0));
        const int8x16_t hi1 = vreinterpretq_s8_u8(with_fifth(vshrq_n_u8(q1, 4), h1));
        SILICA_UNROLL
        for (int t = 0; t < T; ++t) {
          const int8_t* q8 = y[t][i].qs + 64 * j;
          int32x4_t plo = dot_s8<kDot>(vdupq_n_s32(0), lo0, vld1q_s8(q8));
          plo = dot_s8<kDot>(plo, lo1, vld1q_s8(q8 + 16));
          int32x4_t phi = dot_s8<kDot>(vdupq_n_s32(0), hi0, vld1q_s8(q8 + 32));
          phi = dot_s8<kDot>(phi, hi1, vld1q_s8(q8 + 48));
          sumi[t] += sc[2 * j] * vaddvq_s32(plo) + sc[2 * j + 1] * vaddvq_s32(phi);
        }
      }
      const float xd = half_to_float(x[i].d), xmin = half_to_float(x[i].dmin);
      SILICA_UNROLL
      for (int t = 0; t < T; ++t) {
        int32_t summ = 0;
        for (int j = 0; j < 8; ++j)
          summ += mn[j] * (y[t][i].bsums[2 * j] + y[t][i].bsums[2 * j + 1]);
        sum[t] += y[t][i].d * xd * float(sumi[t]) - y[t][i].d * xmin * float(summ);
      }
    }
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) out[t * ys] = sum[t];
  }
};

// q6_K: q = (ql nibble) | (2 bits of qh) << 4 in 0..63, value = d * sc * (q - 32); the offset is
// applied once per block through the q8_K per-16 sums.
template <bool kDot>
float dot_q6_K_q8_K(const void* a, const void* b, int64_t n) {
  const auto* x = static_cast<const BlockQ6_K*>(a);
  const auto* y = static_cast<const BlockQ8_K*>(b);
  const uint8x16_t kLow = vdupq_n_u8(0x0f), k3 = vdupq_n_u8(3);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const int8_t* sc = x[i].scales;
    int32_t sumi = 0, offset = 0;
    for (int j = 0; j < 16; ++j) offset += sc[j] * y[i].bsums[j];
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = x[i].ql + 64 * h;
      const uint8_t* qh = x[i].qh + 32 * h;
      const int8_t* q8 = y[i].qs + 128 * h;
      for (int l = 0; l < 32; l += 16) {  // the two 16-element groups of each 32
        const uint8x16_t l0 = vld1q_u8(ql + l), l1 = vld1q_u8(ql + 32 + l);
        const uint8x16_t hb = vld1q_u8(qh + l);
        const uint8x16_t q[4] = {
            vorrq_u8(vandq_u8(l0, kLow), vshlq_n_u8(vandq_u8(hb, k3), 4)),
            vorrq_u8(vandq_u8(l1, kLow), vshlq_n_u8(vandq_u8(vshrq_n_u8(hb, 2), k3), 4)),
            vorrq_u8(vshrq_n_u8(l0, 4), vshlq_n_u8(vandq_u8(vshrq_n_u8(hb, 4), k3), 4)),
            vorrq_u8(vshrq_n_u8(l1, 4), vshlq_n_u8(vshrq_n_u8(hb, 6), 4)),
        };
        for (int k = 0; k < 4; ++k) {
          const int32x4_t p =
              dot_s8<kDot>(vdupq_n_s32(0), vreinterpretq_s8_u8(q[k]), vld1q_s8(q8 + 32 * k + l));
          sumi += sc[8 * h + 2 * k + l / 16] * vaddvq_s32(p);
        }
      }
    }
    sum += y[i].d * half_to_float(x[i].d) * float(sumi - 32 * offset);
  }
  return sum;
}

float dot_f32(const void* a, const void* b, int64_t n) {
  const float* x = static_cast<const float*>(a);
  const float* y = static_cast<const float*>(b);
  float32x4_t acc[4] = {vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0)};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int k = 0; k < 4; ++k)
      acc[k] = vfmaq_f32(acc[k], vld1q_f32(x + i + 4 * k), vld1q_f32(y + i + 4 * k));
  float s = vaddvq_f32(vaddq_f32(vaddq_f32(acc[0], acc[1]), vaddq_f32(acc[2], acc[3])));
  for (; i < n; ++i) s += x[i] * y[i];
  return s;
}

inline float32x4_t load_f16x4(const uint16_t* p) {
  return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
}
inline float32x4_t load_bf16x4(const uint16_t* p) {
  return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16));
}

template <float32x4_t (*Load)(const uint16_t*), float (*Scalar)(uint16_t)>
float dot_half(const void* a, const void* b, int64_t n) {
  const auto* x = static_cast<const uint16_t*>(a);
  const auto* y = static_cast<const uint16_t*>(b);
  float32x4_t acc[4] = {vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0)};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int k = 0; k < 4; ++k)
      acc[k] = vfmaq_f32(acc[k], Load(x + i + 4 * k), Load(y + i + 4 * k));
  float s = vaddvq_f32(vaddq_f32(vaddq_f32(acc[0], acc[1]), vaddq_f32(acc[2], acc[3])));
  for (; i < n; ++i) s += Scalar(x[i]) * Scalar(y[i]);
  return s;
}

// Bit-identical to the reference: scale from the first element of largest magnitude,
// q = nearest-even(x * -127/max) capped at 127, plus per-16 sums.
void from_float_q8_K(const float* x, void* out, int64_t n) {
  auto* y = static_cast<BlockQ8_K*>(out);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float* xb = x + i * kQK_K;
    float32x4_t vmax = vdupq_n_f32(0.0f);
    for (int k = 0; k < kQK_K; k += 4) vmax = vmaxq_f32(vmax, vabsq_f32(vld1q_f32(xb + k)));
    const float amax = vmaxvq_f32(vmax);
    if (amax == 0.0f) {
      std::memset(&y[i], 0, sizeof(BlockQ8_K));
      continue;
    }
    float max = 0.0f;
    for (int k = 0; k < kQK_K; ++k) {
      if ((xb[k] < 0 ? -xb[k] : xb[k]) == amax) {
        max = xb[k];
        break;
      }
    }
    const float iscale = -127.0f / max;
    const int32x4_t k127 = vdupq_n_s32(127);
    for (int k = 0; k < kQK_K; k += 16) {
      int32x4_t q[4];
      for (int j = 0; j < 4; ++j)
        q[j] = vminq_s32(vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(xb + k + 4 * j), iscale)), k127);
      const int8x16_t packed = narrow_i32x16(q);
      vst1q_s8(y[i].qs + k, packed);
      y[i].bsums[k / 16] = int16_t(vaddlvq_s8(packed));
    }
    y[i].d = 1.0f / iscale;
  }
}

void from_float_f16(const float* x, void* out, int64_t n) {
  auto* y = static_cast<uint16_t*>(out);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1_u16(y + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(x + i))));
  for (; i < n; ++i) y[i] = f32_to_fp16(x[i]);
}

void to_float_f16(const void* in, float* y, int64_t n) {
  const auto* x = static_cast<const uint16_t*>(in);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, load_f16x4(x + i));
  for (; i < n; ++i) y[i] = fp16_to_f32(x[i]);
}

// Round-to-nearest-even in integer arithmetic, NaN -> quiet NaN, as the reference.
void from_float_bf16(const float* x, void* out, int64_t n) {
  auto* y = static_cast<uint16_t*>(out);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const uint32x4_t u = vreinterpretq_u32_f32(vld1q_f32(x + i));
    const uint32x4_t lsb = vandq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(1));
    const uint32x4_t rounded = vshrq_n_u32(vaddq_u32(u, vaddq_u32(vdupq_n_u32(0x7fff), lsb)), 16);
    const uint32x4_t quiet = vorrq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(64));
    const uint32x4_t is_nan =
        vcgtq_u32(vandq_u32(u, vdupq_n_u32(0x7fffffff)), vdupq_n_u32(0x7f800000));
    vst1_u16(y + i, vmovn_u32(vbslq_u32(is_nan, quiet, rounded)));
  }
  for (; i < n; ++i) y[i] = f32_to_bf16(x[i]);
}

void to_float_bf16(const void* in, float* y, int64_t n) {
  const auto* x = static_cast<const uint16_t*>(in);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, load_bf16x4(x + i));
  for (; i < n; ++i) y[i] = bf16_to_f32(x[i]);
}

template <bool kDot>
void fill(kernels_internal::KernelTable& table) {
  using kernels_internal::entry;
  entry(table, DType::kF32).vec_dot = &dot_f32;
  entry(table, DType::kF16) = {&dot_half<load_f16x4, fp16_to_f32>, &from_float_f16, &to_float_f16};
  entry(table, DType::kBF16) = {&dot_half<load_bf16x4, bf16_to_f32>, &from_float_bf16,
                                &to_float_bf16};
  entry(table, DType::kQ8_0).vec_dot = &dot_q8_0_q8_0<kDot>;
  entry(table, DType::kQ8_0).from_float = &from_float_q8<BlockQ8_0>;
  entry(table, DType::kQ4_0).vec_dot = &dot_q4_0_q8_0<kDot>;
  set_row_kernels<K4<kDot, BlockQ4_K>>(table, DType::kQ4_K);
  set_row_kernels<K4<kDot, BlockQ5_K>>(table, DType::kQ5_K);
  entry(table, DType::kQ6_K).vec_dot = &dot_q6_K_q8_K<kDot>;
  entry(table, DType::kQ8_K).from_float = &from_float_q8_K;
}

}  // namespace

namespace silica::kernels_internal {

void fill_neon_kernels(KernelTable& table, bool dotprod) {
  if (dotprod) {
    fill<true>(table);
  } else {
    fill<false>(table);
  }
}

}  // namespace silica::kernels_internal

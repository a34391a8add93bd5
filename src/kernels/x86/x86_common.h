// Shared x86 kernel bodies, included by avx2_kernels.cc and avx512_kernels.cc after each defines
// dot_u8s8() for its ISA (maddubs+madd on AVX2, vpdpbusd on AVX-512 VNNI). Everything here has
// internal linkage, so the two copies, compiled with different flags, never meet at link time.
// Requires: <immintrin.h>, <algorithm>, <cstring>, base/half.h, tensor/blocks.h, and
//   __m256i dot_u8s8(__m256i acc, __m256i u, __m256i s)  // acc[k] += sum_{j<4} u[4k+j]*s[4k+j]
#pragma once

#include <type_traits>

#include "kernels/row_tile.h"
#include "kernels/x86/keep_in_register.h"

namespace {

using namespace silica;

using silica::kernels_internal::keep_in_register;

inline float hsum_f32x8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float half_to_float(uint16_t h) {
  return _cvtsh_ss(h);
}

// Signed x signed int8 dot via |x| * sign(y, x). x = -128 is fine (|x| = 128 as unsigned);
// y = -128 would overflow on negation, and activations never hold it: q8_0 and q8_K round
// x * 127 / amax, whose magnitude is at most 127.
inline __m256i dot_s8s8(__m256i acc, __m256i x, __m256i y) {
  return dot_u8s8(acc, _mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

// 16 bytes of packed nibbles -> 32 bytes: low nibbles in bytes 0..15, high nibbles in 16..31.
inline __m256i unpack_nibbles_16(const uint8_t* qs) {
  const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

inline __m256i loadu256(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

float dot_q8_0_q8_0(const void* a, const void* b, int64_t n) {
  const auto* x = static_cast<const BlockQ8_0*>(a);
  const auto* y = static_cast<const BlockQ8_0*>(b);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK8_0; ++i) {
    const __m256i p = dot_s8s8(_mm256_setzero_si256(), loadu256(x[i].qs), loadu256(y[i].qs));
    const __m256 d = _mm256_set1_ps(half_to_float(x[i].d) * half_to_float(y[i].d));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), d, acc);
  }
  return hsum_f32x8(acc);
}

float dot_q4_0_q8_0(const void* a, const void* b, int64_t n) {
  const auto* x = static_cast<const BlockQ4_0*>(a);
  const auto* y = static_cast<const BlockQ8_0*>(b);
  const __m256i k8 = _mm256_set1_epi8(8);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK4_0; ++i) {
    const __m256i qx = _mm256_sub_epi8(unpack_nibbles_16(x[i].qs), k8);  // [-8, 7]
    const __m256i p = dot_s8s8(_mm256_setzero_si256(), qx, loadu256(y[i].qs));
    const __m256 d = _mm256_set1_ps(half_to_float(x[i].d) * half_to_float(y[i].d));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), d, acc);
  }
  return hsum_f32x8(acc);
}

// The 8 scales (bytes 0..7 of sc) and 8 mins (mn) of a q4_K / q5_K super-block, from its 12
// packed bytes read as three words: sub-blocks 0..3 keep 6 bits in words 0 (scale) and 1 (min),
// sub-blocks 4..7 their low nibbles in word 2 and their top 2 bits atop words 0 and 1.
inline void unpack_k4_scales_words(const uint8_t* q, uint32_t sc[2], uint32_t mn[2]) {
  uint32_t w[3];
  std::memcpy(w, q, 12);
  constexpr uint32_t k6 = 0x3f3f3f3f, kNib = 0x0f0f0f0f, k2 = 0x03030303;
  sc[0] = w[0] & k6;
  sc[1] = (w[2] & kNib) | (((w[0] >> 6) & k2) << 4);
  mn[0] = w[1] & k6;
  mn[1] = ((w[2] >> 4) & kNib) | (((w[1] >> 6) & k2) << 4);
}

// value = d * sc * q - dmin * m: the min term only needs the q8_K per-16 sums.
float dot_q4_K_q8_K(const void* a, const void* b, int64_t n) {
  const auto* x = static_cast<const BlockQ4_K*>(a);
  const auto* y = static_cast<const BlockQ8_K*>(b);
  const __m256i kLow = _mm256_set1_epi8(0x0f);
  __m256 acc = _mm256_setzero_ps();
  float mins = 0.0f;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    uint32_t scw[2], mnw[2];
    unpack_k4_scales_words(x[i].scales, scw, mnw);
    uint8_t sc[8], mn[8];
    std::memcpy(sc, scw, 8);
    std::memcpy(mn, mnw, 8);
    int32_t summ = 0;
    for (int j = 0; j < 8; ++j) summ += mn[j] * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
    __m256i sumi = _mm256_setzero_si256();
    for (int j = 0; j < 4; ++j) {
      const __m256i q4 = loadu256(x[i].qs + 32 * j);
      const __m256i lo = _mm256_and_si256(q4, kLow);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q4, 4), kLow);
      const __m256i plo = dot_u8s8(_mm256_setzero_si256(), lo, loadu256(y[i].qs + 64 * j));
      const __m256i phi = dot_u8s8(_mm256_setzero_si256(), hi, loadu256(y[i].qs + 64 * j + 32));
      sumi = _mm256_add_epi32(sumi, _mm256_mullo_epi32(plo, _mm256_set1_epi32(sc[2 * j])));
      sumi = _mm256_add_epi32(sumi, _mm256_mullo_epi32(phi, _mm256_set1_epi32(sc[2 * j + 1])));
    }
    const float d = y[i].d * half_to_float(x[i].d);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    mins += y[i].d * half_to_float(x[i].dmin) * float(summ);
  }
  return hsum_f32x8(acc) - mins;
}

// q5_K: q4_K's nibbles plus a 5th bit, bit s of qh[l] for element l of sub-block s; q in 0..31.
// Each 32-element product is maddubs (int16 pair sums: 2 * 31 * 127 < 32767) then madd by the
// sub-block's scale; the mins term is one madd of the q8_K per-16 sums by the doubled mins.
struct Q5K {
  using Block = BlockQ5_K;
  using Act = BlockQ8_K;
  static constexpr int kElems = kQK_K;
  template <int T>
  static void micro(const Block* x, const Act* const (&y)[T], int64_t nb, float* out, int64_t ys);
};

template <int T>
void Q5K::micro(const Block* x, const Act* const (&y)[T], int64_t nb, float* out, int64_t ys) {
  const __m256i kLow = _mm256_set1_epi8(0x0f), kBit = _mm256_set1_epi8(0x10);
  __m256 acc[T];  // the scale term minus the mins term, one register a token
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    row_prefetch<T, sizeof(Block)>(x + i);
    uint32_t scw[2], mnw[2];
    unpack_k4_scales_words(x[i].scales, scw, mnw);
    uint8_t sc[8];
    std::memcpy(sc, scw, 8);
    // [m0 m0 m1 m1 ... m7 m7] against bsums[0..15]: sum_j m_j * (bsums[2j] + bsums[2j + 1]).
    const __m128i m16 = _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(mnw)));
    const __m256i mins =
        _mm256_set_m128i(_mm_unpackhi_epi16(m16, m16), _mm_unpacklo_epi16(m16, m16));
    // hs >> s puts sub-block s's bit at bit 0 of every byte (a 16-bit shift carries the high
    // byte's low bits into the low byte's top, which the mask after << 4 drops).
    __m256i hs = loadu256(x[i].qh);
    __m256i sumi[T];
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) sumi[t] = _mm256_setzero_si256();
    SILICA_UNROLL
    for (int j = 0; j < 4; ++j) {
      const __m256i q4 = loadu256(x[i].qs + 32 * j);
      const __m256i lo = _mm256_or_si256(_mm256_and_si256(q4, kLow),
                                         _mm256_and_si256(_mm256_slli_epi16(hs, 4), kBit));
      hs = _mm256_srli_epi16(hs, 1);
      const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q4, 4), kLow),
                                         _mm256_and_si256(_mm256_slli_epi16(hs, 4), kBit));
      hs = _mm256_srli_epi16(hs, 1);
      const __m256i s_lo = _mm256_set1_epi16(sc[2 * j]), s_hi = _mm256_set1_epi16(sc[2 * j + 1]);
      SILICA_UNROLL
      for (int t = 0; t < T; ++t) {
        const __m256i plo = _mm256_maddubs_epi16(lo, loadu256(y[t][i].qs + 64 * j));
        const __m256i phi = _mm256_maddubs_epi16(hi, loadu256(y[t][i].qs + 64 * j + 32));
        sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(plo, s_lo));
        sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(phi, s_hi));
        keep_in_register<T>(sumi[t]);
      }
    }
    const float xd = half_to_float(x[i].d), xmin = half_to_float(x[i].dmin);
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) {
      const __m256i summ = _mm256_madd_epi16(loadu256(y[t][i].bsums), mins);
      acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(y[t][i].d * xd), _mm256_cvtepi32_ps(sumi[t]), acc[t]);
      acc[t] = _mm256_fnmadd_ps(_mm256_set1_ps(y[t][i].d * xmin), _mm256_cvtepi32_ps(summ), acc[t]);
    }
  }
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) out[t * ys] = hsum_f32x8(acc[t]);
}

// q6_K: 6-bit q = (4 low bits from ql) | (2 high bits from qh) << 4, value = d * sc * (q - 32).
// The -32 offset is applied once per block through the q8_K per-16 sums.
float dot_q6_K_q8_K(const void* a, const void* b, int64_t n) {
  const auto* x = static_cast<const BlockQ6_K*>(a);
  const auto* y = static_cast<const BlockQ8_K*>(b);
  const __m256i kLow = _mm256_set1_epi8(0x0f), k3 = _mm256_set1_epi8(3);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const int8_t* sc = x[i].scales;
    int32_t offset = 0;
    for (int j = 0; j < 16; ++j) offset += sc[j] * y[i].bsums[j];
    __m256i sumi = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i ql0 = loadu256(x[i].ql + 64 * h), ql1 = loadu256(x[i].ql + 64 * h + 32);
      const __m256i qh = loadu256(x[i].qh + 32 * h);
      const __m256i q[4] = {
          _mm256_or_si256(_mm256_and_si256(ql0, kLow),
                          _mm256_slli_epi16(_mm256_and_si256(qh, k3), 4)),
          _mm256_or_si256(_mm256_and_si256(ql1, kLow),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), k3), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), kLow),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), k3), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), kLow),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), k3), 4)),
      };
      for (int k = 0; k < 4; ++k) {
        const __m256i p =
            dot_u8s8(_mm256_setzero_si256(), q[k], loadu256(y[i].qs + 128 * h + 32 * k));
        // int32 lanes 0-3 cover elements 0-15 of the 32, lanes 4-7 elements 16-31.
        const int s0 = sc[8 * h + 2 * k], s1 = sc[8 * h + 2 * k + 1];
        const __m256i s = _mm256_setr_epi32(s0, s0, s0, s0, s1, s1, s1, s1);
        sumi = _mm256_add_epi32(sumi, _mm256_mullo_epi32(p, s));
      }
    }
    sumi = _mm256_sub_epi32(sumi, _mm256_setr_epi32(32 * offset, 0, 0, 0, 0, 0, 0, 0));
    const float d = y[i].d * half_to_float(x[i].d);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum_f32x8(acc);
}

// Rounds half away from zero, as C's roundf (GGUF's q8_0 reference), not half-to-even.
inline __m256 round_half_away(__m256 v) {
  const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 frac = _mm256_sub_ps(v, t);  // exact
  const __m256 sign = _mm256_and_ps(v, _mm256_set1_ps(-0.0f));
  const __m256 absf = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), frac);
  const __m256 step = _mm256_and_ps(_mm256_cmp_ps(absf, _mm256_set1_ps(0.5f), _CMP_GE_OQ),
                                    _mm256_or_ps(_mm256_set1_ps(1.0f), sign));
  return _mm256_add_ps(t, step);
}

// 32 int32 (four vectors, in element order) -> 32 int8 stored at dst.
inline void pack_store_i8x32(const __m256i v[4], int8_t* dst) {
  const __m256i a = _mm256_packs_epi32(v[0], v[1]);  // 128-bit lanes interleave: fixed below
  const __m256i b = _mm256_packs_epi32(v[2], v[3]);
  __m256i c = _mm256_packs_epi16(a, b);
  c = _mm256_permutevar8x32_epi32(c, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), c);
}

inline float hmax_f32x8(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// q8_0 and q8_1 rows, bit-identical to the reference: d = amax/127, q = roundf(x * (1/d)); q8_1
// adds s = fp16(d * sum(q)) with the fp32 d.
template <class Block>
void from_float_q8(const float* x, void* out, int64_t n) {
  auto* y = static_cast<Block*>(out);
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  for (int64_t i = 0; i < n / kQK8_0; ++i) {
    const float* xb = x + i * kQK8_0;
    __m256 v[4], amax = _mm256_setzero_ps();
    for (int k = 0; k < 4; ++k) {
      v[k] = _mm256_loadu_ps(xb + 8 * k);
      amax = _mm256_max_ps(amax, _mm256_and_ps(v[k], abs_mask));
    }
    const float d = hmax_f32x8(amax) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = f32_to_fp16(d);
    __m256i q[4];
    for (int k = 0; k < 4; ++k)
      q[k] = _mm256_cvtps_epi32(round_half_away(_mm256_mul_ps(v[k], _mm256_set1_ps(id))));
    pack_store_i8x32(q, y[i].qs);
    if constexpr (std::is_same_v<Block, BlockQ8_1>) {
      const __m256i s8 =
          _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
      const __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s8), _mm256_extracti128_si256(s8, 1));
      const __m128i s2 = _mm_add_epi32(s4, _mm_unpackhi_epi64(s4, s4));
      y[i].s = f32_to_fp16(float(_mm_cvtsi128_si32(s2) + _mm_extract_epi32(s2, 1)) * d);
    }
  }
}

// Bit-identical to the reference: the scale comes from the first element of largest magnitude,
// q = nearest-even(x * -127/max) capped at 127, plus per-16 sums.
[[maybe_unused]] void from_float_q8_K(const float* x, void* out, int64_t n) {
  auto* y = static_cast<BlockQ8_K*>(out);
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float* xb = x + i * kQK_K;
    __m256 vmax = _mm256_setzero_ps();
    for (int k = 0; k < kQK_K; k += 8)
      vmax = _mm256_max_ps(vmax, _mm256_and_ps(_mm256_loadu_ps(xb + k), abs_mask));
    const float amax = hmax_f32x8(vmax);
    if (amax == 0.0f) {
      std::memset(&y[i], 0, sizeof(BlockQ8_K));
      continue;
    }
    float max = 0.0f;
    for (int k = 0; k < kQK_K; ++k) {
      if (std::fabs(xb[k]) == amax) {
        max = xb[k];
        break;
      }
    }
    const float iscale = -127.0f / max;
    const __m256 vs = _mm256_set1_ps(iscale);
    const __m256i k127 = _mm256_set1_epi32(127);
    for (int k = 0; k < kQK_K; k += 32) {
      __m256i q[4];
      for (int j = 0; j < 4; ++j) {
        const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(xb + k + 8 * j), vs);
        q[j] = _mm256_min_epi32(_mm256_cvtps_epi32(v), k127);  // MXCSR default: nearest-even
      }
      pack_store_i8x32(q, y[i].qs + k);
    }
    for (int j = 0; j < kQK_K / 16; ++j) {
      const __m256i w =
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(y[i].qs + 16 * j)));
      const __m256i s = _mm256_madd_epi16(w, _mm256_set1_epi16(1));
      const __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
      const __m128i s2 = _mm_add_epi32(s4, _mm_unpackhi_epi64(s4, s4));
      y[i].bsums[j] = int16_t(_mm_cvtsi128_si32(s2) + _mm_extract_epi32(s2, 1));
    }
    y[i].d = 1.0f / iscale;
  }
}

// float -> fp16 round-to-nearest-even (F16C), tail through base/half.h.
void from_float_f16(const float* x, void* out, int64_t n) {
  auto* y = static_cast<uint16_t*>(out);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), h);
  }
  for (; i < n; ++i) y[i] = f32_to_fp16(x[i]);
}

void to_float_f16(const void* in, float* y, int64_t n) {
  const auto* x = static_cast<const uint16_t*>(in);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i,
                     _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i))));
  for (; i < n; ++i) y[i] = fp16_to_f32(x[i]);
}

// float -> bf16 round-to-nearest-even in integer arithmetic (vcvtneps2bf16 would flush
// subnormals to zero and differ from the reference); NaN -> quiet NaN.
void from_float_bf16(const float* x, void* out, int64_t n) {
  auto* y = static_cast<uint16_t*>(out);
  int64_t i = 0;
  const __m256i k7fff = _mm256_set1_epi32(0x7fff), k1 = _mm256_set1_epi32(1);
  const __m256i kInf = _mm256_set1_epi32(0x7f800000), kAbs = _mm256_set1_epi32(0x7fffffff);
  for (; i + 8 <= n; i += 8) {
    const __m256i u = _mm256_castps_si256(_mm256_loadu_ps(x + i));
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), k1);
    const __m256i rounded =
        _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(k7fff, lsb)), 16);
    const __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(64));
    const __m256i is_nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, kAbs), kInf);
    const __m256i r = _mm256_blendv_epi8(rounded, quiet, is_nan);
    const __m128i packed =
        _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), packed);
  }
  for (; i < n; ++i) y[i] = f32_to_bf16(x[i]);
}

void to_float_bf16(const void* in, float* y, int64_t n) {
  const auto* x = static_cast<const uint16_t*>(in);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i w =
        _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i)));
    _mm256_storeu_ps(y + i, _mm256_castsi256_ps(_mm256_slli_epi32(w, 16)));
  }
  for (; i < n; ++i) y[i] = bf16_to_f32(x[i]);
}

}  // namespace

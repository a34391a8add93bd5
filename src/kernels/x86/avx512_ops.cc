// AVX-512 versions of rms_norm, softmax and swiglu (16 floats per step, masked tails) and of
// attention's two products over fp16 K / V rows (head sizes that are a multiple of 8).
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "kernels/attention_groups.h"
#include "kernels/ops.h"
#include "kernels/x86/attention_x86.h"

// GCC 12's avx512fintrin.h casts and reductions read a deliberately undefined register, which
// -Wuninitialized reports once inlined here; the lanes read are never used.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace silica {
namespace {

// Same range reduction and degree-7 Taylor polynomial as x86/avx2_ops.cc (see there for why).
constexpr float kExpHi = 88.0f;
constexpr float kExpLo = -87.33654475f;
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f;
constexpr float kLn2Lo = -2.12194440e-4f;

inline __m512 exp_f32x16(__m512 x) {
  const __mmask16 live = _mm512_cmp_ps_mask(x, _mm512_set1_ps(kExpLo), _CMP_GE_OQ);
  x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(kExpHi)), _mm512_set1_ps(kExpLo));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(kLog2e)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Hi), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Lo), r);
  __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  // scalef multiplies by 2^n directly, without building exponent bits.
  return _mm512_maskz_scalef_ps(live, p, n);
}

inline __mmask16 tail_mask(int64_t left) {
  return __mmask16((1u << left) - 1u);
}

// Adds the 16 floats of v, widened to double, into acc.
inline __m512d add_widened(__m512d acc, __m512 v) {
  acc = _mm512_add_pd(acc, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
  return _mm512_add_pd(acc, _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)));
}

void rms_norm_avx512(const float* x, const float* w, float* y, int64_t n, float eps) {
  __m512d acc = _mm512_setzero_pd();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : tail_mask(n - i);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    acc = add_widened(acc, _mm512_mul_ps(v, v));  // squares in float, sums in double (as scalar)
  }
  const double sum = _mm512_reduce_add_pd(acc);
  const float scale = 1.0f / std::sqrt(float(sum / double(n)) + eps);
  const __m512 vs = _mm512_set1_ps(scale);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : tail_mask(n - i);
    const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), vs);
    _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, w + i)));
  }
}

SoftmaxStats softmax_avx512(float* x, int64_t n) {
  if (n <= 0) return {};
  __m512 vmax = _mm512_set1_ps(-INFINITY);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : tail_mask(n - i);
    vmax = _mm512_mask_max_ps(vmax, m, vmax, _mm512_maskz_loadu_ps(m, x + i));
  }
  const float max = _mm512_reduce_max_ps(vmax);
  const __m512 vm = _mm512_set1_ps(max);
  __m512d acc = _mm512_setzero_pd();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : tail_mask(n - i);
    // Masked-off lanes get exp(-inf) = 0 and so add nothing to the sum.
    const __m512 v = _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), m, x + i);
    const __m512 e = exp_f32x16(_mm512_sub_ps(v, vm));
    _mm512_mask_storeu_ps(x + i, m, e);
    acc = add_widened(acc, e);
  }
  const double sum = _mm512_reduce_add_pd(acc);
  const __m512 vi = _mm512_set1_ps(float(1.0 / sum));
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : tail_mask(n - i);
    _mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), vi));
  }
  return {max, sum};
}

void swiglu_avx512(const float* g, const float* u, float* y, int64_t n) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : tail_mask(n - i);
    const __m512 vg = _mm512_maskz_loadu_ps(m, g + i);
    const __m512 e = exp_f32x16(_mm512_sub_ps(_mm512_setzero_ps(), vg));
    const __m512 silu = _mm512_div_ps(vg, _mm512_add_ps(one, e));
    _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(silu, _mm512_maskz_loadu_ps(m, u + i)));
  }
}

// ---- attention products for the query heads of a KV group, up to 4 at a time, on the shared
// group drivers (kernels/attention_groups.h, x86/attention_x86.h): each K or V row widened once
// for all of them, each (head, key) and (head, column) pair the arithmetic it gets alone. Was
// one head at a time against each widened row, with a full 16-lane reduction per (head, key).
inline __m512 load_ph16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// Loops over heads and chunks unrolled, so that the accumulators stay in registers.
#define SILICA_UNROLL _Pragma("GCC unroll 8")

// Key row kj's sums for NH heads: per head two FMA chains over 16-element chunks (even and odd,
// a lone 16 on the even one), added and folded to 8 lanes, then a last 8 elements by one more FMA.
template <int NH>
[[gnu::always_inline]] inline void key_sums(const float* qf, const uint16_t* kj, int64_t hd,
                                            __m256 (&sum)[kGroupHeads]) {
  __m512 a0[NH], a1[NH];
  SILICA_UNROLL
  for (int h = 0; h < NH; ++h) a0[h] = a1[h] = _mm512_setzero_ps();
  int64_t d = 0;
  for (; d + 32 <= hd; d += 32) {
    const __m512 k0 = load_ph16(kj + d), k1 = load_ph16(kj + d + 16);
    SILICA_UNROLL
    for (int h = 0; h < NH; ++h) {
      a0[h] = _mm512_fmadd_ps(k0, _mm512_load_ps(qf + h * kMaxHeadDim + d), a0[h]);
      a1[h] = _mm512_fmadd_ps(k1, _mm512_load_ps(qf + h * kMaxHeadDim + d + 16), a1[h]);
    }
  }
  if (d + 16 <= hd) {
    const __m512 k0 = load_ph16(kj + d);
    SILICA_UNROLL
    for (int h = 0; h < NH; ++h)
      a0[h] = _mm512_fmadd_ps(k0, _mm512_load_ps(qf + h * kMaxHeadDim + d), a0[h]);
    d += 16;
  }
  SILICA_UNROLL
  for (int h = 0; h < NH; ++h) {
    const __m512 s = _mm512_add_ps(a0[h], a1[h]);
    sum[h] = _mm256_add_ps(_mm512_castps512_ps256(s), _mm512_extractf32x8_ps(s, 1));
  }
  if (d < hd) {  // 8 left
    const __m256 k0 = load_ph8(kj + d);
    SILICA_UNROLL
    for (int h = 0; h < NH; ++h)
      sum[h] = _mm256_fmadd_ps(k0, _mm256_load_ps(qf + h * kMaxHeadDim + d), sum[h]);
  }
}

void widen_f16(const uint16_t* x, float* y, int64_t n) {
  int64_t d = 0;
  for (; d + 16 <= n; d += 16) _mm512_storeu_ps(y + d, load_ph16(x + d));
  if (d < n) _mm256_storeu_ps(y + d, load_ph8(x + d));
}

// Values, one block of keys: out[h][0, 8C) += sum_j pf[h][j] * v[j][0, 8C) for NH heads, in
// C / 2 vectors of 16 columns and, for odd C, one of 8; each column's FMA chain over the keys in
// order as for a head alone, the value row widened once for all heads.
template <int NH, int C>
void values_pass(const float* pf, int64_t nj, const uint16_t* v, int64_t hd, float* out,
                 int64_t out_stride, bool first) {
  constexpr int Z = C / 2;
  constexpr bool kEight = C % 2 == 1;
  __m512 acc[NH][Z > 0 ? Z : 1];
  __m256 tail[NH];
  SILICA_UNROLL
  for (int h = 0; h < NH; ++h) {
    float* o = out + h * out_stride;
    SILICA_UNROLL
    for (int z = 0; z < Z; ++z)
      acc[h][z] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(o + 16 * z);
    if constexpr (kEight) tail[h] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(o + 16 * Z);
  }
  for (int64_t j = 0; j < nj; ++j) {
    __m512 vv[Z > 0 ? Z : 1];
    SILICA_UNROLL
    for (int z = 0; z < Z; ++z) vv[z] = load_ph16(v + j * hd + 16 * z);
    __m256 vt = kEight ? load_ph8(v + j * hd + 16 * Z) : _mm256_setzero_ps();
    SILICA_UNROLL
    for (int h = 0; h < NH; ++h) {
      const float* pj = pf + h * kValueKeys + j;
      SILICA_UNROLL
      for (int z = 0; z < Z; ++z)
        acc[h][z] = _mm512_fmadd_ps(_mm512_set1_ps(*pj), vv[z], acc[h][z]);
      if constexpr (kEight) tail[h] = _mm256_fmadd_ps(_mm256_broadcast_ss(pj), vt, tail[h]);
    }
  }
  SILICA_UNROLL
  for (int h = 0; h < NH; ++h) {
    float* o = out + h * out_stride;
    SILICA_UNROLL
    for (int z = 0; z < Z; ++z) _mm512_storeu_ps(o + 16 * z, acc[h][z]);
    if constexpr (kEight) _mm256_storeu_ps(o + 16 * Z, tail[h]);
  }
}

// 64 columns a pass: 4 heads x 4 vectors of accumulators + the row's 4 in the 32 registers.
constexpr int kWidestPass = 8;

}  // namespace

namespace ops_internal {
void fill_avx512_ops(OpsKernels& k) {
  k.attn_scores_f16 = &attn_scores_grouped;
  k.attn_values_f16 = &attn_values_grouped<kWidestPass>;
  k.rms_norm = &rms_norm_avx512;
  k.softmax_inplace = &softmax_avx512;
  k.swiglu = &swiglu_avx512;
}
}  // namespace ops_internal

}  // namespace silica

// AVX2 + FMA + F16C versions of rms_norm, softmax, swiglu (8 floats per step, scalar tails) and
// attention's two products over fp16 K / V rows (head sizes that are a multiple of 8).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/attention_groups.h"
#include "kernels/ops.h"
#include "kernels/x86/attention_x86.h"

namespace silica {
namespace {

// exp(x) = 2^n * exp(r), n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2] (ln 2 split in a
// high part exact in float and a low correction, so n * ln2_hi has no rounding error).
// exp(r) by its Taylor series to degree 7: truncation error r^8/8! < 6e-9 relative.
constexpr float kExpHi = 88.0f;          // keeps n <= 127 so 2^n is a normal float
constexpr float kExpLo = -87.33654475f;  // ln(FLT_MIN): below it the result flushes to 0
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f;
constexpr float kLn2Lo = -2.12194440e-4f;

inline __m256 exp_f32x8(__m256 x) {
  const __m256 underflow = _mm256_cmp_ps(x, _mm256_set1_ps(kExpLo), _CMP_LT_OQ);
  x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(kExpHi)), _mm256_set1_ps(kExpLo));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
  // Horner from 1/7! down to 1.
  __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i bits =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_andnot_ps(underflow, _mm256_mul_ps(p, _mm256_castsi256_ps(bits)));
}

// Adds the 8 floats of v, widened to double, into acc (two lanes of 4 doubles).
inline __m256d add_widened(__m256d acc, __m256 v) {
  acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
  return _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

inline double hsum_f64x4(__m256d v) {
  __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

void rms_norm_avx2(const float* x, const float* w, float* y, int64_t n, float eps) {
  __m256d acc = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    acc = add_widened(acc, _mm256_mul_ps(v, v));  // squares in float, sums in double (as scalar)
  }
  double sum = hsum_f64x4(acc);
  for (; i < n; ++i) sum += double(x[i] * x[i]);
  const float scale = 1.0f / std::sqrt(float(sum / double(n)) + eps);
  const __m256 vs = _mm256_set1_ps(scale);
  for (i = 0; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), vs);
    _mm256_storeu_ps(y + i, _mm256_mul_ps(v, _mm256_loadu_ps(w + i)));
  }
  for (; i < n; ++i) y[i] = (x[i] * scale) * w[i];
}

SoftmaxStats softmax_avx2(float* x, int64_t n) {
  if (n <= 0) return {};
  __m256 vmax = _mm256_set1_ps(-INFINITY);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(x + i));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, vmax);
  float max = lanes[0];
  for (float l : lanes) max = std::max(max, l);
  for (; i < n; ++i) max = std::max(max, x[i]);

  const __m256 vm = _mm256_set1_ps(max);
  __m256d acc = _mm256_setzero_pd();
  for (i = 0; i + 8 <= n; i += 8) {
    const __m256 e = exp_f32x8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
    _mm256_storeu_ps(x + i, e);
    acc = add_widened(acc, e);
  }
  double sum = hsum_f64x4(acc);
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = float(1.0 / sum);
  const __m256 vi = _mm256_set1_ps(inv);
  for (i = 0; i + 8 <= n; i += 8)
    _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vi));
  for (; i < n; ++i) x[i] *= inv;
  return {max, sum};
}

// 8 elements of SwiGLU from g, u to y.
inline void swiglu_x8(const float* g, const float* u, float* y) {
  const __m256 vg = _mm256_loadu_ps(g);
  const __m256 e = exp_f32x8(_mm256_sub_ps(_mm256_setzero_ps(), vg));
  const __m256 silu = _mm256_div_ps(vg, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
  _mm256_storeu_ps(y, _mm256_mul_ps(silu, _mm256_loadu_ps(u)));
}

// The tail goes through the same vector steps (zero-padded), so an element's bits do not depend
// on where a call starts or ends: a prompt's rows split over threads give a thread count's bits.
void swiglu_avx2(const float* g, const float* u, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) swiglu_x8(g + i, u + i, y + i);
  if (i < n) {
    float gt[8] = {}, ut[8] = {}, yt[8];
    std::memcpy(gt, g + i, size_t(n - i) * sizeof(float));
    std::memcpy(ut, u + i, size_t(n - i) * sizeof(float));
    swiglu_x8(gt, ut, yt);
    std::memcpy(y + i, yt, size_t(n - i) * sizeof(float));
  }
}

// ---- attention products over fp16 rows for the query heads of a KV group (GQA: 4 heads a KV
// head in Llama 3), up to 4 heads at a time: each K or V row is widened once for all of them
// (one head at a time, a decode step at 4k context widened every row four times and spent more
// on attention than on the weights). Every (head, key) and (head, column) pair still gets the
// arithmetic it gets alone, so a head's result does not depend on how many share the call.

// Loops over heads and chunks unrolled: rolled, GCC keeps the accumulators in memory.
#define SILICA_UNROLL _Pragma("GCC unroll 8")

// Key row kj's sums for NH heads (attention_x86.h): per head two FMA chains over the row (even
// and odd 8-element chunks, a lone last chunk on the even one), added.
template <int NH>
[[gnu::always_inline]] inline void key_sums(const float* qf, const uint16_t* kj, int64_t hd,
                                            __m256 (&sum)[kGroupHeads]) {
  __m256 a0[NH], a1[NH];
  SILICA_UNROLL
  for (int h = 0; h < NH; ++h) a0[h] = a1[h] = _mm256_setzero_ps();
  int64_t d = 0;
  for (; d + 16 <= hd; d += 16) {
    const __m256 k0 = load_ph8(kj + d), k1 = load_ph8(kj + d + 8);
    SILICA_UNROLL
    for (int h = 0; h < NH; ++h) {
      a0[h] = _mm256_fmadd_ps(k0, _mm256_load_ps(qf + h * kMaxHeadDim + d), a0[h]);
      a1[h] = _mm256_fmadd_ps(k1, _mm256_load_ps(qf + h * kMaxHeadDim + d + 8), a1[h]);
    }
  }
  if (d < hd) {
    const __m256 k0 = load_ph8(kj + d);
    SILICA_UNROLL
    for (int h = 0; h < NH; ++h)
      a0[h] = _mm256_fmadd_ps(k0, _mm256_load_ps(qf + h * kMaxHeadDim + d), a0[h]);
  }
  SILICA_UNROLL
  for (int h = 0; h < NH; ++h) sum[h] = _mm256_add_ps(a0[h], a1[h]);
}

void widen_f16(const uint16_t* x, float* y, int64_t n) {
  for (int64_t d = 0; d < n; d += 8) _mm256_storeu_ps(y + d, load_ph8(x + d));
}

// Values, one block of keys: out[h][0, 8C) += sum_j pf[h][j] * v[j][0, 8C) for NH heads, each
// column's FMA chain over the keys in order as for a head alone, the value row's C chunks widened
// once for all heads.

template <int NH, int C>
void values_pass(const float* pf, int64_t nj, const uint16_t* v, int64_t hd, float* out,
                 int64_t out_stride, bool first) {
  __m256 acc[NH][C];
  SILICA_UNROLL
  for (int h = 0; h < NH; ++h) SILICA_UNROLL
  for (int c = 0; c < C; ++c)
    acc[h][c] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(out + h * out_stride + 8 * c);
  for (int64_t j = 0; j < nj; ++j) {
    __m256 vv[C];
    SILICA_UNROLL
    for (int c = 0; c < C; ++c) vv[c] = load_ph8(v + j * hd + 8 * c);
    SILICA_UNROLL
    for (int h = 0; h < NH; ++h) {
      const __m256 pj = _mm256_broadcast_ss(pf + h * kValueKeys + j);
      SILICA_UNROLL
      for (int c = 0; c < C; ++c) acc[h][c] = _mm256_fmadd_ps(pj, vv[c], acc[h][c]);
    }
  }
  SILICA_UNROLL
  for (int h = 0; h < NH; ++h) SILICA_UNROLL
  for (int c = 0; c < C; ++c) _mm256_storeu_ps(out + h * out_stride + 8 * c, acc[h][c]);
}

}  // namespace

namespace ops_internal {
void fill_avx2_ops(OpsKernels& k) {
  k.attn_scores_f16 = &attn_scores_grouped;
  k.attn_values_f16 = &attn_values_grouped<2>;
  k.rms_norm = &rms_norm_avx2;
  k.softmax_inplace = &softmax_avx2;
  k.swiglu = &swiglu_avx2;
}
}  // namespace ops_internal

}  // namespace silica

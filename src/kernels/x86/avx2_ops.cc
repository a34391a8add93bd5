// AVX2 + FMA + F16C versions of rms_norm, softmax, swiglu (8 floats per step, scalar tails) and
// attention's two products over fp16 K / V rows (head sizes that are a multiple of 8).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/ops.h"

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

void swiglu_avx2(const float* g, const float* u, float* y, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 vg = _mm256_loadu_ps(g + i);
    const __m256 e = exp_f32x8(_mm256_sub_ps(_mm256_setzero_ps(), vg));
    const __m256 silu = _mm256_div_ps(vg, _mm256_add_ps(one, e));
    _mm256_storeu_ps(y + i, _mm256_mul_ps(silu, _mm256_loadu_ps(u + i)));
  }
  for (; i < n; ++i) y[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

// ---- attention products over fp16 rows, one head at a time (so a head's result cannot depend
// on how many heads share the call). Scores: the query in f32 once, then per key row two FMA
// chains over the row and one reduction. Values: a head's output in registers, 64 columns (8
// accumulators) at a time, every value row widened as it is read.
inline __m256 load_ph8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

inline float hsum_f32x8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

constexpr int64_t kMaxHeadDim = 512;

void attn_scores_avx2(const uint16_t* q16, int n_q, const uint16_t* k, int64_t n_kv, int64_t hd,
                      float scale, float* scores) {
  if (hd % 8 != 0 || hd > kMaxHeadDim) {
    ops_internal::attn_scores_f16_scalar(q16, n_q, k, n_kv, hd, scale, scores);
    return;
  }
  alignas(32) float qf[kMaxHeadDim];  // [hd]
  for (int h = 0; h < n_q; ++h) {
    for (int64_t d = 0; d < hd; d += 8) _mm256_store_ps(qf + d, load_ph8(q16 + h * hd + d));
    for (int64_t j = 0; j < n_kv; ++j) {
      const uint16_t* kj = k + j * hd;
      __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
      int64_t d = 0;
      for (; d + 16 <= hd; d += 16) {
        acc0 = _mm256_fmadd_ps(load_ph8(kj + d), _mm256_load_ps(qf + d), acc0);
        acc1 = _mm256_fmadd_ps(load_ph8(kj + d + 8), _mm256_load_ps(qf + d + 8), acc1);
      }
      if (d < hd) acc0 = _mm256_fmadd_ps(load_ph8(kj + d), _mm256_load_ps(qf + d), acc0);
      scores[h * n_kv + j] = hsum_f32x8(_mm256_add_ps(acc0, acc1)) * scale;
    }
  }
}

// o[0, 8C) = sum_j p[j] * v[j * hd + (0, 8C)]  (o: one head's output columns, v: [n_kv, hd]).
template <int C>
void values_columns(const uint16_t* p, const uint16_t* v, int64_t n_kv, int64_t hd, float* o) {
  __m256 acc[C];
  for (int c = 0; c < C; ++c) acc[c] = _mm256_setzero_ps();
  for (int64_t j = 0; j < n_kv; ++j) {
    const __m256 pj = _mm256_set1_ps(_cvtsh_ss(p[j]));
    for (int c = 0; c < C; ++c) acc[c] = _mm256_fmadd_ps(pj, load_ph8(v + j * hd + 8 * c), acc[c]);
  }
  for (int c = 0; c < C; ++c) _mm256_storeu_ps(o + 8 * c, acc[c]);
}

void attn_values_avx2(const uint16_t* p, int n_q, const uint16_t* v, int64_t n_kv, int64_t hd,
                      float* out, int64_t out_stride) {
  if (hd % 8 != 0) {
    ops_internal::attn_values_f16_scalar(p, n_q, v, n_kv, hd, out, out_stride);
    return;
  }
  using Columns = void (*)(const uint16_t*, const uint16_t*, int64_t, int64_t, float*);
  static constexpr Columns kTail[8] = {nullptr,
                                       &values_columns<1>,
                                       &values_columns<2>,
                                       &values_columns<3>,
                                       &values_columns<4>,
                                       &values_columns<5>,
                                       &values_columns<6>,
                                       &values_columns<7>};
  for (int h = 0; h < n_q; ++h) {
    const uint16_t* ph = p + h * n_kv;
    float* o = out + h * out_stride;
    int64_t d0 = 0;
    for (; d0 + 64 <= hd; d0 += 64) values_columns<8>(ph, v + d0, n_kv, hd, o + d0);
    if (d0 < hd) kTail[(hd - d0) / 8](ph, v + d0, n_kv, hd, o + d0);
  }
}

}  // namespace

namespace ops_internal {
void fill_avx2_ops(OpsKernels& k) {
  k.attn_scores_f16 = &attn_scores_avx2;
  k.attn_values_f16 = &attn_values_avx2;
  k.rms_norm = &rms_norm_avx2;
  k.softmax_inplace = &softmax_avx2;
  k.swiglu = &swiglu_avx2;
}
}  // namespace ops_internal

}  // namespace silica

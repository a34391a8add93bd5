// AVX-512 versions of rms_norm, softmax and swiglu (16 floats per step, masked tails).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "kernels/ops.h"

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

// ---- attention products, for n_q heads of one KV group. K rows: each row converted once, then
// one FMA chain and one reduction per head (q of the heads read from L1). V rows: each row
// converted once; the heads' output rows stay in registers, kHeads at a time.
inline __m512 load_ph(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

template <int N>  // N = hd / 16
void scores_rows(const uint16_t* q16, int n_q, const uint16_t* k, int64_t n_kv, float scale,
                 float* scores) {
  constexpr int64_t hd = 16 * N;
  constexpr int kMaxQ = 16;
  alignas(64) float qf[kMaxQ * hd];
  for (int h0 = 0; h0 < n_q; h0 += kMaxQ) {
    const int nh = std::min(kMaxQ, n_q - h0);
    for (int64_t i = 0; i < nh * hd; ++i) qf[i] = _cvtsh_ss(q16[h0 * hd + i]);
    for (int64_t j = 0; j < n_kv; ++j) {
      __m512 kv[N];
      for (int n = 0; n < N; ++n) kv[n] = load_ph(k + j * hd + 16 * n);
      for (int h = 0; h < nh; ++h) {
        const float* qh = qf + h * hd;
        __m512 acc = _mm512_mul_ps(kv[0], _mm512_load_ps(qh));
        for (int n = 1; n < N; ++n) acc = _mm512_fmadd_ps(kv[n], _mm512_load_ps(qh + 16 * n), acc);
        scores[(h0 + h) * n_kv + j] = _mm512_reduce_add_ps(acc) * scale;
      }
    }
  }
}

template <int N>
void values_rows(const uint16_t* p, int n_q, const uint16_t* v, int64_t n_kv, float* out,
                 int64_t out_stride) {
  constexpr int64_t hd = 16 * N;
  constexpr int kHeads = N <= 4 ? 4 : N <= 8 ? 2 : 1;  // kHeads * N accumulators <= 16
  for (int h0 = 0; h0 < n_q; h0 += kHeads) {
    const int nh = std::min(kHeads, n_q - h0);
    __m512 acc[kHeads][N];
    for (int h = 0; h < kHeads; ++h)
      for (int n = 0; n < N; ++n) acc[h][n] = _mm512_setzero_ps();
    for (int64_t j = 0; j < n_kv; ++j) {
      __m512 vv[N];
      for (int n = 0; n < N; ++n) vv[n] = load_ph(v + j * hd + 16 * n);
      for (int h = 0; h < kHeads; ++h) {
        if (h >= nh) break;
        const __m512 pj = _mm512_set1_ps(_cvtsh_ss(p[(h0 + h) * n_kv + j]));
        for (int n = 0; n < N; ++n) acc[h][n] = _mm512_fmadd_ps(pj, vv[n], acc[h][n]);
      }
    }
    for (int h = 0; h < nh; ++h)
      for (int n = 0; n < N; ++n) _mm512_storeu_ps(out + (h0 + h) * out_stride + 16 * n, acc[h][n]);
  }
}

// Calls f(std::integral_constant<int, hd / 16>) for the head sizes with a SIMD instance;
// false for the others (the caller then takes the scalar twin).
template <class F>
bool with_head_blocks(int64_t hd, F&& f) {
  switch (hd) {
    case 64:
      return f(std::integral_constant<int, 4>()), true;
    case 80:
      return f(std::integral_constant<int, 5>()), true;
    case 96:
      return f(std::integral_constant<int, 6>()), true;
    case 128:
      return f(std::integral_constant<int, 8>()), true;
    case 256:
      return f(std::integral_constant<int, 16>()), true;
    default:
      return false;
  }
}

void attn_scores_avx512(const uint16_t* q16, int n_q, const uint16_t* k, int64_t n_kv, int64_t hd,
                        float scale, float* scores) {
  if (!with_head_blocks(hd, [&](auto n) { scores_rows<n()>(q16, n_q, k, n_kv, scale, scores); }))
    ops_internal::attn_scores_f16_scalar(q16, n_q, k, n_kv, hd, scale, scores);
}

void attn_values_avx512(const uint16_t* p, int n_q, const uint16_t* v, int64_t n_kv, int64_t hd,
                        float* out, int64_t out_stride) {
  if (!with_head_blocks(hd, [&](auto n) { values_rows<n()>(p, n_q, v, n_kv, out, out_stride); }))
    ops_internal::attn_values_f16_scalar(p, n_q, v, n_kv, hd, out, out_stride);
}

}  // namespace

namespace ops_internal {
void fill_avx512_ops(OpsKernels& k) {
  k.attn_scores_f16 = &attn_scores_avx512;
  k.attn_values_f16 = &attn_values_avx512;
  k.rms_norm = &rms_norm_avx512;
  k.softmax_inplace = &softmax_avx512;
  k.swiglu = &swiglu_avx512;
}
}  // namespace ops_internal

}  // namespace silica

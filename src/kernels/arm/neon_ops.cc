// NEON versions of rms_norm, softmax, swiglu (4 floats per step, scalar tails) and attention's
// two products over fp16 K / V rows (head sizes that are a multiple of 8), the ARM twins of
// x86/avx2_ops.cc: until these, Apple Silicon ran every one of them through the scalar code,
// whose fp16 widening is a branchy bit manipulation per element.
#include <arm_neon.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/half.h"
#include "kernels/attention_groups.h"
#include "kernels/ops.h"

namespace silica {
namespace {

// exp(x) = 2^n * exp(r) as in avx2_ops.cc: n = round(x / ln 2) (ties to even), r = x - n ln 2 with
// ln 2 split in an exact high part and a low correction, exp(r) by its Taylor series to degree 7.
constexpr float kExpHi = 88.0f;
constexpr float kExpLo = -87.33654475f;
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f;
constexpr float kLn2Lo = -2.12194440e-4f;

inline float32x4_t exp_f32x4(float32x4_t x) {
  const uint32x4_t underflow = vcltq_f32(x, vdupq_n_f32(kExpLo));
  x = vmaxq_f32(vminq_f32(x, vdupq_n_f32(kExpHi)), vdupq_n_f32(kExpLo));
  const float32x4_t n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(kLog2e)));
  float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(kLn2Hi));
  r = vfmsq_f32(r, n, vdupq_n_f32(kLn2Lo));
  float32x4_t p = vdupq_n_f32(1.0f / 5040.0f);
  for (float c : {1.0f / 720.0f, 1.0f / 120.0f, 1.0f / 24.0f, 1.0f / 6.0f, 0.5f, 1.0f, 1.0f})
    p = vfmaq_f32(vdupq_n_f32(c), p, r);
  const int32x4_t bits = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
  const float32x4_t e = vmulq_f32(p, vreinterpretq_f32_s32(bits));
  return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(e), underflow));
}

// Adds the 4 floats of v, widened to double, into acc.
inline float64x2_t add_widened(float64x2_t acc, float32x4_t v) {
  return vaddq_f64(vaddq_f64(acc, vcvt_f64_f32(vget_low_f32(v))), vcvt_high_f64_f32(v));
}

void rms_norm_neon(const float* x, const float* w, float* y, int64_t n, float eps) {
  float64x2_t acc = vdupq_n_f64(0.0);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const float32x4_t v = vld1q_f32(x + i);
    acc = add_widened(acc, vmulq_f32(v, v));  // squares in float, sums in double (as scalar)
  }
  double sum = vaddvq_f64(acc);
  for (; i < n; ++i) sum += double(x[i] * x[i]);
  const float scale = 1.0f / std::sqrt(float(sum / double(n)) + eps);
  for (i = 0; i + 4 <= n; i += 4)
    vst1q_f32(y + i, vmulq_f32(vmulq_n_f32(vld1q_f32(x + i), scale), vld1q_f32(w + i)));
  for (; i < n; ++i) y[i] = (x[i] * scale) * w[i];
}

SoftmaxStats softmax_neon(float* x, int64_t n) {
  if (n <= 0) return {};
  float32x4_t vmax = vdupq_n_f32(-INFINITY);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vmax = vmaxq_f32(vmax, vld1q_f32(x + i));
  float max = vmaxvq_f32(vmax);
  for (; i < n; ++i) max = std::max(max, x[i]);
  const float32x4_t vm = vdupq_n_f32(max);
  float64x2_t acc = vdupq_n_f64(0.0);
  for (i = 0; i + 4 <= n; i += 4) {
    const float32x4_t e = exp_f32x4(vsubq_f32(vld1q_f32(x + i), vm));
    vst1q_f32(x + i, e);
    acc = add_widened(acc, e);
  }
  double sum = vaddvq_f64(acc);
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = float(1.0 / sum);
  for (i = 0; i + 4 <= n; i += 4) vst1q_f32(x + i, vmulq_n_f32(vld1q_f32(x + i), inv));
  for (; i < n; ++i) x[i] *= inv;
  return {max, sum};
}

// 4 elements of SwiGLU from g, u to y.
inline void swiglu_x4(const float* g, const float* u, float* y) {
  const float32x4_t vg = vld1q_f32(g);
  const float32x4_t e = exp_f32x4(vnegq_f32(vg));
  const float32x4_t silu = vdivq_f32(vg, vaddq_f32(vdupq_n_f32(1.0f), e));
  vst1q_f32(y, vmulq_f32(silu, vld1q_f32(u)));
}

// The tail goes through the same vector steps (zero-padded), so an element's bits do not depend
// on where a call starts or ends: a prompt's rows split over threads give a thread count's bits.
void swiglu_neon(const float* g, const float* u, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) swiglu_x4(g + i, u + i, y + i);
  if (i < n) {
    float gt[4] = {}, ut[4] = {}, yt[4];
    std::memcpy(gt, g + i, size_t(n - i) * sizeof(float));
    std::memcpy(ut, u + i, size_t(n - i) * sizeof(float));
    swiglu_x4(gt, ut, yt);
    std::memcpy(y + i, yt, size_t(n - i) * sizeof(float));
  }
}

// ---- attention products for up to 4 query heads of a KV group at a time: each K or V row
// widened once for all of them; every (head, key) and (head, column) pair gets the arithmetic it
// gets alone, so a head's result does not depend on how many share the call.
#define SILICA_UNROLL _Pragma("GCC unroll 8")

// 8 fp16 values to two float32x4 (exact).
inline void load_ph8(const uint16_t* p, float32x4_t& lo, float32x4_t& hi) {
  const float16x8_t h = vreinterpretq_f16_u16(vld1q_u16(p));
  lo = vcvt_f32_f16(vget_low_f16(h));
  hi = vcvt_high_f32_f16(h);
}

// Scores of key j for NH heads: per head two FMA chains (the low and high 4 of each 8-element
// chunk), added, then one pairwise-add tree for the four heads: head h's sum is
// (c0 + c1) + (c2 + c3) of its lanes, zeros standing in for absent heads. Returns [head 0..3]
// times scale.
template <int NH>
inline float32x4_t score_key(const float* qf, const uint16_t* kj, int64_t hd, float scale) {
  float32x4_t a0[NH], a1[NH];
  SILICA_UNROLL
  for (int h = 0; h < NH; ++h) a0[h] = a1[h] = vdupq_n_f32(0.0f);
  for (int64_t d = 0; d < hd; d += 8) {
    float32x4_t k0, k1;
    load_ph8(kj + d, k0, k1);
    SILICA_UNROLL
    for (int h = 0; h < NH; ++h) {
      a0[h] = vfmaq_f32(a0[h], k0, vld1q_f32(qf + h * kMaxHeadDim + d));
      a1[h] = vfmaq_f32(a1[h], k1, vld1q_f32(qf + h * kMaxHeadDim + d + 4));
    }
  }
  float32x4_t sum[kGroupHeads];
  SILICA_UNROLL
  for (int h = 0; h < kGroupHeads; ++h)
    sum[h] = h < NH ? vaddq_f32(a0[h], a1[h]) : vdupq_n_f32(0.0f);
  const float32x4_t t = vpaddq_f32(vpaddq_f32(sum[0], sum[1]), vpaddq_f32(sum[2], sum[3]));
  return vmulq_n_f32(t, scale);
}

template <int NH>
void scores_heads(const float* qf, const uint16_t* k, int64_t n_kv, int64_t hd, float scale,
                  float* scores) {
  for (int64_t j = 0; j < n_kv; ++j) {
    float r[kGroupHeads];
    vst1q_f32(r, score_key<NH>(qf, k + j * hd, hd, scale));
    SILICA_UNROLL
    for (int h = 0; h < NH; ++h) scores[h * n_kv + j] = r[h];
  }
}

void widen_f16(const uint16_t* x, float* y, int64_t n) {
  for (int64_t d = 0; d < n; d += 8) {
    float32x4_t lo, hi;
    load_ph8(x + d, lo, hi);
    vst1q_f32(y + d, lo);
    vst1q_f32(y + d + 4, hi);
  }
}

// Values, one block of keys: out[h][0, 8C) += sum_j pf[h][j] * v[j][0, 8C) for NH heads, each
// column's FMA chain over the keys in order as for a head alone, the value row's C chunks widened
// once for all heads.

template <int NH, int C>
void values_pass(const float* pf, int64_t nj, const uint16_t* v, int64_t hd, float* out,
                 int64_t out_stride, bool first) {
  float32x4_t acc[NH][2 * C];
  SILICA_UNROLL
  for (int h = 0; h < NH; ++h) {
    SILICA_UNROLL
    for (int c = 0; c < 2 * C; ++c)
      acc[h][c] = first ? vdupq_n_f32(0.0f) : vld1q_f32(out + h * out_stride + 4 * c);
  }
  for (int64_t j = 0; j < nj; ++j) {
    float32x4_t vv[2 * C];
    SILICA_UNROLL
    for (int c = 0; c < C; ++c) load_ph8(v + j * hd + 8 * c, vv[2 * c], vv[2 * c + 1]);
    SILICA_UNROLL
    for (int h = 0; h < NH; ++h) {
      const float32x4_t pj = vld1q_dup_f32(pf + h * kValueKeys + j);
      SILICA_UNROLL
      for (int c = 0; c < 2 * C; ++c) acc[h][c] = vfmaq_f32(acc[h][c], pj, vv[c]);
    }
  }
  SILICA_UNROLL
  for (int h = 0; h < NH; ++h) {
    SILICA_UNROLL
    for (int c = 0; c < 2 * C; ++c) vst1q_f32(out + h * out_stride + 4 * c, acc[h][c]);
  }
}

}  // namespace

namespace ops_internal {
void fill_neon_ops(OpsKernels& k) {
  k.attn_scores_f16 = &attn_scores_grouped;
  k.attn_values_f16 = &attn_values_grouped<2>;
  k.rms_norm = &rms_norm_neon;
  k.softmax_inplace = &softmax_neon;
  k.swiglu = &swiglu_neon;
}
}  // namespace ops_internal

}  // namespace silica

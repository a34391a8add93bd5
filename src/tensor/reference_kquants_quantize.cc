// K-quant weight quantizers: fit each sub-block (scale search + least squares), quantize the
// sub-block scales / mins with the super-block d / dmin, then re-round every element against
// the scales it will actually be decoded with.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/half.h"
#include "tensor/blocks.h"
#include "tensor/kquant_layout.h"
#include "tensor/reference_internal.h"

namespace silica::ref {
namespace {

// Sub-block layout and ranges of one affine k-quant (x ~ d * sc * q - dmin * m).
struct AffineSpec {
  int sub;        // elements per sub-block
  int qmax;       // quants in 0..qmax
  int scale_max;  // sub-block scales and mins in 0..scale_max
};
constexpr AffineSpec kQ2Spec{16, 3, 15};
constexpr AffineSpec kQ4Spec{32, 15, 63};
constexpr AffineSpec kQ5Spec{32, 31, 63};

// Result of quantizing one super-block of an affine k-quant.
struct AffineBlock {
  uint16_t d, dmin;  // fp16
  int sc[kQK_K / 16];
  int mn[kQK_K / 16];
  uint8_t q[kQK_K];
};

// Integer code for a nonnegative value v on the grid step * k, k in 0..kmax.
inline int to_grid(float v, float inv_step, int kmax) {
  return std::clamp(nearest_int(v * inv_step), 0, kmax);
}

// Each refinement pass nudges every sub-block's integer scale / min by one step where that
// helps, then refits the super-block d / dmin by least squares.
constexpr int kRefinePasses = 2;

// Re-rounds sub-block s's elements against its decoded scale and min; returns its squared error.
float requantize_affine_sub_block(const float* x, const AffineSpec& spec, int s, int sc, int mn,
                                  float d, float dmin, uint8_t* q) {
  const float dl = d * float(sc), ml = dmin * float(mn);
  const float idl = dl > 0 ? 1.0f / dl : 0.0f;
  float err = 0;
  for (int i = s * spec.sub; i < (s + 1) * spec.sub; ++i) {
    q[i] = uint8_t(to_grid(x[i] + ml, idl, spec.qmax));
    const float e = x[i] - (dl * float(q[i]) - ml);
    err += e * e;
  }
  return err;
}

float requantize_affine(const float* x, const AffineSpec& spec, AffineBlock* b) {
  const float d = fp16_to_f32(b->d), dmin = fp16_to_f32(b->dmin);
  float err = 0;
  for (int s = 0; s < kQK_K / spec.sub; ++s) {
    err += requantize_affine_sub_block(x, spec, s, b->sc[s], b->mn[s], d, dmin, b->q);
  }
  return err;
}

void nudge_affine_sub_block(const float* x, const AffineSpec& spec, int s, AffineBlock* b) {
  const float d = fp16_to_f32(b->d), dmin = fp16_to_f32(b->dmin);
  uint8_t q[kQK_K];
  int best_sc = b->sc[s], best_mn = b->mn[s];
  float best = requantize_affine_sub_block(x, spec, s, best_sc, best_mn, d, dmin, q);
  const int sc0 = b->sc[s], mn0 = b->mn[s];
  for (int sc = std::max(0, sc0 - 1); sc <= std::min(spec.scale_max, sc0 + 1); ++sc) {
    for (int mn = std::max(0, mn0 - 1); mn <= std::min(spec.scale_max, mn0 + 1); ++mn) {
      const float err = requantize_affine_sub_block(x, spec, s, sc, mn, d, dmin, q);
      if (err < best) {
        best = err;
        best_sc = sc;
        best_mn = mn;
      }
    }
  }
  b->sc[s] = best_sc;
  b->mn[s] = best_mn;
}

// Least squares for x ~ d * (sc * q) - dmin * mn over the super-block with the current integers;
// kept only if the fp16-rounded result, re-rounded, lowers the error.
void refit_affine_super(const float* x, const AffineSpec& spec, AffineBlock* b) {
  const float before = requantize_affine(x, spec, b);
  double saa = 0, sab = 0, sbb = 0, sxa = 0, sxb = 0;
  for (int i = 0; i < kQK_K; ++i) {
    const double a = double(b->sc[i / spec.sub]) * b->q[i], m = -double(b->mn[i / spec.sub]);
    saa += a * a;
    sab += a * m;
    sbb += m * m;
    sxa += x[i] * a;
    sxb += x[i] * m;
  }
  const double det = saa * sbb - sab * sab;
  if (!(det > 0)) return;
  AffineBlock trial = *b;
  trial.d = f32_to_fp16(float(std::max(0.0, (sxa * sbb - sab * sxb) / det)));
  trial.dmin = f32_to_fp16(float(std::max(0.0, (saa * sxb - sab * sxa) / det)));
  if (requantize_affine(x, spec, &trial) < before) *b = trial;
}

AffineBlock quantize_affine(const float* x, const AffineSpec& spec) {
  const int n_sub = kQK_K / spec.sub;
  float scales[kQK_K / 16], mins[kQK_K / 16];
  AffineBlock out{};
  float max_scale = 0, max_min = 0;
  for (int s = 0; s < n_sub; ++s) {
    float m = 0;
    scales[s] = fit_affine(x + s * spec.sub, spec.sub, spec.qmax, true, &m, out.q + s * spec.sub);
    mins[s] = -m;  // fit_affine keeps m <= 0
    max_scale = std::max(max_scale, scales[s]);
    max_min = std::max(max_min, mins[s]);
  }
  out.d = f32_to_fp16(max_scale / float(spec.scale_max));
  out.dmin = f32_to_fp16(max_min / float(spec.scale_max));
  // Quantize scales against the fp16-rounded super scales: those are what decoding uses.
  const float d = fp16_to_f32(out.d), dmin = fp16_to_f32(out.dmin);
  const float id = d > 0 ? 1.0f / d : 0.0f, idmin = dmin > 0 ? 1.0f / dmin : 0.0f;
  for (int s = 0; s < n_sub; ++s) {
    out.sc[s] = to_grid(scales[s], id, spec.scale_max);
    out.mn[s] = to_grid(mins[s], idmin, spec.scale_max);
  }
  for (int pass = 0; pass < kRefinePasses; ++pass) {
    for (int s = 0; s < n_sub; ++s) nudge_affine_sub_block(x, spec, s, &out);
    refit_affine_super(x, spec, &out);
  }
  requantize_affine(x, spec, &out);
  return out;
}

// Result of quantizing one super-block of a symmetric k-quant (x ~ d * sc * q), 16 per sub-block.
struct SymmetricBlock {
  uint16_t d;  // fp16
  int sc[kQK_K / 16];
  int q[kQK_K];
};

constexpr int kSymSub = 16;  // elements per sub-block of q3_K and q6_K

struct SymmetricSpec {
  int qmin, qmax;  // quants in qmin..qmax
  int scale_max;   // sub-block scales in -scale_max..scale_max
};

float requantize_symmetric_sub_block(const float* x, const SymmetricSpec& spec, int s, int sc,
                                     float d, int* q) {
  const float dl = d * float(sc), idl = dl != 0 ? 1.0f / dl : 0.0f;
  float err = 0;
  for (int i = s * kSymSub; i < (s + 1) * kSymSub; ++i) {
    q[i] = std::clamp(nearest_int(x[i] * idl), spec.qmin, spec.qmax);
    const float e = x[i] - dl * float(q[i]);
    err += e * e;
  }
  return err;
}

float requantize_symmetric(const float* x, const SymmetricSpec& spec, SymmetricBlock* b) {
  const float d = fp16_to_f32(b->d);
  float err = 0;
  for (int s = 0; s < kQK_K / kSymSub; ++s) {
    err += requantize_symmetric_sub_block(x, spec, s, b->sc[s], d, b->q);
  }
  return err;
}

void nudge_symmetric_sub_block(const float* x, const SymmetricSpec& spec, int s,
                               SymmetricBlock* b) {
  const float d = fp16_to_f32(b->d);
  int q[kQK_K];
  const int sc0 = b->sc[s];
  int best_sc = sc0;
  float best = requantize_symmetric_sub_block(x, spec, s, sc0, d, q);
  for (int sc = std::max(-spec.scale_max, sc0 - 1); sc <= std::min(spec.scale_max, sc0 + 1); ++sc) {
    const float err = requantize_symmetric_sub_block(x, spec, s, sc, d, q);
    if (err < best) {
      best = err;
      best_sc = sc;
    }
  }
  b->sc[s] = best_sc;
}

// Least squares for x ~ d * (sc * q) with the current integers, kept only if it helps.
void refit_symmetric_super(const float* x, const SymmetricSpec& spec, SymmetricBlock* b) {
  const float before = requantize_symmetric(x, spec, b);
  double saa = 0, sxa = 0;
  for (int i = 0; i < kQK_K; ++i) {
    const double a = double(b->sc[i / kSymSub]) * b->q[i];
    saa += a * a;
    sxa += x[i] * a;
  }
  if (!(saa > 0)) return;
  SymmetricBlock trial = *b;
  trial.d = f32_to_fp16(float(sxa / saa));
  if (requantize_symmetric(x, spec, &trial) < before) *b = trial;
}

SymmetricBlock quantize_symmetric(const float* x, int qmin, int qmax, int scale_max) {
  constexpr int kSub = kSymSub;
  float scales[kQK_K / kSub];
  int8_t q[kQK_K];
  float amax = 0;
  for (int s = 0; s < kQK_K / kSub; ++s) {
    scales[s] = fit_symmetric(x + s * kSub, kSub, qmin, qmax, q + s * kSub);
    amax = std::max(amax, std::fabs(scales[s]));
  }
  SymmetricBlock out{};
  out.d = f32_to_fp16(amax / float(scale_max));
  const float d = fp16_to_f32(out.d), id = d > 0 ? 1.0f / d : 0.0f;
  for (int s = 0; s < kQK_K / kSymSub; ++s) {
    out.sc[s] = std::clamp(nearest_int(scales[s] * id), -scale_max, scale_max);
  }
  const SymmetricSpec spec{qmin, qmax, scale_max};
  for (int pass = 0; pass < kRefinePasses; ++pass) {
    for (int s = 0; s < kQK_K / kSymSub; ++s) nudge_symmetric_sub_block(x, spec, s, &out);
    refit_symmetric_super(x, spec, &out);
  }
  requantize_symmetric(x, spec, &out);
  return out;
}

}  // namespace

void quantize_q2_k(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ2_K*>(dst);
  for (int64_t b = 0; b < n / kQK_K; ++b, src += kQK_K) {
    const AffineBlock a = quantize_affine(src, kQ2Spec);
    std::memset(&y[b], 0, sizeof(y[b]));
    y[b].d = a.d;
    y[b].dmin = a.dmin;
    for (int s = 0; s < kQK_K / 16; ++s) y[b].scales[s] = uint8_t(a.sc[s] | (a.mn[s] << 4));
    for (int i = 0; i < kQK_K; ++i) q2k_put(y[b], i, a.q[i]);
  }
}

void quantize_q4_k(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ4_K*>(dst);
  for (int64_t b = 0; b < n / kQK_K; ++b, src += kQK_K) {
    const AffineBlock a = quantize_affine(src, kQ4Spec);
    std::memset(&y[b], 0, sizeof(y[b]));
    y[b].d = a.d;
    y[b].dmin = a.dmin;
    for (int s = 0; s < kQK_K / 32; ++s) kscale_put(y[b].scales, s, a.sc[s], a.mn[s]);
    for (int i = 0; i < kQK_K; ++i) q4k_put(y[b].qs, i, a.q[i]);
  }
}

void quantize_q5_k(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ5_K*>(dst);
  for (int64_t b = 0; b < n / kQK_K; ++b, src += kQK_K) {
    const AffineBlock a = quantize_affine(src, kQ5Spec);
    std::memset(&y[b], 0, sizeof(y[b]));
    y[b].d = a.d;
    y[b].dmin = a.dmin;
    for (int s = 0; s < kQK_K / 32; ++s) kscale_put(y[b].scales, s, a.sc[s], a.mn[s]);
    for (int i = 0; i < kQK_K; ++i) q5k_put(y[b], i, a.q[i]);
  }
}

void quantize_q3_k(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ3_K*>(dst);
  for (int64_t b = 0; b < n / kQK_K; ++b, src += kQK_K) {
    // Sub-block scales are 6-bit signed (-32..31); use the symmetric part so none clips.
    const SymmetricBlock s = quantize_symmetric(src, -4, 3, 31);
    std::memset(&y[b], 0, sizeof(y[b]));
    y[b].d = s.d;
    for (int k = 0; k < kQK_K / 16; ++k) q3k_put_scale(y[b].scales, k, s.sc[k]);
    for (int i = 0; i < kQK_K; ++i) q3k_put(y[b], i, s.q[i]);
  }
}

void quantize_q6_k(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ6_K*>(dst);
  for (int64_t b = 0; b < n / kQK_K; ++b, src += kQK_K) {
    const SymmetricBlock s = quantize_symmetric(src, -32, 31, 127);  // int8 sub-block scales
    std::memset(&y[b], 0, sizeof(y[b]));
    y[b].d = s.d;
    for (int k = 0; k < kQK_K / 16; ++k) y[b].scales[k] = int8_t(s.sc[k]);
    for (int i = 0; i < kQK_K; ++i) q6k_put(y[b], i, s.q[i]);
  }
}

}  // namespace silica::ref

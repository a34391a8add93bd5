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
    const float dl = d * float(out.sc[s]), ml = dmin * float(out.mn[s]);
    const float idl = dl > 0 ? 1.0f / dl : 0.0f;
    for (int i = s * spec.sub; i < (s + 1) * spec.sub; ++i) {
      out.q[i] = uint8_t(to_grid(x[i] + ml, idl, spec.qmax));
    }
  }
  return out;
}

// Result of quantizing one super-block of a symmetric k-quant (x ~ d * sc * q), 16 per sub-block.
struct SymmetricBlock {
  uint16_t d;  // fp16
  int sc[kQK_K / 16];
  int q[kQK_K];
};

SymmetricBlock quantize_symmetric(const float* x, int qmin, int qmax, int scale_max) {
  constexpr int kSub = 16;
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
  for (int s = 0; s < kQK_K / kSub; ++s) {
    out.sc[s] = std::clamp(nearest_int(scales[s] * id), -scale_max, scale_max);
    const float dl = d * float(out.sc[s]), idl = dl != 0 ? 1.0f / dl : 0.0f;
    for (int i = s * kSub; i < (s + 1) * kSub; ++i) {
      out.q[i] = std::clamp(nearest_int(x[i] * idl), qmin, qmax);
    }
  }
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

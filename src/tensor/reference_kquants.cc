// Scalar reference dequantize and dot for the k-quants (q2_K .. q6_K, q8_K), and the q8_K
// activation quantizer. Element orders follow the GGUF bit layouts (ggml-common.h).
#include <cmath>
#include <cstring>

#include "base/half.h"
#include "tensor/blocks.h"
#include "tensor/kquant_layout.h"
#include "tensor/reference_internal.h"

namespace silica::ref {
namespace {

constexpr int kSub16 = kQK_K / 16;  // 16-element sub-blocks per super-block
constexpr int kSub32 = kQK_K / 32;  // 32-element sub-blocks per super-block

// Sum of int products of 16 consecutive elements starting at i0.
inline int dot16(const int8_t* q, const int8_t* a, int i0) {
  int s = 0;
  for (int i = i0; i < i0 + 16; ++i) s += q[i] * a[i];
  return s;
}

inline int dot32(const int8_t* q, const int8_t* a, int i0) {
  return dot16(q, a, i0) + dot16(q, a, i0 + 16);
}

}  // namespace

void dequantize_q2_k(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ2_K*>(src);
  for (int64_t b = 0; b < n / kQK_K; ++b, dst += kQK_K) {
    const float d = fp16_to_f32(x[b].d), dmin = fp16_to_f32(x[b].dmin);
    for (int s = 0; s < kSub16; ++s) {
      // Scale and min are made once per sub-block in fp32, then q * dl - ml per element.
      const float dl = d * float(x[b].scales[s] & 0x0f);
      const float ml = dmin * float(x[b].scales[s] >> 4);
      for (int i = 16 * s; i < 16 * s + 16; ++i) dst[i] = dl * float(q2k_get(x[b], i)) - ml;
    }
  }
}

void dequantize_q3_k(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ3_K*>(src);
  for (int64_t b = 0; b < n / kQK_K; ++b, dst += kQK_K) {
    const float d = fp16_to_f32(x[b].d);
    for (int s = 0; s < kSub16; ++s) {
      const float dl = d * float(q3k_scale(x[b].scales, s));
      for (int i = 16 * s; i < 16 * s + 16; ++i) dst[i] = dl * float(q3k_get(x[b], i));
    }
  }
}

void dequantize_q4_k(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ4_K*>(src);
  for (int64_t b = 0; b < n / kQK_K; ++b, dst += kQK_K) {
    const float d = fp16_to_f32(x[b].d), dmin = fp16_to_f32(x[b].dmin);
    for (int s = 0; s < kSub32; ++s) {
      const KScaleMin sm = kscale_get(x[b].scales, s);
      const float dl = d * float(sm.scale), ml = dmin * float(sm.min);
      for (int i = 32 * s; i < 32 * s + 32; ++i) dst[i] = dl * float(q4k_get(x[b].qs, i)) - ml;
    }
  }
}

void dequantize_q5_k(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ5_K*>(src);
  for (int64_t b = 0; b < n / kQK_K; ++b, dst += kQK_K) {
    const float d = fp16_to_f32(x[b].d), dmin = fp16_to_f32(x[b].dmin);
    for (int s = 0; s < kSub32; ++s) {
      const KScaleMin sm = kscale_get(x[b].scales, s);
      const float dl = d * float(sm.scale), ml = dmin * float(sm.min);
      for (int i = 32 * s; i < 32 * s + 32; ++i) dst[i] = dl * float(q5k_get(x[b], i)) - ml;
    }
  }
}

void dequantize_q6_k(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ6_K*>(src);
  for (int64_t b = 0; b < n / kQK_K; ++b, dst += kQK_K) {
    const float d = fp16_to_f32(x[b].d);
    for (int i = 0; i < kQK_K; ++i) {
      // (d * scale) * q, in that order, as the format's reference evaluates it.
      dst[i] = d * float(x[b].scales[i / 16]) * float(q6k_get(x[b], i));
    }
  }
}

void dequantize_q8_k(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ8_K*>(src);
  for (int64_t b = 0; b < n / kQK_K; ++b, dst += kQK_K) {
    for (int i = 0; i < kQK_K; ++i) dst[i] = x[b].d * float(x[b].qs[i]);
  }
}

// Activation rounding, exactly GGUF's reference: the largest-magnitude element (with its sign)
// maps to -127; d = 1 / iscale is negative when that element is positive.
void quantize_q8_k(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_K*>(dst);
  for (int64_t b = 0; b < n / kQK_K; ++b, src += kQK_K) {
    float amax = 0, max = 0;
    for (int i = 0; i < kQK_K; ++i) {
      if (std::fabs(src[i]) > amax) {
        amax = std::fabs(src[i]);
        max = src[i];
      }
    }
    if (amax == 0) {
      y[b].d = 0;
      std::memset(y[b].qs, 0, sizeof(y[b].qs));
      std::memset(y[b].bsums, 0, sizeof(y[b].bsums));
      continue;
    }
    const float iscale = -127.0f / max;
    for (int i = 0; i < kQK_K; ++i) {
      const int v = nearest_int(iscale * src[i]);
      y[b].qs[i] = int8_t(v < 127 ? v : 127);
    }
    for (int s = 0; s < kSub16; ++s) {
      int sum = 0;
      for (int i = 16 * s; i < 16 * s + 16; ++i) sum += y[b].qs[i];
      y[b].bsums[s] = int16_t(sum);
    }
    y[b].d = 1.0f / iscale;
  }
}

// Dots with q8_K: per super-block, sum over sub-blocks of scale * (int dot), times d * y.d; the
// min terms use y's bsums (sums of 16 activations) so they cost one product per sub-block.

float vec_dot_q2_k(const void* a, const void* b, int64_t n) {
  const auto* x = static_cast<const BlockQ2_K*>(a);
  const auto* y = static_cast<const BlockQ8_K*>(b);
  float sum = 0;
  int8_t q[kQK_K];
  for (int64_t k = 0; k < n / kQK_K; ++k) {
    for (int i = 0; i < kQK_K; ++i) q[i] = int8_t(q2k_get(x[k], i));
    int isum = 0, msum = 0;
    for (int s = 0; s < kSub16; ++s) {
      isum += (x[k].scales[s] & 0x0f) * dot16(q, y[k].qs, 16 * s);
      msum += (x[k].scales[s] >> 4) * y[k].bsums[s];
    }
    const float dall = y[k].d * fp16_to_f32(x[k].d);
    const float dmin = y[k].d * fp16_to_f32(x[k].dmin);
    sum += dall * float(isum) - dmin * float(msum);
  }
  return sum;
}

float vec_dot_q3_k(const void* a, const void* b, int64_t n) {
  const auto* x = static_cast<const BlockQ3_K*>(a);
  const auto* y = static_cast<const BlockQ8_K*>(b);
  float sum = 0;
  int8_t q[kQK_K];
  for (int64_t k = 0; k < n / kQK_K; ++k) {
    for (int i = 0; i < kQK_K; ++i) q[i] = int8_t(q3k_get(x[k], i));
    int isum = 0;
    for (int s = 0; s < kSub16; ++s) isum += q3k_scale(x[k].scales, s) * dot16(q, y[k].qs, 16 * s);
    sum += y[k].d * fp16_to_f32(x[k].d) * float(isum);
  }
  return sum;
}

float vec_dot_q4_k(const void* a, const void* b, int64_t n) {
  const auto* x = static_cast<const BlockQ4_K*>(a);
  const auto* y = static_cast<const BlockQ8_K*>(b);
  float sum = 0;
  int8_t q[kQK_K];
  for (int64_t k = 0; k < n / kQK_K; ++k) {
    for (int i = 0; i < kQK_K; ++i) q[i] = int8_t(q4k_get(x[k].qs, i));
    int isum = 0, msum = 0;
    for (int s = 0; s < kSub32; ++s) {
      const KScaleMin sm = kscale_get(x[k].scales, s);
      isum += sm.scale * dot32(q, y[k].qs, 32 * s);
      msum += sm.min * (y[k].bsums[2 * s] + y[k].bsums[2 * s + 1]);
    }
    const float dall = y[k].d * fp16_to_f32(x[k].d);
    const float dmin = y[k].d * fp16_to_f32(x[k].dmin);
    sum += dall * float(isum) - dmin * float(msum);
  }
  return sum;
}

float vec_dot_q5_k(const void* a, const void* b, int64_t n) {
  const auto* x = static_cast<const BlockQ5_K*>(a);
  const auto* y = static_cast<const BlockQ8_K*>(b);
  float sum = 0;
  int8_t q[kQK_K];
  for (int64_t k = 0; k < n / kQK_K; ++k) {
    for (int i = 0; i < kQK_K; ++i) q[i] = int8_t(q5k_get(x[k], i));
    int isum = 0, msum = 0;
    for (int s = 0; s < kSub32; ++s) {
      const KScaleMin sm = kscale_get(x[k].scales, s);
      isum += sm.scale * dot32(q, y[k].qs, 32 * s);
      msum += sm.min * (y[k].bsums[2 * s] + y[k].bsums[2 * s + 1]);
    }
    const float dall = y[k].d * fp16_to_f32(x[k].d);
    const float dmin = y[k].d * fp16_to_f32(x[k].dmin);
    sum += dall * float(isum) - dmin * float(msum);
  }
  return sum;
}

float vec_dot_q6_k(const void* a, const void* b, int64_t n) {
  const auto* x = static_cast<const BlockQ6_K*>(a);
  const auto* y = static_cast<const BlockQ8_K*>(b);
  float sum = 0;
  int8_t q[kQK_K];
  for (int64_t k = 0; k < n / kQK_K; ++k) {
    for (int i = 0; i < kQK_K; ++i) q[i] = int8_t(q6k_get(x[k], i));
    int isum = 0;
    for (int s = 0; s < kSub16; ++s) isum += x[k].scales[s] * dot16(q, y[k].qs, 16 * s);
    sum += y[k].d * fp16_to_f32(x[k].d) * float(isum);
  }
  return sum;
}

float vec_dot_q8_k(const void* a, const void* b, int64_t n) {
  const auto* x = static_cast<const BlockQ8_K*>(a);
  const auto* y = static_cast<const BlockQ8_K*>(b);
  float sum = 0;
  for (int64_t k = 0; k < n / kQK_K; ++k) {
    int isum = 0;
    for (int i = 0; i < kQK_K; ++i) isum += x[k].qs[i] * y[k].qs[i];
    sum += x[k].d * y[k].d * float(isum);
  }
  return sum;
}

}  // namespace silica::ref

// Scalar reference dequantize / quantize / dot for the 32-element formats q4_0 .. q8_1.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/half.h"
#include "tensor/blocks.h"
#include "tensor/reference_internal.h"

namespace silica::ref {
namespace {

constexpr int kQK = 32;  // every legacy format has 32 elements per block
constexpr int kHalf = kQK / 2;

// The 5th bit of element j, from the 32-bit little-endian qh field of q5_0 / q5_1.
inline int high_bit(const uint8_t* qh, int j) {
  return (qh[j / 8] >> (j % 8)) & 1;
}

// Unpacked integers of one block: the nibble layout puts element j in the low nibble of
// qs[j] and element j + 16 in the high nibble.
inline void unpack_nibbles(const uint8_t* qs, int* q) {
  for (int j = 0; j < kHalf; ++j) {
    q[j] = qs[j] & 0x0f;
    q[j + kHalf] = qs[j] >> 4;
  }
}

inline void unpack_5bit(const uint8_t* qs, const uint8_t* qh, int* q) {
  unpack_nibbles(qs, q);
  for (int j = 0; j < kQK; ++j) q[j] |= high_bit(qh, j) << 4;
}

inline void pack_nibbles(const uint8_t* q, uint8_t* qs) {
  for (int j = 0; j < kHalf; ++j) qs[j] = uint8_t(q[j] | (q[j + kHalf] << 4));
}

inline void pack_5bit(const uint8_t* q, uint8_t* qs, uint8_t* qh) {
  uint8_t low[kQK];
  std::memset(qh, 0, 4);
  for (int j = 0; j < kQK; ++j) {
    low[j] = q[j] & 0x0f;
    qh[j / 8] |= uint8_t(((q[j] >> 4) & 1) << (j % 8));
  }
  pack_nibbles(low, qs);
}

// Integer dot of one block's unpacked weights with int8 activations.
inline int block_dot(const int* q, const int8_t* a) {
  int sum = 0;
  for (int j = 0; j < kQK; ++j) sum += q[j] * a[j];
  return sum;
}

// Symmetric weight fit into [qmin, qmax], then shifted by -qmin so it is stored unsigned.
inline float fit_offset_symmetric(const float* x, int qmin, int qmax, uint8_t* u) {
  int8_t q[kQK];
  const float d = fit_symmetric(x, kQK, qmin, qmax, q);
  for (int j = 0; j < kQK; ++j) u[j] = uint8_t(q[j] - qmin);
  return d;
}

}  // namespace

void dequantize_q4_0(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ4_0*>(src);
  int q[kQK];
  for (int64_t b = 0; b < n / kQK; ++b, dst += kQK) {
    const float d = fp16_to_f32(x[b].d);
    unpack_nibbles(x[b].qs, q);
    for (int j = 0; j < kQK; ++j) dst[j] = float(q[j] - 8) * d;
  }
}

void dequantize_q4_1(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ4_1*>(src);
  int q[kQK];
  for (int64_t b = 0; b < n / kQK; ++b, dst += kQK) {
    const float d = fp16_to_f32(x[b].d);
    const float m = fp16_to_f32(x[b].m);
    unpack_nibbles(x[b].qs, q);
    for (int j = 0; j < kQK; ++j) dst[j] = float(q[j]) * d + m;
  }
}

void dequantize_q5_0(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ5_0*>(src);
  int q[kQK];
  for (int64_t b = 0; b < n / kQK; ++b, dst += kQK) {
    const float d = fp16_to_f32(x[b].d);
    unpack_5bit(x[b].qs, x[b].qh, q);
    for (int j = 0; j < kQK; ++j) dst[j] = float(q[j] - 16) * d;
  }
}

void dequantize_q5_1(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ5_1*>(src);
  int q[kQK];
  for (int64_t b = 0; b < n / kQK; ++b, dst += kQK) {
    const float d = fp16_to_f32(x[b].d);
    const float m = fp16_to_f32(x[b].m);
    unpack_5bit(x[b].qs, x[b].qh, q);
    for (int j = 0; j < kQK; ++j) dst[j] = float(q[j]) * d + m;
  }
}

void dequantize_q8_0(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ8_0*>(src);
  for (int64_t b = 0; b < n / kQK; ++b, dst += kQK) {
    const float d = fp16_to_f32(x[b].d);
    for (int j = 0; j < kQK; ++j) dst[j] = float(x[b].qs[j]) * d;
  }
}

void dequantize_q8_1(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ8_1*>(src);
  for (int64_t b = 0; b < n / kQK; ++b, dst += kQK) {
    const float d = fp16_to_f32(x[b].d);
    for (int j = 0; j < kQK; ++j) dst[j] = float(x[b].qs[j]) * d;
  }
}

void quantize_q4_0(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ4_0*>(dst);
  uint8_t u[kQK];
  for (int64_t b = 0; b < n / kQK; ++b, src += kQK) {
    y[b].d = f32_to_fp16(fit_offset_symmetric(src, -8, 7, u));
    pack_nibbles(u, y[b].qs);
  }
}

void quantize_q5_0(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ5_0*>(dst);
  uint8_t u[kQK];
  for (int64_t b = 0; b < n / kQK; ++b, src += kQK) {
    y[b].d = f32_to_fp16(fit_offset_symmetric(src, -16, 15, u));
    pack_5bit(u, y[b].qs, y[b].qh);
  }
}

void quantize_q4_1(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ4_1*>(dst);
  uint8_t u[kQK];
  for (int64_t b = 0; b < n / kQK; ++b, src += kQK) {
    float m = 0;
    y[b].d = f32_to_fp16(fit_affine(src, kQK, 15, false, &m, u));
    y[b].m = f32_to_fp16(m);
    pack_nibbles(u, y[b].qs);
  }
}

void quantize_q5_1(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ5_1*>(dst);
  uint8_t u[kQK];
  for (int64_t b = 0; b < n / kQK; ++b, src += kQK) {
    float m = 0;
    y[b].d = f32_to_fp16(fit_affine(src, kQK, 31, false, &m, u));
    y[b].m = f32_to_fp16(m);
    pack_5bit(u, y[b].qs, y[b].qh);
  }
}

// Activation rounding, exactly GGUF's reference: d = amax / 127, q = roundf(x / d) computed as
// x * (1 / d) (half away from zero), d stored as fp16 after the q are made with the fp32 d.
namespace {
float quantize_q8_block(const float* x, int8_t* qs) {
  float amax = 0.0f;
  for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (int j = 0; j < kQK; ++j) qs[j] = int8_t(std::roundf(x[j] * id));
  return d;
}
}  // namespace

void quantize_q8_0(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_0*>(dst);
  for (int64_t b = 0; b < n / kQK; ++b, src += kQK) {
    y[b].d = f32_to_fp16(quantize_q8_block(src, y[b].qs));
  }
}

void quantize_q8_1(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_1*>(dst);
  for (int64_t b = 0; b < n / kQK; ++b, src += kQK) {
    const float d = quantize_q8_block(src, y[b].qs);
    int sum = 0;
    for (int j = 0; j < kQK; ++j) sum += y[b].qs[j];
    y[b].d = f32_to_fp16(d);
    y[b].s = f32_to_fp16(float(sum) * d);  // with the fp32 d, as the reference does
  }
}

// Dots: integer products per block, times the product of the two block scales. For the
// affine formats the offset m multiplies sum(b) = s, precomputed in the q8_1 block.

float vec_dot_q4_0(const void* a, const void* b, int64_t n) {
  const auto* x = static_cast<const BlockQ4_0*>(a);
  const auto* y = static_cast<const BlockQ8_0*>(b);
  int q[kQK];
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK; ++i) {
    unpack_nibbles(x[i].qs, q);
    for (int j = 0; j < kQK; ++j) q[j] -= 8;
    sum += float(block_dot(q, y[i].qs)) * (fp16_to_f32(x[i].d) * fp16_to_f32(y[i].d));
  }
  return sum;
}

float vec_dot_q5_0(const void* a, const void* b, int64_t n) {
  const auto* x = static_cast<const BlockQ5_0*>(a);
  const auto* y = static_cast<const BlockQ8_0*>(b);
  int q[kQK];
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK; ++i) {
    unpack_5bit(x[i].qs, x[i].qh, q);
    for (int j = 0; j < kQK; ++j) q[j] -= 16;
    sum += float(block_dot(q, y[i].qs)) * (fp16_to_f32(x[i].d) * fp16_to_f32(y[i].d));
  }
  return sum;
}

float vec_dot_q4_1(const void* a, const void* b, int64_t n) {
  const auto* x = static_cast<const BlockQ4_1*>(a);
  const auto* y = static_cast<const BlockQ8_1*>(b);
  int q[kQK];
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK; ++i) {
    unpack_nibbles(x[i].qs, q);
    const float dd = fp16_to_f32(x[i].d) * fp16_to_f32(y[i].d);
    sum += float(block_dot(q, y[i].qs)) * dd + fp16_to_f32(x[i].m) * fp16_to_f32(y[i].s);
  }
  return sum;
}

float vec_dot_q5_1(const void* a, const void* b, int64_t n) {
  const auto* x = static_cast<const BlockQ5_1*>(a);
  const auto* y = static_cast<const BlockQ8_1*>(b);
  int q[kQK];
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK; ++i) {
    unpack_5bit(x[i].qs, x[i].qh, q);
    const float dd = fp16_to_f32(x[i].d) * fp16_to_f32(y[i].d);
    sum += float(block_dot(q, y[i].qs)) * dd + fp16_to_f32(x[i].m) * fp16_to_f32(y[i].s);
  }
  return sum;
}

float vec_dot_q8_0(const void* a, const void* b, int64_t n) {
  const auto* x = static_cast<const BlockQ8_0*>(a);
  const auto* y = static_cast<const BlockQ8_0*>(b);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int s = 0;
    for (int j = 0; j < kQK; ++j) s += x[i].qs[j] * y[i].qs[j];
    sum += float(s) * (fp16_to_f32(x[i].d) * fp16_to_f32(y[i].d));
  }
  return sum;
}

float vec_dot_q8_1(const void* a, const void* b, int64_t n) {
  const auto* x = static_cast<const BlockQ8_1*>(a);
  const auto* y = static_cast<const BlockQ8_1*>(b);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int s = 0;
    for (int j = 0; j < kQK; ++j) s += x[i].qs[j] * y[i].qs[j];
    sum += float(s) * (fp16_to_f32(x[i].d) * fp16_to_f32(y[i].d));
  }
  return sum;
}

}  // namespace silica::ref

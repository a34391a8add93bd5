// Per-type scalar reference routines behind reference.h's dispatch; shared by the family files.
#pragma once

#include <cstdint>

namespace silica::ref {

// One signature per operation so reference.cc can dispatch through a table.
// n is the element count of the row (a multiple of the type's block size).
using DequantFn = void (*)(const void* src, float* dst, int64_t n);
using QuantFn = void (*)(const float* src, void* dst, int64_t n);
using DotFn = float (*)(const void* a, const void* b, int64_t n);

// Legacy 32-element blocks (reference_legacy.cc).
void dequantize_q4_0(const void* src, float* dst, int64_t n);
void dequantize_q4_1(const void* src, float* dst, int64_t n);
void dequantize_q5_0(const void* src, float* dst, int64_t n);
void dequantize_q5_1(const void* src, float* dst, int64_t n);
void dequantize_q8_0(const void* src, float* dst, int64_t n);
void dequantize_q8_1(const void* src, float* dst, int64_t n);
void quantize_q4_0(const float* src, void* dst, int64_t n);
void quantize_q4_1(const float* src, void* dst, int64_t n);
void quantize_q5_0(const float* src, void* dst, int64_t n);
void quantize_q5_1(const float* src, void* dst, int64_t n);
void quantize_q8_0(const float* src, void* dst, int64_t n);
void quantize_q8_1(const float* src, void* dst, int64_t n);
float vec_dot_q4_0(const void* a, const void* b, int64_t n);  // b: Q8_0
float vec_dot_q4_1(const void* a, const void* b, int64_t n);  // b: Q8_1
float vec_dot_q5_0(const void* a, const void* b, int64_t n);  // b: Q8_0
float vec_dot_q5_1(const void* a, const void* b, int64_t n);  // b: Q8_1
float vec_dot_q8_0(const void* a, const void* b, int64_t n);  // b: Q8_0
float vec_dot_q8_1(const void* a, const void* b, int64_t n);  // b: Q8_1

// K-quants, 256-element super-blocks (reference_kquants.cc); b is always Q8_K.
void dequantize_q2_k(const void* src, float* dst, int64_t n);
void dequantize_q3_k(const void* src, float* dst, int64_t n);
void dequantize_q4_k(const void* src, float* dst, int64_t n);
void dequantize_q5_k(const void* src, float* dst, int64_t n);
void dequantize_q6_k(const void* src, float* dst, int64_t n);
void dequantize_q8_k(const void* src, float* dst, int64_t n);
void quantize_q8_k(const float* src, void* dst, int64_t n);
float vec_dot_q2_k(const void* a, const void* b, int64_t n);
float vec_dot_q3_k(const void* a, const void* b, int64_t n);
float vec_dot_q4_k(const void* a, const void* b, int64_t n);
float vec_dot_q5_k(const void* a, const void* b, int64_t n);
float vec_dot_q6_k(const void* a, const void* b, int64_t n);
float vec_dot_q8_k(const void* a, const void* b, int64_t n);

// K-quant weight quantizers (reference_kquants_quantize.cc).
void quantize_q2_k(const float* src, void* dst, int64_t n);
void quantize_q3_k(const float* src, void* dst, int64_t n);
void quantize_q4_k(const float* src, void* dst, int64_t n);
void quantize_q5_k(const float* src, void* dst, int64_t n);
void quantize_q6_k(const float* src, void* dst, int64_t n);

// Shared helpers (reference_fit.cc): least-squares scale searches used by the weight quantizers.

// Symmetric fit x[i] ~ d * q[i], q integer in [qmin, qmax]. Tries several candidate scales,
// refits d by least squares for each, keeps the lowest squared error. Returns d; writes q.
float fit_symmetric(const float* x, int n, int qmin, int qmax, int8_t* q);

// Affine fit x[i] ~ d * q[i] + m, q integer in [0, qmax]. With nonpositive_min the offset is
// kept <= 0 (k-quants store it as -dmin * m with m >= 0). Returns d; writes m and q.
float fit_affine(const float* x, int n, int qmax, bool nonpositive_min, float* m, uint8_t* q);

// ggml's rounding for the k-quant activations: round half to even (the float magic-number
// trick, which is exact for |x| < 2^22).
int nearest_int(float x);

}  // namespace silica::ref

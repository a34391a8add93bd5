// Element-wise and row-wise ops of the forward pass (norms, activations, rotary embedding).
// Each has a scalar twin; vectorized versions are picked like kernels.h's.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/kernels.h"

namespace silica {

// y[i] = x[i] / sqrt(mean(x^2) + eps) * w[i]   (x, w, y: [n]; y may alias x)
// As ggml does: each square in float, the row sum in double, mean = float(sum / n),
// scale = 1/sqrtf(mean + eps), y = (x * scale) * w.
void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps);

// In place: x[i] = exp(x[i] - max) / sum, sum accumulated in double.  (x: [n])
// Returns max and sum: a softmax over a chunk of a longer row is merged with the other chunks'
// by them (attention over a long context in parallel chunks).
struct SoftmaxStats {
  float max = 0.0f;
  double sum = 0.0;
};
SoftmaxStats softmax_inplace(float* x, int64_t n);

// y[i] = silu(g[i]) * u[i], silu(v) = v / (1 + exp(-v)).  (g, u, y: [n]; y may alias g)
void swiglu(const float* g, const float* u, float* y, int64_t n);

// What a matmul's input rows are when they are not plain rows of x (matmul_packed_shared): each
// thread that converts a row first makes it from x with the op the caller would have run on the
// whole batch (the same kernel, so the same bits), which saves that pass over memory and, in a
// decode, handing the made row from one core to the others.
struct RowPrologue {
  enum class Kind { kNone, kRmsNorm, kSwiGlu };
  Kind kind = Kind::kNone;
  const float* norm_weight = nullptr;  // kRmsNorm: rms_norm(x[t], norm_weight, eps)
  float eps = 0.0f;
  const float* up = nullptr;  // kSwiGlu: swiglu(x[t], up[t]), up's rows as long as x's

  static RowPrologue rms_norm(const float* weight, float eps) {
    return {Kind::kRmsNorm, weight, eps, nullptr};
  }
  static RowPrologue swiglu(const float* up) { return {Kind::kSwiGlu, nullptr, 0.0f, up}; }
};

// Row t (n floats) of what `p` makes of x, into y (y may alias x's row for kSwiGlu); a copy of
// x's row for kNone.
void make_row(const RowPrologue& p, const float* x, int64_t t, int64_t n, float* y);

// y[i] = a[i] + b[i]  (y may alias a)
void add(const float* a, const float* b, float* y, int64_t n);

struct RopeConfig {
  int n_dims = 0;                       // rotated dimensions per head (<= head_dim), even
  float freq_base = 10000.0f;           // theta_i = pos * freq_scale * base^(-2i/n_dims) / factor_i
  float freq_scale = 1.0f;              // 1/linear scaling factor
  bool neox = false;                    // pairs (i, i + n_dims/2) instead of (2i, 2i+1)
  const float* freq_factors = nullptr;  // [n_dims/2] divisors (Llama 3.1 rope_freqs), or null
};

// Rotates each head of x in place for one token at position pos.  (x: [n_head, head_dim])
void rope(float* x, int n_head, int head_dim, int64_t pos, const RopeConfig& cfg);

// The ops that have SIMD versions, per ISA; the plain functions above use best_isa()'s entries.
// SIMD versions use a polynomial exp within kTolExpRel of std::exp (see ops_test.cc).
struct OpsKernels {
  void (*rms_norm)(const float* x, const float* w, float* y, int64_t n, float eps) = nullptr;
  SoftmaxStats (*softmax_inplace)(float* x, int64_t n) = nullptr;
  void (*swiglu)(const float* g, const float* u, float* y, int64_t n) = nullptr;
  // Attention's two products over fp16 rows for n_q query heads that share one KV head:
  //   scores[h * n_kv + j] = scale * dot(k row j, q16 row h)    k: [n_kv, hd], q16: [n_q, hd]
  //   out[h * out_stride + d] = sum_j p[h * n_kv + j] * v[j, d]  p: [n_q, n_kv] fp16, v: [n_kv, hd]
  // A head's result does not depend on n_q (K and V rows are converted once for all heads).
  void (*attn_scores_f16)(const uint16_t* q16, int n_q, const uint16_t* k, int64_t n_kv, int64_t hd,
                          float scale, float* scores) = nullptr;
  void (*attn_values_f16)(const uint16_t* p, int n_q, const uint16_t* v, int64_t n_kv, int64_t hd,
                          float* out, int64_t out_stride) = nullptr;
};
// Falls back to the scalar twin for ops (or ISAs) without a SIMD version.
const OpsKernels& ops_kernels(Isa isa);
// Every table of isa this CPU runs, for tests: ops_kernels(isa), then, where 512-bit operations
// are split in two (CpuFeatures::avx512_split), the AVX-512 table with its own attention scores,
// which ops_kernels(Isa::kAvx512) does not take there.
std::vector<const OpsKernels*> ops_kernel_variants(Isa isa);

namespace ops_internal {
void fill_scalar_ops(OpsKernels& k);
// The scalar twins of the attention products, for SIMD versions' unsupported head sizes.
void attn_scores_f16_scalar(const uint16_t* q16, int n_q, const uint16_t* k, int64_t n_kv,
                            int64_t hd, float scale, float* scores);
void attn_values_f16_scalar(const uint16_t* p, int n_q, const uint16_t* v, int64_t n_kv, int64_t hd,
                            float* out, int64_t out_stride);
#if defined(SILICA_HAVE_X86)
void fill_avx2_ops(OpsKernels& k);    // x86/avx2_ops.cc
void fill_avx512_ops(OpsKernels& k);  // x86/avx512_ops.cc
#endif
#if defined(SILICA_HAVE_NEON)
void fill_neon_ops(OpsKernels& k);  // arm/neon_ops.cc
#endif
}  // namespace ops_internal

}  // namespace silica

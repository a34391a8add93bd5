// Scalar twins of the forward-pass ops, the per-ISA ops table, and rope (scalar only: its cost
// is a few hundred sin/cos per token, shared across heads).
#include "kernels/ops.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <optional>
#include <vector>

#include "base/half.h"

namespace silica {
namespace {

void rms_norm_scalar(const float* x, const float* w, float* y, int64_t n, float eps) {
  assert(n > 0);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += double(x[i] * x[i]);  // square in float, like ggml
  const float mean = float(sum / double(n));
  const float scale = 1.0f / std::sqrt(mean + eps);
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] * scale) * w[i];
}

SoftmaxStats softmax_scalar(float* x, int64_t n) {
  if (n <= 0) return {};
  float max = x[0];
  for (int64_t i = 1; i < n; ++i) max = std::max(max, x[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = float(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
  return {max, sum};
}

void swiglu_scalar(const float* g, const float* u, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

}  // namespace

namespace ops_internal {
void attn_scores_f16_scalar(const uint16_t* q16, int n_q, const uint16_t* k, int64_t n_kv,
                            int64_t hd, float scale, float* scores) {
  for (int h = 0; h < n_q; ++h)
    for (int64_t j = 0; j < n_kv; ++j) {
      float dot = 0.0f;
      for (int64_t d = 0; d < hd; ++d)
        dot += fp16_to_f32(k[j * hd + d]) * fp16_to_f32(q16[h * hd + d]);
      scores[h * n_kv + j] = dot * scale;
    }
}

void attn_values_f16_scalar(const uint16_t* p, int n_q, const uint16_t* v, int64_t n_kv, int64_t hd,
                            float* out, int64_t out_stride) {
  for (int h = 0; h < n_q; ++h) {
    float* o = out + h * out_stride;
    std::fill(o, o + hd, 0.0f);
    for (int64_t j = 0; j < n_kv; ++j) {
      const float pj = fp16_to_f32(p[h * n_kv + j]);
      if (pj == 0.0f) continue;  // underflowed weights add nothing
      for (int64_t d = 0; d < hd; ++d) o[d] += pj * fp16_to_f32(v[j * hd + d]);
    }
  }
}
}  // namespace ops_internal

namespace {

const OpsKernels& best_ops() {
  static const OpsKernels& k = ops_kernels(best_isa());
  return k;
}

}  // namespace

namespace ops_internal {
void fill_scalar_ops(OpsKernels& k) {
  k.rms_norm = &rms_norm_scalar;
  k.softmax_inplace = &softmax_scalar;
  k.swiglu = &swiglu_scalar;
  k.attn_scores_f16 = &attn_scores_f16_scalar;
  k.attn_values_f16 = &attn_values_f16_scalar;
}
}  // namespace ops_internal

namespace {

struct OpsTables {
  std::array<OpsKernels, 4> by_isa{};
  // The AVX-512 table as filled, where by_isa's differs (split cores).
  std::optional<OpsKernels> avx512_own;
};

const OpsTables& ops_tables() {
  static const OpsTables tables = [] {
    OpsTables t;
    for (OpsKernels& k : t.by_isa) ops_internal::fill_scalar_ops(k);
#if defined(SILICA_HAVE_X86)
    // Compiled with their ISA's flags: called only where the CPU has it (see dispatch.cc).
    const std::vector<Isa> isas = available_isas();
    const auto has = [&](Isa i) { return std::find(isas.begin(), isas.end(), i) != isas.end(); };
    if (has(Isa::kAvx2)) ops_internal::fill_avx2_ops(t.by_isa[int(Isa::kAvx2)]);
    if (has(Isa::kAvx512)) {
      OpsKernels& k = t.by_isa[int(Isa::kAvx512)];
      ops_internal::fill_avx512_ops(k);
      // Where 512-bit operations are two 256-bit halves (Zen 4), the AVX2 scores are faster: the
      // same FMA rate, without folding each 16-lane sum to 8 before the shared reduction
      // (bench_kernels attention/hd64x4/kv4096, one thread: scores 25 against 34 us of the
      // 60-64; the AVX-512 values stay, 19.6 against 21.5 us).
      if (cpu_features().avx512_split && has(Isa::kAvx2)) {
        t.avx512_own = k;
        k.attn_scores_f16 = t.by_isa[int(Isa::kAvx2)].attn_scores_f16;
      }
    }
#elif defined(SILICA_HAVE_NEON)
    const std::vector<Isa> isas = available_isas();
    if (std::find(isas.begin(), isas.end(), Isa::kNeon) != isas.end())
      ops_internal::fill_neon_ops(t.by_isa[int(Isa::kNeon)]);
#endif
    return t;
  }();
  return tables;
}

}  // namespace

const OpsKernels& ops_kernels(Isa isa) {
  const int i = int(isa);
  return ops_tables().by_isa[i >= 0 && i < 4 ? i : 0];
}

std::vector<const OpsKernels*> ops_kernel_variants(Isa isa) {
  std::vector<const OpsKernels*> out = {&ops_kernels(isa)};
  if (isa == Isa::kAvx512 && ops_tables().avx512_own) out.push_back(&*ops_tables().avx512_own);
  return out;
}

void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps) {
  best_ops().rms_norm(x, w, y, n, eps);
}

SoftmaxStats softmax_inplace(float* x, int64_t n) {
  return best_ops().softmax_inplace(x, n);
}

void swiglu(const float* g, const float* u, float* y, int64_t n) {
  best_ops().swiglu(g, u, y, n);
}

void make_row(const RowPrologue& p, const float* x, int64_t t, int64_t n, float* y) {
  const float* row = x + t * n;
  switch (p.kind) {
    case RowPrologue::Kind::kRmsNorm:
      rms_norm(row, p.norm_weight, y, n, p.eps);
      return;
    case RowPrologue::Kind::kSwiGlu:
      swiglu(row, p.up + t * n, y, n);
      return;
    case RowPrologue::Kind::kNone:
      if (y != row) std::copy_n(row, n, y);
      return;
  }
}

void add(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];  // the compiler vectorizes this
}

void rope(float* x, int n_head, int head_dim, int64_t pos, const RopeConfig& cfg) {
  assert(cfg.n_dims % 2 == 0 && cfg.n_dims <= head_dim);
  const int n_pairs = cfg.n_dims / 2;
  // theta_i = pos * scale^i with scale = base^(-2/n_dims), multiplied up in float like ggml so
  // that our angles (and logits) track llama.cpp's rather than the exact powf values.
  const float theta_scale = std::pow(cfg.freq_base, -2.0f / float(cfg.n_dims));
  const int stride_b = cfg.neox ? n_pairs : 1;  // distance from a pair's first to second element
  float theta = float(pos);
  for (int i = 0; i < n_pairs; ++i) {
    const float factor = cfg.freq_factors ? cfg.freq_factors[i] : 1.0f;
    const float angle = cfg.freq_scale * (theta / factor);
    const float c = std::cos(angle), s = std::sin(angle);
    const int a = cfg.neox ? i : 2 * i;
    for (int h = 0; h < n_head; ++h) {
      float* xh = x + int64_t(h) * head_dim;
      const float x0 = xh[a], x1 = xh[a + stride_b];
      xh[a] = x0 * c - x1 * s;
      xh[a + stride_b] = x0 * s + x1 * c;
    }
    theta *= theta_scale;
  }
}

}  // namespace silica

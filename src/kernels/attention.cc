// Attention of one head: fp16 dots for q.k, float softmax, fp16 probabilities times V.
#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/ops.h"

namespace silica {

void attend_group_f16_chunk(const float* q, int64_t q_stride, int n_q, const uint16_t* k,
                            const uint16_t* v, int64_t n_kv, int64_t head_dim, float scale,
                            float* out, int64_t out_stride, SoftmaxStats* stats,
                            const AttentionScratch& s, Isa isa) {
  const OpsKernels& ops = ops_kernels(isa);
  const TypeKernels& f16 = type_kernels(DType::kF16, isa);
  for (int h = 0; h < n_q; ++h) f16.from_float(q + h * q_stride, s.q16 + h * head_dim, head_dim);
  ops.attn_scores_f16(s.q16, n_q, k, n_kv, head_dim, scale, s.scores);
  for (int h = 0; h < n_q; ++h) {
    const SoftmaxStats st = ops.softmax_inplace(s.scores + h * n_kv, n_kv);
    if (stats) stats[h] = st;
    f16.from_float(s.scores + h * n_kv, s.probs + h * n_kv, n_kv);
  }
  ops.attn_values_f16(s.probs, n_q, v, n_kv, head_dim, out, out_stride);
}

void attend_group_f16(const float* q, int64_t q_stride, int n_q, const uint16_t* k,
                      const uint16_t* v, int64_t n_kv, int64_t head_dim, float scale, float* out,
                      int64_t out_stride, const AttentionScratch& s, Isa isa) {
  attend_group_f16_chunk(q, q_stride, n_q, k, v, n_kv, head_dim, scale, out, out_stride, nullptr, s,
                         isa);
}

void merge_attention_chunks(const float* parts, const SoftmaxStats* stats, int64_t n_chunks,
                            int n_q, int64_t head_dim, float* out, int64_t out_stride) {
  for (int h = 0; h < n_q; ++h) {
    float top = -std::numeric_limits<float>::infinity();
    for (int64_t c = 0; c < n_chunks; ++c) top = std::max(top, stats[c * n_q + h].max);
    double total = 0.0;
    for (int64_t c = 0; c < n_chunks; ++c) {
      const SoftmaxStats& st = stats[c * n_q + h];
      total += st.sum * std::exp(double(st.max) - double(top));
    }
    float* o = out + h * out_stride;
    for (int64_t c = 0; c < n_chunks; ++c) {
      const SoftmaxStats& st = stats[c * n_q + h];
      const float w = float(st.sum * std::exp(double(st.max) - double(top)) / total);
      const float* p = parts + (c * n_q + h) * head_dim;
      if (c == 0) {
        for (int64_t d = 0; d < head_dim; ++d) o[d] = w * p[d];
      } else {
        for (int64_t d = 0; d < head_dim; ++d) o[d] = std::fma(w, p[d], o[d]);
      }
    }
  }
}

void attend_head_f16(const float* q, const uint16_t* k, const uint16_t* v, int64_t n_kv,
                     int64_t head_dim, float scale, float* out, const AttentionScratch& s,
                     Isa isa) {
  attend_group_f16(q, head_dim, 1, k, v, n_kv, head_dim, scale, out, head_dim, s, isa);
}

}  // namespace silica

// Attention of one head: fp16 dots for q.k, float softmax, fp16 probabilities times V.
#include "kernels/attention.h"

#include "kernels/ops.h"

namespace silica {

void attend_group_f16(const float* q, int64_t q_stride, int n_q, const uint16_t* k,
                      const uint16_t* v, int64_t n_kv, int64_t head_dim, float scale, float* out,
                      int64_t out_stride, const AttentionScratch& s, Isa isa) {
  const OpsKernels& ops = ops_kernels(isa);
  const TypeKernels& f16 = type_kernels(DType::kF16, isa);
  for (int h = 0; h < n_q; ++h) f16.from_float(q + h * q_stride, s.q16 + h * head_dim, head_dim);
  ops.attn_scores_f16(s.q16, n_q, k, n_kv, head_dim, scale, s.scores);
  for (int h = 0; h < n_q; ++h) {
    ops.softmax_inplace(s.scores + h * n_kv, n_kv);
    f16.from_float(s.scores + h * n_kv, s.probs + h * n_kv, n_kv);
  }
  ops.attn_values_f16(s.probs, n_q, v, n_kv, head_dim, out, out_stride);
}

void attend_head_f16(const float* q, const uint16_t* k, const uint16_t* v, int64_t n_kv,
                     int64_t head_dim, float scale, float* out, const AttentionScratch& s,
                     Isa isa) {
  attend_group_f16(q, head_dim, 1, k, v, n_kv, head_dim, scale, out, head_dim, s, isa);
}

}  // namespace silica

// Attention of one head: fp16 dots for q.k, float softmax, fp16 probabilities times V.
#include "kernels/attention.h"

#include "kernels/ops.h"

namespace silica {

void attend_head_f16(const float* q, const uint16_t* k, const uint16_t* v, int64_t n_kv,
                     int64_t head_dim, float scale, float* out, const AttentionScratch& s,
                     Isa isa) {
  const OpsKernels& ops = ops_kernels(isa);
  type_kernels(DType::kF16, isa).from_float(q, s.q16, head_dim);
  ops.attn_scores_f16(s.q16, k, n_kv, head_dim, scale, s.scores);
  ops.softmax_inplace(s.scores, n_kv);
  type_kernels(DType::kF16, isa).from_float(s.scores, s.probs, n_kv);
  ops.attn_values_f16(s.probs, v, n_kv, head_dim, out);
}

}  // namespace silica

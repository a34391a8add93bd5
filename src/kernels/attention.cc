// Attention of one head: fp16 dots for q.k, float softmax, fp16 probabilities times V.
#include "kernels/attention.h"

#include <cmath>
#include <cstring>

#include "base/half.h"
#include "kernels/ops.h"

namespace silica {

void attend_head_f16(const float* q, const uint16_t* k, const uint16_t* v, int64_t n_kv,
                     int64_t head_dim, float scale, float* out, const AttentionScratch& s,
                     Isa isa) {
  const TypeKernels& f16 = type_kernels(DType::kF16, isa);
  f16.from_float(q, s.q16, head_dim);
  for (int64_t j = 0; j < n_kv; ++j)
    s.scores[j] = f16.vec_dot(k + j * head_dim, s.q16, head_dim) * scale;
  softmax_inplace(s.scores, n_kv);
  f16.from_float(s.scores, s.probs, n_kv);
  std::memset(out, 0, size_t(head_dim) * sizeof(float));
  for (int64_t j = 0; j < n_kv; ++j) {
    const float p = fp16_to_f32(s.probs[j]);
    if (p == 0.0f) continue;  // underflowed weights add nothing
    f16.to_float(v + j * head_dim, s.v_row, head_dim);
    for (int64_t d = 0; d < head_dim; ++d) out[d] += p * s.v_row[d];
  }
}

}  // namespace silica

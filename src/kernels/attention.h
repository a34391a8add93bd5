// Scaled dot-product attention of one query head over fp16 keys and values (the KV cache).
#pragma once

#include <cstdint>

#include "kernels/kernels.h"
#include "kernels/ops.h"

namespace silica {

struct AttentionScratch {
  float* scores = nullptr;    // [n_q, n_kv]
  uint16_t* probs = nullptr;  // [n_q, n_kv] fp16
  uint16_t* q16 = nullptr;    // [n_q, head_dim] fp16
};

// out = softmax(scale * q . K^T) . V over keys [0, n_kv).
//   q: [head_dim] float, k, v: [n_kv, head_dim] fp16, out: [head_dim] float.
// Numerics follow llama.cpp's non-flash path: q and the probabilities are rounded to fp16
// before their dot products (its f16 matmuls convert the float side to f16), sums in float.
void attend_head_f16(const float* q, const uint16_t* k, const uint16_t* v, int64_t n_kv,
                     int64_t head_dim, float scale, float* out, const AttentionScratch& scratch,
                     Isa isa = best_isa());

// The same for n_q query heads that share the KV head (grouped-query attention): K and V rows
// are read and converted once for all of them; each head's output equals attend_head_f16's.
//   q: [n_q] rows q_stride apart, out: [n_q] rows out_stride apart.
void attend_group_f16(const float* q, int64_t q_stride, int n_q, const uint16_t* k,
                      const uint16_t* v, int64_t n_kv, int64_t head_dim, float scale, float* out,
                      int64_t out_stride, const AttentionScratch& scratch, Isa isa = best_isa());

// Long contexts are attended in chunks of kAttnChunk keys, so that a decode step (one token, a
// few KV heads) still has work for every core: each chunk gets its own softmax (stats per head)
// and values, and merge_attention_chunks weighs them together in chunk order. Which thread ran
// which chunk does not change a bit; a context of at most kAttnChunk keys is exactly
// attend_group_f16.
constexpr int64_t kAttnChunk = 512;
inline int64_t attention_chunks(int64_t n_kv) {
  return (n_kv + kAttnChunk - 1) / kAttnChunk;
}

// attend_group_f16 over one chunk's keys and values (n_kv of them); stats: [n_q].
void attend_group_f16_chunk(const float* q, int64_t q_stride, int n_q, const uint16_t* k,
                            const uint16_t* v, int64_t n_kv, int64_t head_dim, float scale,
                            float* out, int64_t out_stride, SoftmaxStats* stats,
                            const AttentionScratch& scratch, Isa isa = best_isa());

// out[h] = sum_c w[c][h] * part[c][h] with w[c][h] = sum[c][h] * exp(max[c][h] - M) / (the sum
// of those over c), in chunk order.
//   parts: [n_chunks][n_q][head_dim] (chunk c at c * n_q * head_dim), stats: [n_chunks][n_q],
//   out: [n_q] rows out_stride apart.
void merge_attention_chunks(const float* parts, const SoftmaxStats* stats, int64_t n_chunks,
                            int n_q, int64_t head_dim, float* out, int64_t out_stride);

}  // namespace silica

// Scaled dot-product attention of one query head over fp16 keys and values (the KV cache).
#pragma once

#include <cstdint>

#include "kernels/kernels.h"

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

}  // namespace silica

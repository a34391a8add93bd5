// The scores half of attention (and the fp16 row load) shared by the x86 ops files
// (x86/avx2_ops.cc, x86/avx512_ops.cc), included after kernels/attention_groups.h. The ops file
// defines (internal linkage)
//   key_sums<NH>(qf, kj, hd, sum)   sum[h], h < NH: 8 floats whose total is head h's dot
//                                   product of its widened query (qf + h * kMaxHeadDim) with the
//                                   fp16 key row kj, each head's arithmetic its own;
// and this file turns them into scores_heads (attention_groups.h): the four heads' lane totals
// in one hadd tree, four keys at a time transposed into one store per head.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/attention_groups.h"

namespace silica {
namespace {

// 8 fp16 values to floats (F16C, in both the AVX2 and the AVX-512 files' flags).
inline __m256 load_ph8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

template <int NH>
[[gnu::always_inline]] inline void key_sums(const float* qf, const uint16_t* kj, int64_t hd,
                                            __m256 (&sum)[kGroupHeads]);

// [head 0..3]: head h's total ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)) of sum[h]'s
// lanes times scale, zeros standing in for absent heads.
template <int NH>
[[gnu::always_inline]] inline __m128 score_key(const float* qf, const uint16_t* kj, int64_t hd,
                                               __m128 scale) {
  __m256 sum[kGroupHeads];
  key_sums<NH>(qf, kj, hd, sum);
  _Pragma("GCC unroll 4") for (int h = NH; h < kGroupHeads; ++h) sum[h] = _mm256_setzero_ps();
  const __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(sum[0], sum[1]), _mm256_hadd_ps(sum[2], sum[3]));
  return _mm_mul_ps(_mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1)), scale);
}

// scores[h * n_kv + j] for NH heads from qf ([NH][kMaxHeadDim] floats): four keys at a time
// transposed into four 4-key stores, the rest one by one.
template <int NH>
void scores_heads(const float* qf, const uint16_t* k, int64_t n_kv, int64_t hd, float scale,
                  float* scores) {
  const __m128 vs = _mm_set1_ps(scale);
  int64_t j = 0;
  for (; j + 4 <= n_kv; j += 4) {
    __m128 r0 = score_key<NH>(qf, k + j * hd, hd, vs);
    __m128 r1 = score_key<NH>(qf, k + (j + 1) * hd, hd, vs);
    __m128 r2 = score_key<NH>(qf, k + (j + 2) * hd, hd, vs);
    __m128 r3 = score_key<NH>(qf, k + (j + 3) * hd, hd, vs);
    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);  // now r_h = head h's scores of the four keys
    const __m128 heads[kGroupHeads] = {r0, r1, r2, r3};
    _Pragma("GCC unroll 4") for (int h = 0; h < NH; ++h)
        _mm_storeu_ps(scores + h * n_kv + j, heads[h]);
  }
  for (; j < n_kv; ++j) {
    alignas(16) float r[kGroupHeads];
    _mm_store_ps(r, score_key<NH>(qf, k + j * hd, hd, vs));
    _Pragma("GCC unroll 4") for (int h = 0; h < NH; ++h) scores[h * n_kv + j] = r[h];
  }
}

}  // namespace
}  // namespace silica

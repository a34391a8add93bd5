// The ISA-neutral half of attention's SIMD products (x86/avx2_ops.cc, arm/neon_ops.cc): a call's
// query heads (those of one KV head) taken up to kGroupHeads at a time, so that each K / V row is
// widened once for all of them. An ops file includes this, then defines (internal linkage):
//   widen_f16(x, y, n)      n fp16 values to floats, n a multiple of 8;
//   scores_heads<NH>(qf, k, n_kv, hd, scale, scores)   scores[h * n_kv + j] of NH heads whose
//                           queries are floats kMaxHeadDim apart in qf;
//   values_pass<NH, C>(pf, nj, v, hd, out, out_stride, first)  adds to the 8C columns at out of
//                           NH heads sum_j pf[h * kValueKeys + j] * v[j * hd + c] over nj keys
//                           (out's values ignored when first: the sums start from zero), for C =
//                           1, 2 and the widest pass the ISA names in attn_values_grouped<kWide>.
// Each (head, key) and (head, column) pair must get the arithmetic it gets alone, so that a head's
// result does not depend on how many share the call.
#pragma once

#include <algorithm>
#include <cstdint>

#include "base/half.h"
#include "kernels/ops.h"

namespace silica {
namespace {

constexpr int64_t kMaxHeadDim = 512;  // the scores' widened queries live on the stack
constexpr int kGroupHeads = 4;
constexpr int64_t kValueKeys = 256;  // the most keys of a values block (probabilities widened)
// Values blocks hold about this many bytes of V, so that every column pass after a block's first
// reads its rows from L1; a pass over all keys at once read V from memory once per pass.
constexpr int64_t kValueBlockBytes = 16 * 1024;

void widen_f16(const uint16_t* x, float* y, int64_t n);
template <int NH>
void scores_heads(const float* qf, const uint16_t* k, int64_t n_kv, int64_t hd, float scale,
                  float* scores);
template <int NH, int C>
void values_pass(const float* pf, int64_t nj, const uint16_t* v, int64_t hd, float* out,
                 int64_t out_stride, bool first);

void attn_scores_grouped(const uint16_t* q16, int n_q, const uint16_t* k, int64_t n_kv, int64_t hd,
                         float scale, float* scores) {
  if (hd % 8 != 0 || hd > kMaxHeadDim) {
    ops_internal::attn_scores_f16_scalar(q16, n_q, k, n_kv, hd, scale, scores);
    return;
  }
  using Fn = void (*)(const float*, const uint16_t*, int64_t, int64_t, float, float*);
  static constexpr Fn kFns[kGroupHeads] = {&scores_heads<1>, &scores_heads<2>, &scores_heads<3>,
                                           &scores_heads<4>};
  alignas(64) float qf[kGroupHeads * kMaxHeadDim];  // the heads' queries widened once
  for (int h0 = 0; h0 < n_q; h0 += kGroupHeads) {
    const int nh = std::min(kGroupHeads, n_q - h0);
    for (int h = 0; h < nh; ++h) widen_f16(q16 + (h0 + h) * hd, qf + h * kMaxHeadDim, hd);
    kFns[nh - 1](qf, k, n_kv, hd, scale, scores + h0 * n_kv);
  }
}

// Keys a block at a time, and within a block 8 * kWide columns a pass, then 16, then 8. Each
// column's sum still runs over the keys in order (its partial sum parked in out between blocks),
// as for a head alone.
template <int NH, int kWide>
void values_heads(const uint16_t* p, const uint16_t* v, int64_t n_kv, int64_t hd, float* out,
                  int64_t out_stride) {
  const int64_t block = std::clamp<int64_t>(kValueBlockBytes / (2 * hd) / 8 * 8, 8, kValueKeys);
  alignas(64) float pf[NH * kValueKeys];
  for (int64_t j0 = 0; j0 < n_kv; j0 += block) {
    const int64_t nj = std::min(block, n_kv - j0);
    for (int h = 0; h < NH; ++h) {
      const int64_t whole = nj / 8 * 8;
      widen_f16(p + h * n_kv + j0, pf + h * kValueKeys, whole);
      for (int64_t j = whole; j < nj; ++j)
        pf[h * kValueKeys + j] = fp16_to_f32(p[h * n_kv + j0 + j]);
    }
    const uint16_t* vb = v + j0 * hd;
    int64_t d0 = 0;
    for (; d0 + 8 * kWide <= hd; d0 += 8 * kWide)
      values_pass<NH, kWide>(pf, nj, vb + d0, hd, out + d0, out_stride, j0 == 0);
    if constexpr (kWide > 2)
      for (; d0 + 16 <= hd; d0 += 16)
        values_pass<NH, 2>(pf, nj, vb + d0, hd, out + d0, out_stride, j0 == 0);
    if (d0 < hd) values_pass<NH, 1>(pf, nj, vb + d0, hd, out + d0, out_stride, j0 == 0);
  }
}

// kWide: the widest pass, in 8-column units (AVX2 and NEON 2, AVX-512 8).
template <int kWide>
void attn_values_grouped(const uint16_t* p, int n_q, const uint16_t* v, int64_t n_kv, int64_t hd,
                         float* out, int64_t out_stride) {
  if (hd % 8 != 0) {
    ops_internal::attn_values_f16_scalar(p, n_q, v, n_kv, hd, out, out_stride);
    return;
  }
  using Fn = void (*)(const uint16_t*, const uint16_t*, int64_t, int64_t, float*, int64_t);
  static constexpr Fn kFns[kGroupHeads] = {&values_heads<1, kWide>, &values_heads<2, kWide>,
                                           &values_heads<3, kWide>, &values_heads<4, kWide>};
  for (int h0 = 0; h0 < n_q; h0 += kGroupHeads)
    kFns[std::min(kGroupHeads, n_q - h0) - 1](p + h0 * n_kv, v, n_kv, hd, out + h0 * out_stride,
                                              out_stride);
}

}  // namespace
}  // namespace silica

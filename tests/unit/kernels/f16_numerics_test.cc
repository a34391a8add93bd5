// Pins the half-precision numerics that llama.cpp's CPU backend (v0.5.0, zen4) was observed to
// have: f16/bf16 matmuls round the float activations to the weight's type first, and attention
// rounds q and the softmax probabilities to fp16. Silica must round at the same places; only the
// order of float sums may differ. That order still matters end to end: one activation that rounds
// the other way (from a 1-ulp float difference) cascades through later layers, so whole-model
// f16/bf16 logits agree with llama.cpp only to the f16/bf16 noise floor, not to float precision.
#include <gtest/gtest.h>

#include <cstring>

#include <algorithm>
#include <cmath>

#include "base/half.h"
#include "kernel_test_util.h"
#include "kernels/attention.h"

namespace silica {
namespace {

using test::label;

constexpr int64_t kNIn = 256;
constexpr int64_t kNOut = 48;
// |silica - rounded reference| <= kTolHalfRounded * sum|w*x|: only summation order differs.
constexpr double kTolHalfRounded = 2e-6;
// The unrounded reference must be at least this many tolerances away somewhere, or the test
// could not tell "rounds activations" from "keeps them in float".
constexpr double kMinSeparation = 10.0;
// Attention output: |silica - reference| <= kTolAttention * max|v|.
constexpr double kTolAttention = 2e-7;

float round_to(DType t, float x) {
  return t == DType::kF16 ? fp16_to_f32(f32_to_fp16(x)) : bf16_to_f32(f32_to_bf16(x));
}

struct HalfErrors {
  double to_rounded = 0;    // max |y - sum w*round(x)| / sum|w*x|
  double to_unrounded = 0;  // max |y - sum w*x| / sum|w*x|
};

HalfErrors matmul_errors(DType t, int64_t n_tok, Isa isa) {
  const size_t row = dtype_row_size(t, kNIn);
  std::vector<uint8_t> w(row * kNOut);          // [kNOut, kNIn] of type t
  std::vector<float> wf(size_t(kNIn * kNOut));  // [kNOut, kNIn] dequantized
  for (int64_t o = 0; o < kNOut; ++o) {
    const auto r = test::random_floats(kNIn, uint32_t(500 + o));
    quantize_row_ref(t, r.data(), w.data() + o * row, kNIn);
    dequantize_row_ref(t, w.data() + o * row, wf.data() + o * kNIn, kNIn);
  }
  const auto x = test::random_floats(kNIn * n_tok, uint32_t(9 + n_tok));  // [n_tok, kNIn]
  std::vector<float> y(size_t(kNOut * n_tok));                            // [n_tok, kNOut]
  ThreadPool pool(2);
  MatmulScratch scratch;
  matmul(w.data(), t, kNOut, kNIn, x.data(), n_tok, y.data(), kNOut, pool, scratch, isa);
  HalfErrors e;
  for (int64_t tok = 0; tok < n_tok; ++tok)
    for (int64_t o = 0; o < kNOut; ++o) {
      double rounded = 0, exact = 0, scale = 0;
      for (int64_t i = 0; i < kNIn; ++i) {
        const double wi = wf[o * kNIn + i], xi = x[tok * kNIn + i];
        rounded += wi * round_to(t, float(xi));
        exact += wi * xi;
        scale += std::fabs(wi * xi);
      }
      const double yi = y[tok * kNOut + o];
      e.to_rounded = std::max(e.to_rounded, std::fabs(yi - rounded) / scale);
      e.to_unrounded = std::max(e.to_unrounded, std::fabs(yi - exact) / scale);
    }
  return e;
}

TEST(HalfNumerics, MatmulRoundsActivationsToTheWeightType) {
  for (Isa isa : available_isas())
    for (DType t : {DType::kF16, DType::kBF16})
      for (int64_t n_tok : {1, 8}) {  // llama.cpp: vec_dot for one row, tinyBLAS for batches
        const HalfErrors e = matmul_errors(t, n_tok, isa);
        SCOPED_TRACE(label(isa, t) + " n_tok=" + std::to_string(n_tok));
        EXPECT_LE(e.to_rounded, kTolHalfRounded);
        EXPECT_GE(e.to_unrounded, kMinSeparation * kTolHalfRounded);
      }
}

// out = sum_j round16(softmax_j) * v_j with scores from round16(q): llama.cpp's KQ and KQV
// matmuls take f16 K/V and convert q and the probabilities to f16.
std::vector<double> attention_reference(const std::vector<float>& q, const std::vector<uint16_t>& k,
                                        const std::vector<uint16_t>& v, int64_t n_kv, int64_t hd,
                                        float scale, bool round_half) {
  std::vector<double> s(static_cast<size_t>(n_kv));  // [n_kv]
  for (int64_t j = 0; j < n_kv; ++j) {
    double dot = 0;
    for (int64_t d = 0; d < hd; ++d) {
      const float qd = round_half ? round_to(DType::kF16, q[d]) : q[d];
      dot += double(fp16_to_f32(k[j * hd + d])) * qd;
    }
    s[j] = dot * scale;
  }
  const double mx = *std::max_element(s.begin(), s.end());
  double sum = 0;
  for (double& p : s) sum += (p = std::exp(p - mx));
  std::vector<double> out(static_cast<size_t>(hd), 0.0);  // [hd]
  for (int64_t j = 0; j < n_kv; ++j) {
    const double p = round_half ? round_to(DType::kF16, float(s[j] / sum)) : s[j] / sum;
    for (int64_t d = 0; d < hd; ++d) out[d] += p * fp16_to_f32(v[j * hd + d]);
  }
  return out;
}

TEST(HalfNumerics, AttentionRoundsQueryAndProbabilitiesToF16) {
  constexpr int64_t kHd = 64, kNKv = 40;
  const float scale = 1.0f / std::sqrt(float(kHd));
  const auto q = test::random_floats(kHd, 1);          // [kHd]
  const auto kf = test::random_floats(kNKv * kHd, 2);  // [kNKv, kHd]
  const auto vf = test::random_floats(kNKv * kHd, 3);  // [kNKv, kHd]
  std::vector<uint16_t> k(kf.size()), v(vf.size());
  for (size_t i = 0; i < kf.size(); ++i) k[i] = f32_to_fp16(kf[i]), v[i] = f32_to_fp16(vf[i]);
  double vmax = 0;
  for (uint16_t h : v) vmax = std::max(vmax, double(std::fabs(fp16_to_f32(h))));
  const auto rounded = attention_reference(q, k, v, kNKv, kHd, scale, true);
  const auto exact = attention_reference(q, k, v, kNKv, kHd, scale, false);
  for (Isa isa : available_isas()) {
    std::vector<float> scores(kNKv), out(kHd);
    std::vector<uint16_t> probs(kNKv), q16(kHd);
    attend_head_f16(q.data(), k.data(), v.data(), kNKv, kHd, scale, out.data(),
                    {scores.data(), probs.data(), q16.data()}, isa);
    double to_rounded = 0, to_exact = 0;
    for (int64_t d = 0; d < kHd; ++d) {
      to_rounded = std::max(to_rounded, std::fabs(out[d] - rounded[d]) / vmax);
      to_exact = std::max(to_exact, std::fabs(out[d] - exact[d]) / vmax);
    }
    SCOPED_TRACE(isa_name(isa));
    EXPECT_LE(to_rounded, kTolAttention);
    EXPECT_GE(to_exact, kMinSeparation * kTolAttention);
  }
}

// A KV group's heads computed together give each head exactly what it gets alone (decode and
// prefill, whatever the group size, must not differ), for every head size the kernels special-case.
TEST(HalfNumerics, GroupedHeadsEqualSingleHeads) {
  for (int64_t hd : {64, 128, 48}) {
    for (int n_q : {1, 4, 7}) {
      const int64_t n_kv = 37;
      const float scale = 1.0f / std::sqrt(float(hd));
      const auto q = test::random_floats(n_q * hd, 11);
      const auto kf = test::random_floats(n_kv * hd, 12), vf = test::random_floats(n_kv * hd, 13);
      std::vector<uint16_t> k(kf.size()), v(vf.size());
      for (size_t i = 0; i < kf.size(); ++i) k[i] = f32_to_fp16(kf[i]), v[i] = f32_to_fp16(vf[i]);
      for (Isa isa : available_isas()) {
        std::vector<float> scores(n_q * n_kv), group_out(n_q * hd), one(hd);
        std::vector<uint16_t> probs(n_q * n_kv), q16(n_q * hd);
        const AttentionScratch s{scores.data(), probs.data(), q16.data()};
        attend_group_f16(q.data(), hd, n_q, k.data(), v.data(), n_kv, hd, scale, group_out.data(),
                         hd, s, isa);
        for (int h = 0; h < n_q; ++h) {
          attend_head_f16(q.data() + h * hd, k.data(), v.data(), n_kv, hd, scale, one.data(), s,
                          isa);
          ASSERT_EQ(0, std::memcmp(one.data(), group_out.data() + h * hd, hd * sizeof(float)))
              << isa_name(isa) << " hd " << hd << " n_q " << n_q << " head " << h;
        }
      }
    }
  }
}

// Long contexts go in chunks of kAttnChunk keys (attention.h): each chunk's own softmax, its
// probabilities rounded to fp16, times its values; the chunks merged by their max and sum. That
// equals a double reference of the same steps, and stays within fp16 probability rounding of
// whole-row attention.
TEST(HalfNumerics, ChunkedAttentionMergesChunksByTheirSoftmaxStats) {
  constexpr int64_t kHd = 64, kNKv = 2 * kAttnChunk + 276;
  constexpr int kNQ = 4;
  const int64_t n_chunks = attention_chunks(kNKv);
  ASSERT_EQ(n_chunks, 3);
  const float scale = 1.0f / std::sqrt(float(kHd));
  const auto q = test::random_floats(kNQ * kHd, 21);
  const auto kf = test::random_floats(kNKv * kHd, 22), vf = test::random_floats(kNKv * kHd, 23);
  std::vector<uint16_t> k(kf.size()), v(vf.size());
  for (size_t i = 0; i < kf.size(); ++i) k[i] = f32_to_fp16(kf[i]), v[i] = f32_to_fp16(vf[i]);
  double vmax = 0;
  for (uint16_t h : v) vmax = std::max(vmax, double(std::fabs(fp16_to_f32(h))));
  for (Isa isa : available_isas()) {
    SCOPED_TRACE(isa_name(isa));
    std::vector<float> scores(kNQ * kAttnChunk), parts(n_chunks * kNQ * kHd), out(kNQ * kHd);
    std::vector<uint16_t> probs(kNQ * kAttnChunk), q16(kNQ * kHd);
    std::vector<SoftmaxStats> stats(n_chunks * kNQ);
    const AttentionScratch s{scores.data(), probs.data(), q16.data()};
    for (int64_t c = 0; c < n_chunks; ++c) {
      const int64_t c0 = c * kAttnChunk, n = std::min(kAttnChunk, kNKv - c0);
      attend_group_f16_chunk(q.data(), kHd, kNQ, k.data() + c0 * kHd, v.data() + c0 * kHd, n, kHd,
                             scale, parts.data() + c * kNQ * kHd, kHd, stats.data() + c * kNQ, s,
                             isa);
    }
    merge_attention_chunks(parts.data(), stats.data(), n_chunks, kNQ, kHd, out.data(), kHd);
    for (int h = 0; h < kNQ; ++h) {
      const std::vector<float> qh(q.begin() + h * kHd, q.begin() + (h + 1) * kHd);
      // The reference: per chunk its max and sum of exp in double, its rounded output, merged.
      std::vector<double> want(kHd, 0.0), m(n_chunks), l(n_chunks);
      std::vector<std::vector<double>> o(n_chunks);
      for (int64_t c = 0; c < n_chunks; ++c) {
        const int64_t c0 = c * kAttnChunk, n = std::min(kAttnChunk, kNKv - c0);
        std::vector<uint16_t> kc(k.begin() + c0 * kHd, k.begin() + (c0 + n) * kHd);
        std::vector<uint16_t> vc(v.begin() + c0 * kHd, v.begin() + (c0 + n) * kHd);
        o[c] = attention_reference(qh, kc, vc, n, kHd, scale, true);
        std::vector<double> sc(n);
        for (int64_t j = 0; j < n; ++j) {
          double dot = 0;
          for (int64_t d = 0; d < kHd; ++d)
            dot += double(fp16_to_f32(kc[j * kHd + d])) * round_to(DType::kF16, qh[d]);
          sc[j] = dot * scale;
        }
        m[c] = *std::max_element(sc.begin(), sc.end());
        l[c] = 0;
        for (double x : sc) l[c] += std::exp(x - m[c]);
      }
      const double top = *std::max_element(m.begin(), m.end());
      double total = 0;
      for (int64_t c = 0; c < n_chunks; ++c) total += l[c] * std::exp(m[c] - top);
      for (int64_t c = 0; c < n_chunks; ++c)
        for (int64_t d = 0; d < kHd; ++d) want[d] += l[c] * std::exp(m[c] - top) / total * o[c][d];
      const auto whole = attention_reference(qh, k, v, kNKv, kHd, scale, false);
      double to_want = 0, to_whole = 0;
      for (int64_t d = 0; d < kHd; ++d) {
        to_want = std::max(to_want, std::fabs(out[h * kHd + d] - want[d]) / vmax);
        to_whole = std::max(to_whole, std::fabs(out[h * kHd + d] - whole[d]) / vmax);
      }
      EXPECT_LE(to_want, 2 * kTolAttention) << "head " << h;
      EXPECT_LE(to_whole, 1e-3) << "head " << h;
    }
  }
}

}  // namespace
}  // namespace silica

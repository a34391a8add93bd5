// Forward-pass ops (rms_norm, softmax, swiglu, add, rope) against double-precision references,
// for the scalar twin and every SIMD version this CPU can run.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "base/half.h"
#include "kernels/ops.h"

namespace silica {
namespace {

// Float results against exact (double) math, relative to the reference value.
constexpr double kTolRmsNormRel = 6e-7;  // three float roundings plus the scale's
constexpr double kTolSwigluRel = 6e-7;   // exp, add, divide, multiply; SIMD exp included
constexpr double kTolSoftmaxRel = 6e-7;  // exp of (x - max) and the 1/sum scaling
// The SIMD polynomial exp alone (degree-7 Taylor on |r| <= ln2/2): measured 1.5e-7, ~1 ulp.
constexpr double kTolExpRel = 3e-7;
// Below FLT_MIN the SIMD exp flushes to zero where libm returns a subnormal.
constexpr double kTolTinyAbs = 1.2e-38;
constexpr double kTolRopeAbs = 5e-7;  // per element, inputs of magnitude <= 1

std::vector<float> random_floats(size_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

// For g < -88, silu(g) < 1e-36 and exp(-g) overflows float: libm gives -0, the SIMD exp (clamped
// at 88) a value near -1e-36. Both are harmless, so outputs this small are compared absolutely.
constexpr double kTolSwigluAbs = 1e-34;

bool near_rel(double got, double want, double tol_rel, double tol_abs = kTolTinyAbs) {
  return std::fabs(got - want) <= tol_rel * std::fabs(want) + tol_abs;
}

const int64_t kSizes[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 100, 4099};

class OpsIsa : public ::testing::TestWithParam<Isa> {};

TEST_P(OpsIsa, RmsNormMatchesDoubleReference) {
  const OpsKernels& k = ops_kernels(GetParam());
  for (int64_t n : kSizes) {
    const auto x = random_floats(size_t(n), -3.0f, 3.0f, uint32_t(n));
    const auto w = random_floats(size_t(n), 0.5f, 1.5f, uint32_t(n) + 1);
    std::vector<float> y(static_cast<size_t>(n));
    const float eps = 1e-5f;
    k.rms_norm(x.data(), w.data(), y.data(), n, eps);
    double ss = 0.0;
    for (float v : x) ss += double(v) * v;
    const double scale = 1.0 / std::sqrt(ss / double(n) + eps);
    for (int64_t i = 0; i < n; ++i) {
      const double want = double(x[i]) * scale * w[i];
      ASSERT_TRUE(near_rel(y[i], want, kTolRmsNormRel))
          << "n=" << n << " i=" << i << " got " << y[i] << " want " << want;
    }
  }
}

TEST_P(OpsIsa, RmsNormInPlace) {
  const OpsKernels& k = ops_kernels(GetParam());
  auto x = random_floats(37, -1.0f, 1.0f, 5);
  const auto w = random_floats(37, -1.0f, 1.0f, 6);
  std::vector<float> y(37);
  k.rms_norm(x.data(), w.data(), y.data(), 37, 1e-6f);
  k.rms_norm(x.data(), w.data(), x.data(), 37, 1e-6f);
  EXPECT_EQ(x, y);
}

TEST_P(OpsIsa, SoftmaxMatchesDoubleReference) {
  const OpsKernels& k = ops_kernels(GetParam());
  for (int64_t n : kSizes) {
    // A wide range so that exp sees arguments from 0 down past the float underflow.
    const auto x0 = random_floats(size_t(n), -60.0f, 60.0f, uint32_t(n) + 2);
    auto x = x0;
    const SoftmaxStats stats = k.softmax_inplace(x.data(), n);
    // x - max is rounded to float first: that rounding is part of float softmax, not the kernel's
    // error (at |x - max| ~ 64 it alone moves exp by ~4e-6 relative).
    float max = x0[0];
    for (float v : x0) max = std::max(max, v);
    double sum = 0.0;
    for (float v : x0) sum += std::exp(double(v - max));
    EXPECT_EQ(stats.max, max) << "n=" << n;
    EXPECT_TRUE(near_rel(float(stats.sum), sum, kTolSoftmaxRel))
        << "n=" << n << " sum " << stats.sum;
    double total = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      const double want = std::exp(double(x0[i] - max)) / sum;
      ASSERT_TRUE(near_rel(x[i], want, kTolSoftmaxRel))
          << "n=" << n << " i=" << i << " got " << x[i] << " want " << want;
      total += x[i];
    }
    EXPECT_NEAR(total, 1.0, kTolSoftmaxRel * double(n));
  }
}

TEST_P(OpsIsa, SoftmaxIgnoresMinusInfinity) {
  const OpsKernels& k = ops_kernels(GetParam());
  std::vector<float> x(19, -INFINITY);
  x[3] = 1.0f;
  x[17] = 1.0f;  // in the tail of both vector widths
  k.softmax_inplace(x.data(), 19);
  for (int i = 0; i < 19; ++i) EXPECT_EQ(x[i], (i == 3 || i == 17) ? 0.5f : 0.0f) << i;
}

TEST_P(OpsIsa, ExpMatchesStdExpAcrossRange) {
  // exp is internal, so probe it through softmax of {t, 0, -inf...}: p0 = e^t / (e^t + 1), whose
  // relative error for t <= 0 is that of exp(t).
  const OpsKernels& k = ops_kernels(GetParam());
  for (float t = -87.0f; t <= 0.0f; t += 0.37f) {
    std::vector<float> x(16, -INFINITY);  // a full vector, so the SIMD path runs
    x[0] = t;
    x[9] = 0.0f;
    k.softmax_inplace(x.data(), 16);
    const double e = std::exp(double(t));
    ASSERT_TRUE(near_rel(x[0], e / (e + 1.0), kTolExpRel)) << "t=" << t << " got " << x[0];
  }
}

TEST_P(OpsIsa, SwigluMatchesDoubleReference) {
  const OpsKernels& k = ops_kernels(GetParam());
  for (int64_t n : kSizes) {
    const auto g = random_floats(size_t(n), -100.0f, 100.0f, uint32_t(n) + 3);
    const auto u = random_floats(size_t(n), -2.0f, 2.0f, uint32_t(n) + 4);
    std::vector<float> y(static_cast<size_t>(n));
    k.swiglu(g.data(), u.data(), y.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const double want = double(g[i]) / (1.0 + std::exp(-double(g[i]))) * u[i];
      ASSERT_TRUE(near_rel(y[i], want, kTolSwigluRel, kTolSwigluAbs))
          << "n=" << n << " i=" << i << " g=" << g[i] << " got " << y[i] << " want " << want;
    }
  }
}

TEST_P(OpsIsa, SwigluSmallArgumentsAndAliasing) {
  const OpsKernels& k = ops_kernels(GetParam());
  auto g = random_floats(40, -4.0f, 4.0f, 9);
  const auto u = random_floats(40, -1.0f, 1.0f, 10);
  const auto g0 = g;
  k.swiglu(g.data(), u.data(), g.data(), 40);  // y aliases g
  for (int i = 0; i < 40; ++i) {
    const double want = double(g0[i]) / (1.0 + std::exp(-double(g0[i]))) * u[i];
    ASSERT_TRUE(near_rel(g[i], want, kTolSwigluRel)) << i;
  }
}

// scores[h][j] = scale * q_h . k_j over fp16 q and k: within float summation error of the double
// dot product ((hd - 1) roundings of at most 2^-24 of the running magnitude), and each head's
// scores are the bits it gets alone, however many heads share the call. Head sizes cover the
// SIMD versions' 32-, 16- and 8-element steps (72 = 2 * 32 + 8, 80 = 2 * 32 + 16).
void check_scores(const OpsKernels& k) {
  const float scale = 0.125f;
  for (int64_t hd : {40, 64, 72, 80, 128, 136, 256}) {
    for (int n_q : {1, 3, 4, 5, 8}) {
      for (int64_t n_kv : {1, 3, 37, 300}) {
        const auto qf = random_floats(size_t(n_q * hd), -3.0f, 3.0f, uint32_t(hd + n_q));
        const auto kf = random_floats(size_t(n_kv * hd), -3.0f, 3.0f, uint32_t(hd + n_kv));
        std::vector<uint16_t> q(qf.size()), kv(kf.size());
        for (size_t i = 0; i < qf.size(); ++i) q[i] = f32_to_fp16(qf[i]);
        for (size_t i = 0; i < kf.size(); ++i) kv[i] = f32_to_fp16(kf[i]);
        std::vector<float> scores(size_t(n_q * n_kv)), alone(static_cast<size_t>(n_kv));
        k.attn_scores_f16(q.data(), n_q, kv.data(), n_kv, hd, scale, scores.data());
        for (int h = 0; h < n_q; ++h) {
          k.attn_scores_f16(q.data() + h * hd, 1, kv.data(), n_kv, hd, scale, alone.data());
          for (int64_t j = 0; j < n_kv; ++j) {
            double dot = 0.0, magnitude = 0.0;
            for (int64_t d = 0; d < hd; ++d) {
              const double x = double(fp16_to_f32(q[h * hd + d])) * fp16_to_f32(kv[j * hd + d]);
              dot += x;
              magnitude += std::fabs(x);
            }
            const float got = scores[size_t(h * n_kv + j)];
            ASSERT_NEAR(got, scale * dot, double(hd) * 0x1p-24 * scale * magnitude)
                << "hd " << hd << " n_q " << n_q << " n_kv " << n_kv << " h " << h << " j " << j;
            ASSERT_EQ(got, alone[size_t(j)]) << "hd " << hd << " n_q " << n_q << " h " << h;
          }
        }
      }
    }
  }
}

TEST_P(OpsIsa, AttentionScoresMatchDoubleDotForEveryGroupSize) {
  const std::vector<const OpsKernels*> variants = ops_kernel_variants(GetParam());
  for (size_t i = 0; i < variants.size(); ++i) {
    SCOPED_TRACE("table " + std::to_string(i) + " of " + std::to_string(variants.size()));
    check_scores(*variants[i]);
  }
}

// out[h][d] = sum_j p[h][j] * v[j][d] over fp16 p and v: the SIMD versions run each column's
// FMA chain over the keys in order from zero (whatever blocks of keys and columns they take), so
// they equal that float chain exactly; the scalar twin's separate multiply and add stays within a
// few roundings of it. Key counts span one, several and a partial block of keys.
TEST_P(OpsIsa, AttentionValuesSumEachColumnOverKeysInOrder) {
  const OpsKernels& k = ops_kernels(GetParam());
  for (int64_t hd : {40, 64, 80, 128, 136}) {  // 136: the widest passes, then 8 columns
    for (int n_q : {1, 4, 5}) {
      for (int64_t n_kv : {1, 37, 300, 1031}) {
        const auto pf = random_floats(size_t(n_q * n_kv), -0.5f, 1.0f, uint32_t(hd + n_kv));
        const auto vf = random_floats(size_t(n_kv * hd), -4.0f, 4.0f, uint32_t(n_q + n_kv));
        std::vector<uint16_t> p(pf.size()), v(vf.size());
        for (size_t i = 0; i < pf.size(); ++i) p[i] = f32_to_fp16(std::max(pf[i], 0.0f));
        for (size_t i = 0; i < vf.size(); ++i) v[i] = f32_to_fp16(vf[i]);
        const int64_t stride = hd + 8;  // rows apart, as heads of a wider output
        std::vector<float> out(size_t(n_q * stride), -7.0f);
        k.attn_values_f16(p.data(), n_q, v.data(), n_kv, hd, out.data(), stride);
        for (int h = 0; h < n_q; ++h) {
          for (int64_t d = 0; d < hd; ++d) {
            float chain = 0.0f;
            double magnitude = 0.0;
            for (int64_t j = 0; j < n_kv; ++j) {
              const float pj = fp16_to_f32(p[h * n_kv + j]), vj = fp16_to_f32(v[j * hd + d]);
              chain = std::fma(pj, vj, chain);
              magnitude += std::fabs(double(pj) * vj);
            }
            const float got = out[h * stride + d];
            if (GetParam() == Isa::kScalar)
              ASSERT_NEAR(got, chain, 1e-6 * magnitude) << "h " << h << " d " << d;
            else
              ASSERT_EQ(got, chain)
                  << "hd " << hd << " n_q " << n_q << " n_kv " << n_kv << " h " << h << " d " << d;
          }
          for (int64_t d = hd; d < stride; ++d) ASSERT_EQ(out[h * stride + d], -7.0f);
        }
      }
    }
  }
}

std::vector<Isa> isas_to_test() {
  return available_isas();
}

INSTANTIATE_TEST_SUITE_P(Ops, OpsIsa, ::testing::ValuesIn(isas_to_test()),
                         [](const ::testing::TestParamInfo<Isa>& info) {
                           return std::string(isa_name(info.param));
                         });

TEST(Ops, DispatchedFunctionsAgreeWithBestIsaTable) {
  const auto x = random_floats(100, -2.0f, 2.0f, 11);
  const auto w = random_floats(100, -2.0f, 2.0f, 12);
  std::vector<float> a(100), b(100);
  rms_norm(x.data(), w.data(), a.data(), 100, 1e-5f);
  ops_kernels(best_isa()).rms_norm(x.data(), w.data(), b.data(), 100, 1e-5f);
  EXPECT_EQ(a, b);
}

TEST(Ops, AddIsExact) {
  const auto a = random_floats(33, -5.0f, 5.0f, 13);
  const auto b = random_floats(33, -5.0f, 5.0f, 14);
  std::vector<float> y(33);
  add(a.data(), b.data(), y.data(), 33);
  for (int i = 0; i < 33; ++i) EXPECT_EQ(y[i], a[i] + b[i]);
}

// Rope reference: the specified angle rule (theta_scale^i multiplied up in float), rotation in
// double. The angle is part of the contract (it tracks llama.cpp), the rotation must be exact.
std::vector<float> rope_reference(const std::vector<float>& x, int n_head, int head_dim,
                                  int64_t pos, const RopeConfig& cfg) {
  std::vector<float> y = x;
  const float theta_scale = std::pow(cfg.freq_base, -2.0f / float(cfg.n_dims));
  float theta = float(pos);
  for (int i = 0; i < cfg.n_dims / 2; ++i) {
    const float factor = cfg.freq_factors ? cfg.freq_factors[i] : 1.0f;
    const double angle = double(cfg.freq_scale * (theta / factor));
    const int a = cfg.neox ? i : 2 * i, b = cfg.neox ? i + cfg.n_dims / 2 : 2 * i + 1;
    for (int h = 0; h < n_head; ++h) {
      const double x0 = x[size_t(h * head_dim + a)], x1 = x[size_t(h * head_dim + b)];
      y[size_t(h * head_dim + a)] = float(x0 * std::cos(angle) - x1 * std::sin(angle));
      y[size_t(h * head_dim + b)] = float(x0 * std::sin(angle) + x1 * std::cos(angle));
    }
    theta *= theta_scale;
  }
  return y;
}

TEST(Rope, HandExampleNormalAndNeox) {
  // head_dim 6, n_dims 4, base 10000, pos 1: pair 0 turns by 1 rad, pair 1 by 10000^-0.5 = 0.01.
  // x = [1, 0, 1, 0, 7, 8]: normal pairs (0,1), (2,3); neox pairs (0,2), (1,3); 4, 5 untouched.
  RopeConfig cfg;
  cfg.n_dims = 4;
  std::vector<float> x = {1, 0, 1, 0, 7, 8};
  rope(x.data(), 1, 6, 1, cfg);
  const double c1 = std::cos(1.0), s1 = std::sin(1.0), c2 = std::cos(0.01), s2 = std::sin(0.01);
  const double normal[] = {c1, s1, c2, s2, 7, 8};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(x[i], normal[i], kTolRopeAbs) << i;

  cfg.neox = true;
  x = {1, 0, 1, 0, 7, 8};
  rope(x.data(), 1, 6, 1, cfg);
  // pair (0,2) = (1,1) turned by 1 rad; pair (1,3) = (0,0) stays 0.
  const double neox[] = {c1 - s1, 0, s1 + c1, 0, 7, 8};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(x[i], neox[i], kTolRopeAbs) << i;
}

TEST(Rope, SmallPositionsMatchExactFormula) {
  // At small pos the float angle recurrence is within rounding of pos * base^(-2i/n).
  constexpr int kHeads = 3, kHeadDim = 64;
  for (bool neox : {false, true}) {
    for (int64_t pos : {0, 1, 2, 5}) {
      RopeConfig cfg;
      cfg.n_dims = 64;
      cfg.neox = neox;
      const auto x0 = random_floats(kHeads * kHeadDim, -1.0f, 1.0f, uint32_t(pos) + 20);
      auto x = x0;
      rope(x.data(), kHeads, kHeadDim, pos, cfg);
      for (int h = 0; h < kHeads; ++h) {
        for (int i = 0; i < 32; ++i) {
          const double ang = double(pos) * std::pow(10000.0, -2.0 * i / 64.0);
          const int a = h * kHeadDim + (neox ? i : 2 * i);
          const int b = a + (neox ? 32 : 1);
          const double y0 = x0[a] * std::cos(ang) - x0[b] * std::sin(ang);
          const double y1 = x0[a] * std::sin(ang) + x0[b] * std::cos(ang);
          ASSERT_NEAR(x[a], y0, kTolRopeAbs) << "neox=" << neox << " pos=" << pos << " i=" << i;
          ASSERT_NEAR(x[b], y1, kTolRopeAbs) << "neox=" << neox << " pos=" << pos << " i=" << i;
        }
      }
    }
  }
}

TEST(Rope, LargePositionsScaledWithFactorsAndPartialDims) {
  constexpr int kHeads = 4, kHeadDim = 128;
  const auto factors = random_floats(32, 1.0f, 8.0f, 30);  // [n_dims / 2]
  for (bool neox : {false, true}) {
    RopeConfig cfg;
    cfg.n_dims = 64;  // half the head rotates (phi-style partial rotary)
    cfg.freq_base = 500000.0f;
    cfg.freq_scale = 0.25f;
    cfg.neox = neox;
    cfg.freq_factors = factors.data();
    const auto x0 = random_floats(kHeads * kHeadDim, -1.0f, 1.0f, neox ? 31 : 32);
    auto x = x0;
    rope(x.data(), kHeads, kHeadDim, 12345, cfg);
    const auto want = rope_reference(x0, kHeads, kHeadDim, 12345, cfg);
    for (int i = 0; i < kHeads * kHeadDim; ++i) {
      ASSERT_NEAR(x[i], want[i], kTolRopeAbs) << "neox=" << neox << " i=" << i;
      if (i % kHeadDim >= 64) {
        ASSERT_EQ(x[i], x0[i]) << "unrotated dim changed, i=" << i;
      }
    }
  }
}

}  // namespace
}  // namespace silica

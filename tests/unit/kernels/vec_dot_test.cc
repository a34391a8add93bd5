// Every ISA's vec_dot against the scalar reference, for every weight type and several lengths.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "base/half.h"
#include "kernel_test_util.h"
#include "tensor/blocks.h"

namespace silica {
namespace {

using test::label;

std::vector<int64_t> lengths_for(DType t) {
  const int64_t bs = dtype_traits(t)->block_size;
  std::vector<int64_t> out = {bs, 2 * bs, 2048 + 256, 4096 + 256};
  if (bs == 32) out.push_back(32 * 7);
  if (bs == 1) out.insert(out.end(), {1, 7, 31, 33, 100, 1000});  // exercise the tails
  return out;
}

TEST(VecDot, MatchesReferenceForEveryIsaAndType) {
  for (Isa isa : available_isas()) {
    for (DType t : test::weight_types()) {
      const DType vt = dtype_traits(t)->vec_dot_type;
      const VecDotFn dot = type_kernels(t, isa).vec_dot;
      ASSERT_NE(dot, nullptr) << label(isa, t);
      uint32_t seed = 1;
      for (int64_t n : lengths_for(t)) {
        for (int rep = 0; rep < 3; ++rep, ++seed) {
          const auto a = test::quantize(t, test::random_floats(n, seed * 7919));
          const auto b = test::quantize(vt, test::random_floats(n, seed * 104729));
          const float want = vec_dot_ref(t, a.data(), b.data(), n);
          const float got = dot(a.data(), b.data(), n);
          const double scale = test::abs_dot_scale(t, a.data(), vt, b.data(), n);
          EXPECT_NEAR(got, want, test::tolerance_for(t) * scale)
              << label(isa, t) << " n=" << n << " rep=" << rep;
        }
      }
    }
  }
}

// A dot of zeros is exactly zero on every path (no uninitialized accumulators, no stray tail).
TEST(VecDot, ZeroRowsGiveZero) {
  for (Isa isa : available_isas()) {
    for (DType t : test::weight_types()) {
      const DType vt = dtype_traits(t)->vec_dot_type;
      const int64_t n = 2048 + 256;
      const std::vector<float> zeros(n, 0.0f);
      const auto a = test::quantize(t, zeros);
      const auto b = test::quantize(vt, test::random_floats(n, 5));
      EXPECT_EQ(type_kernels(t, isa).vec_dot(a.data(), b.data(), n), 0.0f) << label(isa, t);
    }
  }
}

// GGUF's quantizers never write -128 into q8_0 weights, but a file may hold it: the SIMD sign
// trick must still give the exact integer dot.
TEST(VecDot, Q8_0WeightsAtMinus128) {
  const int64_t n = 2 * kQK8_0;
  std::vector<BlockQ8_0> w(2);
  for (auto& b : w) {
    b.d = f32_to_fp16(0.25f);
    for (int j = 0; j < kQK8_0; ++j) b.qs[j] = int8_t(j % 2 ? -128 : 127);
  }
  const auto act = test::quantize(DType::kQ8_0, test::random_floats(n, 9));
  const float want = vec_dot_ref(DType::kQ8_0, w.data(), act.data(), n);
  const double scale = test::abs_dot_scale(DType::kQ8_0, w.data(), DType::kQ8_0, act.data(), n);
  for (Isa isa : available_isas())
    EXPECT_NEAR(type_kernels(DType::kQ8_0, isa).vec_dot(w.data(), act.data(), n), want,
                test::kTolQ8_0 * scale)
        << isa_name(isa);
}

TEST(Dispatch, ScalarAlwaysAvailableAndBestIsListed) {
  const auto isas = available_isas();
  ASSERT_FALSE(isas.empty());
  EXPECT_EQ(isas.front(), Isa::kScalar);
  bool found = false;
  for (Isa isa : isas) found |= isa == best_isa();
  EXPECT_TRUE(found) << isa_name(best_isa());
  // Activation-only types cannot be the left side of a dot.
  EXPECT_EQ(type_kernels(DType::kQ8_K, Isa::kScalar).vec_dot, nullptr);
  EXPECT_NE(type_kernels(DType::kQ8_K, Isa::kScalar).from_float, nullptr);
}

#if defined(__x86_64__)
TEST(CpuFeatures, AvxImpliesItsPrerequisites) {
  const CpuFeatures& f = cpu_features();
  if (f.avx512vnni) {
    EXPECT_TRUE(f.avx512f);
  }
  if (f.avx512f) {
    EXPECT_TRUE(f.fma);
  }
  EXPECT_FALSE(f.neon);
}

// AVX-512 needs VNNI, not BF16 (Cascade Lake, Ice Lake): ctest runs this binary again with
// SILICA_CPU_HIDE=avx512bf16, where every twin test above goes through the widened bf16 dot.
TEST(CpuFeatures, Avx512WithoutBf16StillRunsTheAvx512Kernels) {
  const CpuFeatures& f = cpu_features();
  const char* hide = std::getenv("SILICA_CPU_HIDE");
  if (hide && std::strstr(hide, "avx512bf16")) {
    EXPECT_FALSE(f.avx512bf16);
  }
  const auto isas = available_isas();
  const bool avx512 = std::find(isas.begin(), isas.end(), Isa::kAvx512) != isas.end();
  EXPECT_EQ(avx512, f.avx2 && f.fma && f.f16c && f.bmi2 && f.avx512f && f.avx512bw && f.avx512vl &&
                        f.avx512dq && f.avx512vnni);
}
#endif

}  // namespace
}  // namespace silica

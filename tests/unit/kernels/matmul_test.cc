// matmul against a naive loop over rows and tokens: bit-identical to the same ISA's vec_dot on
// reference-converted activations, close to the scalar reference, and independent of threads.
#include <gtest/gtest.h>

#include <cstring>

#include "kernel_test_util.h"

namespace silica {
namespace {

using test::label;

constexpr int64_t kNIn = 512;  // two q4_K super-blocks
constexpr int64_t kNOut = 67;  // not a multiple of any tile size
constexpr int64_t kYPad = 5;   // y row stride = kNOut + kYPad; padding must stay untouched
constexpr float kPadValue = -12345.0f;

struct Problem {
  std::vector<uint8_t> w;  // [kNOut, kNIn] rows of type t
  std::vector<float> x;    // [n_tok, kNIn]
};

Problem make_problem(DType t, int64_t n_tok) {
  Problem p;
  const size_t row = dtype_row_size(t, kNIn);
  p.w.resize(row * kNOut);
  for (int64_t o = 0; o < kNOut; ++o) {
    const auto wf = test::random_floats(kNIn, uint32_t(1000 + o));
    quantize_row_ref(t, wf.data(), p.w.data() + o * row, kNIn);
  }
  p.x = test::random_floats(kNIn * n_tok, uint32_t(77 + n_tok));
  return p;
}

// Pools are created once: starting threads per call would dominate the test's run time.
ThreadPool& pool_of(int threads) {
  static ThreadPool p1(1), p2(2), p3(3);
  return threads == 1 ? p1 : threads == 2 ? p2 : p3;
}

std::vector<float> run_matmul(const Problem& p, DType t, int64_t n_tok, int threads, Isa isa) {
  ThreadPool& pool = pool_of(threads);
  MatmulScratch scratch;
  const int64_t stride = kNOut + kYPad;
  std::vector<float> y(stride * n_tok, kPadValue);
  matmul(p.w.data(), t, kNOut, kNIn, p.x.data(), n_tok, y.data(), stride, pool, scratch, isa);
  return y;
}

TEST(Matmul, MatchesNaiveLoopAndIsThreadIndependent) {
  const int64_t stride = kNOut + kYPad;
  for (Isa isa : available_isas()) {
    for (DType t : test::weight_types()) {
      const DType vt = dtype_traits(t)->vec_dot_type;
      const size_t w_row = dtype_row_size(t, kNIn), a_row = dtype_row_size(vt, kNIn);
      for (int64_t n_tok : {1, 3, 17, 64}) {
        const Problem p = make_problem(t, n_tok);
        const auto y1 = run_matmul(p, t, n_tok, 1, isa);
        for (int threads : {2, 3}) {
          const auto yn = run_matmul(p, t, n_tok, threads, isa);
          EXPECT_EQ(0, std::memcmp(y1.data(), yn.data(), y1.size() * sizeof(float)))
              << label(isa, t) << " n_tok=" << n_tok << " threads=" << threads;
        }
        std::vector<uint8_t> act(a_row);
        for (int64_t tok = 0; tok < n_tok; ++tok) {
          quantize_row_ref(vt, p.x.data() + tok * kNIn, act.data(), kNIn);
          for (int64_t o = 0; o < kNOut; ++o) {
            const uint8_t* wr = p.w.data() + o * w_row;
            const float got = y1[tok * stride + o];
            const float same_isa = type_kernels(t, isa).vec_dot(wr, act.data(), kNIn);
            ASSERT_EQ(got, same_isa) << label(isa, t) << " tok=" << tok << " o=" << o;
            const float ref = vec_dot_ref(t, wr, act.data(), kNIn);
            const double scale = test::abs_dot_scale(t, wr, vt, act.data(), kNIn);
            ASSERT_NEAR(got, ref, test::tolerance_for(t) * scale) << label(isa, t);
          }
          for (int64_t o = kNOut; o < stride; ++o)
            ASSERT_EQ(y1[tok * stride + o], kPadValue) << label(isa, t) << " padding written";
        }
      }
    }
  }
}

// A scratch buffer that is already large enough is reused, not reallocated.
TEST(Matmul, ReusesScratch) {
  const Problem p = make_problem(DType::kQ8_0, 4);
  ThreadPool pool(2);
  MatmulScratch scratch;
  std::vector<float> y(kNOut * 4);
  matmul(p.w.data(), DType::kQ8_0, kNOut, kNIn, p.x.data(), 4, y.data(), kNOut, pool, scratch);
  const uint8_t* before = scratch.bytes.data();
  matmul(p.w.data(), DType::kQ8_0, kNOut, kNIn, p.x.data(), 2, y.data(), kNOut, pool, scratch);
  EXPECT_EQ(before, scratch.bytes.data());
}

// Each thread owns a run of tiles and the others take from its back when it is late: with far
// more threads than this machine has cores, many join late or not at all, and every tile must
// still be done exactly once (a skipped tile leaves kPadValue, a doubled one is harmless only
// by luck, so the bits are compared with one thread's).
TEST(Matmul, ThreadsThatJoinLateHaveTheirTilesTakenByTheOthers) {
  static ThreadPool crowd(16);
  const int64_t stride = kNOut + kYPad;
  for (DType t : {DType::kQ8_0, DType::kF16}) {
    for (int64_t n_tok : {1, 17}) {
      const Problem p = make_problem(t, n_tok);
      const auto y1 = run_matmul(p, t, n_tok, 1, best_isa());
      MatmulScratch scratch;
      for (int round = 0; round < 20; ++round) {
        std::vector<float> y(stride * n_tok, kPadValue);
        matmul(p.w.data(), t, kNOut, kNIn, p.x.data(), n_tok, y.data(), stride, crowd, scratch);
        ASSERT_EQ(0, std::memcmp(y1.data(), y.data(), y.size() * sizeof(float)))
            << dtype_name(t) << " n_tok=" << n_tok << " round " << round;
      }
      EXPECT_EQ(scratch.n_runs, 16);
    }
  }
}

}  // namespace
}  // namespace silica

// AVX2 + FMA + F16C kernels: int8 dots through vpmaddubsw + vpmaddwd, 256-bit float dots.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/half.h"
#include "kernels/kernel_tables.h"
#include "tensor/blocks.h"

// The R x T accumulators of a tile must stay in registers.
#define SILICA_UNROLL _Pragma("GCC unroll 16")

namespace {

// acc[k] += sum_{j<4} u[4k+j] * s[4k+j]; the int16 pair sums cannot saturate for the value
// ranges used here (|u| <= 127 or u <= 63, |s| <= 127: 2*127*127 < 32767).
inline __m256i dot_u8s8(__m256i acc, __m256i u, __m256i s) {
  const __m256i pairs = _mm256_maddubs_epi16(u, s);
  return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}

}  // namespace

#include "kernels/x86/x86_common.h"
#include "kernels/x86/x86_more_quants.h"

namespace {

// Four accumulators hide the FMA latency; the tail is summed in order after them.
float dot_f32(const void* a, const void* b, int64_t n) {
  const float* x = static_cast<const float*>(a);
  const float* y = static_cast<const float*>(b);
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int k = 0; k < 4; ++k)
      acc[k] =
          _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8 * k), _mm256_loadu_ps(y + i + 8 * k), acc[k]);
  float s = hsum_f32x8(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
  for (; i < n; ++i) s += x[i] * y[i];
  return s;
}

inline __m256 load_f16x8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline __m256 load_bf16x8(const uint16_t* p) {
  const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

// ---- F16 / BF16 rows: an R x T tile for matmul (dot_half_tile) whose 1 x 1 case is the
// vec_dot. Each (row, token) pair has two FMA chains over alternate 8-element steps (two keep a
// lone dot off the FMA latency; more would not fit R x T pairs in the 16 registers), added before
// the horizontal sum, then the tail in order. The tile reads each token's row widened to f32
// once (widen_half_row: exact), the vec_dot widens it on the fly: the same floats, so every pair
// equals the vec_dot bit for bit whatever tile it sits in.
inline __m256 load_f32x8(const float* p) {
  return _mm256_loadu_ps(p);
}
inline float f32_identity(float v) {
  return v;
}

template <class A>
using LoadAct = __m256 (*)(const A*);

template <__m256 (*Load)(const uint16_t*), float (*Scalar)(uint16_t), class A, LoadAct<A> kLoadA,
          auto kScalarA, int R, int T>
void micro_half(const uint16_t* const (&x)[R], const A* const (&b)[T], int64_t n, float* y,
                int64_t ys) {
  __m256 acc0[R][T], acc1[R][T];
  SILICA_UNROLL
  for (int r = 0; r < R; ++r) {
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) acc0[r][t] = acc1[r][t] = _mm256_setzero_ps();
  }
  auto step = [&](int64_t i, __m256(&acc)[R][T]) {
    __m256 av[T];
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) av[t] = kLoadA(b[t] + i);
    SILICA_UNROLL
    for (int r = 0; r < R; ++r) {
      const __m256 wv = Load(x[r] + i);
      SILICA_UNROLL
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_fmadd_ps(wv, av[t], acc[r][t]);
    }
  };
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    step(i, acc0);
    step(i + 8, acc1);
  }
  if (i + 8 <= n) {
    step(i, acc0);
    i += 8;
  }
  SILICA_UNROLL
  for (int r = 0; r < R; ++r) {
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) {
      float s = hsum_f32x8(_mm256_add_ps(acc0[r][t], acc1[r][t]));
      for (int64_t k = i; k < n; ++k) s += Scalar(x[r][k]) * kScalarA(b[t][k]);
      y[t * ys + r] = s;
    }
  }
}

template <__m256 (*Load)(const uint16_t*), float (*Scalar)(uint16_t)>
float dot_half(const void* a, const void* b, int64_t n) {
  const uint16_t* x[1] = {static_cast<const uint16_t*>(a)};
  const uint16_t* y[1] = {static_cast<const uint16_t*>(b)};
  float out;
  micro_half<Load, Scalar, uint16_t, Load, Scalar, 1, 1>(x, y, n, &out, 0);
  return out;
}

size_t act_prep_size_half(int64_t n) {
  return (size_t(n) * sizeof(float) + silica::kActPrepAlign - 1) / silica::kActPrepAlign *
         silica::kActPrepAlign;
}

// R rows x T tokens a call (2 * R * T accumulators + R weight vectors in 16 registers). A lone
// token walks one row at a time: F16 rows of 2048 are 4 KiB apart, and several such streams at
// once share L1 sets.
constexpr int kHalfTileRows = 3, kHalfTileTokens = 2;

template <__m256 (*Load)(const uint16_t*), float (*Scalar)(uint16_t), int R, int T>
void half_tile_call(const uint8_t* w, size_t ws, const uint8_t* a, size_t as, int64_t n, float* y,
                    int64_t ys) {
  const uint16_t* x[R];
  const float* b[T];
  for (int r = 0; r < R; ++r) x[r] = reinterpret_cast<const uint16_t*>(w + r * ws);
  for (int t = 0; t < T; ++t) b[t] = reinterpret_cast<const float*>(a + t * as);
  micro_half<Load, Scalar, float, load_f32x8, f32_identity, R, T>(x, b, n, y, ys);
}

template <__m256 (*Load)(const uint16_t*), float (*Scalar)(uint16_t)>
void dot_half_tile(const void* w, size_t ws, int64_t n_rows, const void* a, size_t as,
                   int64_t n_tok, int64_t n, float* y, int64_t ys) {
  using Fn = void (*)(const uint8_t*, size_t, const uint8_t*, size_t, int64_t, float*, int64_t);
  static constexpr Fn kFns[kHalfTileRows][kHalfTileTokens] = {
      {&half_tile_call<Load, Scalar, 1, 1>, &half_tile_call<Load, Scalar, 1, 2>},
      {&half_tile_call<Load, Scalar, 2, 1>, &half_tile_call<Load, Scalar, 2, 2>},
      {&half_tile_call<Load, Scalar, 3, 1>, &half_tile_call<Load, Scalar, 3, 2>}};
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(a);
  const int64_t step_r = n_tok == 1 ? 1 : kHalfTileRows;
  for (int64_t r = 0; r < n_rows; r += step_r) {
    const int rr = int(std::min<int64_t>(step_r, n_rows - r));
    for (int64_t t = 0; t < n_tok; t += kHalfTileTokens) {
      const int tt = int(std::min<int64_t>(kHalfTileTokens, n_tok - t));
      kFns[rr - 1][tt - 1](wb + r * ws, ws, ab + t * as, as, n, y + t * ys + r, ys);
    }
  }
}

}  // namespace

namespace silica::kernels_internal {

void fill_avx2_kernels(KernelTable& table) {
  entry(table, DType::kF32).vec_dot = &dot_f32;
  entry(table, DType::kF16) = {&dot_half<load_f16x8, fp16_to_f32>,
                               &from_float_f16,
                               &to_float_f16,
                               &dot_half_tile<load_f16x8, fp16_to_f32>,
                               &widen_half_row<fp16_to_f32>,
                               &act_prep_size_half};
  entry(table, DType::kBF16) = {&dot_half<load_bf16x8, bf16_to_f32>,
                                &from_float_bf16,
                                &to_float_bf16,
                                &dot_half_tile<load_bf16x8, bf16_to_f32>,
                                &widen_half_row<bf16_to_f32>,
                                &act_prep_size_half};
  entry(table, DType::kQ8_0).vec_dot = &dot_q8_0_q8_0;
  entry(table, DType::kQ8_0).from_float = &from_float_q8<BlockQ8_0>;
  entry(table, DType::kQ4_0).vec_dot = &dot_q4_0_q8_0;
  entry(table, DType::kQ4_K).vec_dot = &dot_q4_K_q8_K;
  entry(table, DType::kQ6_K).vec_dot = &dot_q6_K_q8_K;
  entry(table, DType::kQ8_K).from_float = &from_float_q8_K;
  fill_row_kernels(table);
}

}  // namespace silica::kernels_internal

// AVX2 + FMA + F16C kernels: int8 dots through vpmaddubsw + vpmaddwd, 256-bit float dots.
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "base/half.h"
#include "kernels/kernel_tables.h"
#include "tensor/blocks.h"

namespace {

// acc[k] += sum_{j<4} u[4k+j] * s[4k+j]; the int16 pair sums cannot saturate for the value
// ranges used here (|u| <= 127 or u <= 63, |s| <= 127: 2*127*127 < 32767).
inline __m256i dot_u8s8(__m256i acc, __m256i u, __m256i s) {
  const __m256i pairs = _mm256_maddubs_epi16(u, s);
  return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}

}  // namespace

#include "kernels/x86/x86_common.h"

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

template <__m256 (*Load)(const uint16_t*), float (*Scalar)(uint16_t)>
float dot_half(const void* a, const void* b, int64_t n) {
  const auto* x = static_cast<const uint16_t*>(a);
  const auto* y = static_cast<const uint16_t*>(b);
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int k = 0; k < 4; ++k)
      acc[k] = _mm256_fmadd_ps(Load(x + i + 8 * k), Load(y + i + 8 * k), acc[k]);
  float s = hsum_f32x8(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
  for (; i < n; ++i) s += Scalar(x[i]) * Scalar(y[i]);
  return s;
}

}  // namespace

namespace silica::kernels_internal {

void fill_avx2_kernels(KernelTable& table) {
  entry(table, DType::kF32).vec_dot = &dot_f32;
  auto& f16 = entry(table, DType::kF16);
  f16 = {&dot_half<load_f16x8, fp16_to_f32>, &from_float_f16, &to_float_f16};
  auto& bf16 = entry(table, DType::kBF16);
  bf16 = {&dot_half<load_bf16x8, bf16_to_f32>, &from_float_bf16, &to_float_bf16};
  entry(table, DType::kQ8_0).vec_dot = &dot_q8_0_q8_0;
  entry(table, DType::kQ8_0).from_float = &from_float_q8_0;
  entry(table, DType::kQ4_0).vec_dot = &dot_q4_0_q8_0;
  entry(table, DType::kQ4_K).vec_dot = &dot_q4_K_q8_K;
  entry(table, DType::kQ6_K).vec_dot = &dot_q6_K_q8_K;
  entry(table, DType::kQ8_K).from_float = &from_float_q8_K;
}

}  // namespace silica::kernels_internal

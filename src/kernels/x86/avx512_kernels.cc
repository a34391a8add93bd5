// AVX-512 (F/BW/VL/DQ + VNNI) kernels: int8 dots through vpdpbusd, 512-bit float dots; bf16 dots
// through vdpbf16ps where the CPU has AVX512_BF16 (x86/avx512bf16_dot.cc, the one file built with
// it), else widened to fp32.
// GCC 12's AVX-512 headers seed results with _mm512_undefined_*(), which -Wuninitialized flags
// inside every inlined intrinsic; the warning is about the header, not this code.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/half.h"
#include "kernels/kernel_tables.h"
#include "tensor/blocks.h"

namespace {

// acc[k] += sum_{j<4} u[4k+j] * s[4k+j] in one instruction, without the int16 intermediate.
inline __m256i dot_u8s8(__m256i acc, __m256i u, __m256i s) {
  return _mm256_dpbusd_epi32(acc, u, s);
}

}  // namespace

#include "kernels/x86/x86_common.h"
#include "kernels/x86/x86_more_quants.h"

namespace {

// 64 elements per iteration in two accumulators; masked loads handle the tail, so every
// element goes through the same FMA path.
float dot_f32(const void* a, const void* b, int64_t n) {
  const float* x = static_cast<const float*>(a);
  const float* y = static_cast<const float*>(b);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(y + i + 16), acc1);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1);
    acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i), acc0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

inline __mmask16 tail_mask16(int64_t left) {
  return left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
}

// 16 halves widened to floats: fp16 through vcvtph2ps, bf16 by a shift (the top half of an fp32).
inline __m512 widen_f16x16(__m256i h) {
  return _mm512_cvtph_ps(h);
}
inline __m512 widen_bf16x16(__m256i h) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// Both rows widened to fp32, FMAs in two chains. bf16 takes it on CPUs without AVX512_BF16
// (Cascade Lake, Ice Lake); with it, vdpbf16ps (x86/avx512bf16_dot.cc).
template <__m512 (*Widen)(__m256i)>
float dot_half(const void* a, const void* b, int64_t n) {
  const auto* x = static_cast<const uint16_t*>(a);
  const auto* y = static_cast<const uint16_t*>(b);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  auto load = [](const uint16_t* p) {
    return Widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  };
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(load(x + i), load(y + i), acc0);
    acc1 = _mm512_fmadd_ps(load(x + i + 16), load(y + i + 16), acc1);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = tail_mask16(n - i);
    acc0 = _mm512_fmadd_ps(Widen(_mm256_maskz_loadu_epi16(m, x + i)),
                           Widen(_mm256_maskz_loadu_epi16(m, y + i)), acc0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

}  // namespace

namespace silica::kernels_internal {

void fill_avx512_kernels(KernelTable& table) {
  entry(table, DType::kF32).vec_dot = &dot_f32;
  entry(table, DType::kF16) = {&dot_half<widen_f16x16>, &from_float_f16, &to_float_f16};
  entry(table, DType::kBF16) = {
      cpu_features().avx512bf16 ? &dot_bf16_avx512bf16 : &dot_half<widen_bf16x16>, &from_float_bf16,
      &to_float_bf16};
  entry(table, DType::kQ8_0).vec_dot = &dot_q8_0_q8_0;
  entry(table, DType::kQ4_0).vec_dot = &dot_q4_0_q8_0;
  entry(table, DType::kQ4_K).vec_dot = &dot_q4_K_q8_K;
  entry(table, DType::kQ6_K).vec_dot = &dot_q6_K_q8_K;
  fill_row_kernels(table);
  fill_avx512_convert(table);
}

}  // namespace silica::kernels_internal

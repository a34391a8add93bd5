// AVX-512 activation quantizers, q8_0 and q8_K, the reference's bytes exactly: a block's values
// stay in registers from the max to the stores, and the int8 narrowing is one vpmovdb a 16
// floats. A decode quantizes every matmul's input row on each thread (kernels/matmul.cc), where
// the AVX2 versions took 4-5.5 us of an 8192-float row on Zen 4 (act_convert in
// bench/bench_kernels.cc).
// GCC 12's AVX-512 headers seed results with _mm512_undefined_*(), which -Wuninitialized flags
// inside every inlined intrinsic; the warning is about the header, not this code.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "kernels/kernel_tables.h"
#include "tensor/blocks.h"

namespace silica::kernels_internal {
namespace {

// roundf (half away from zero) of 16 floats: truncate, then step one away from zero where the
// dropped fraction (exact) is at least a half.
inline __m512 round_half_away(__m512 v) {
  const __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __mmask16 up =
      _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_sub_ps(v, t)), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
  const __m512 one = _mm512_or_ps(_mm512_set1_ps(1.0f), _mm512_and_ps(v, _mm512_set1_ps(-0.0f)));
  return _mm512_mask_add_ps(t, up, t, one);
}

inline void store_i8x16(int8_t* dst, __m512i q) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm512_cvtepi32_epi8(q));
}

// q8_0: d = amax / 127 (stored as fp16), q = roundf(x * (1 / d)).
void from_float_q8_0(const float* x, void* out, int64_t n) {
  auto* y = static_cast<BlockQ8_0*>(out);
  for (int64_t i = 0; i < n / kQK8_0; ++i) {
    const __m512 v0 = _mm512_loadu_ps(x + i * kQK8_0), v1 = _mm512_loadu_ps(x + i * kQK8_0 + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
    const __m512 vid = _mm512_set1_ps(id);
    store_i8x16(y[i].qs, _mm512_cvtps_epi32(round_half_away(_mm512_mul_ps(v0, vid))));
    store_i8x16(y[i].qs + 16, _mm512_cvtps_epi32(round_half_away(_mm512_mul_ps(v1, vid))));
  }
}

// q8_K: the scale from the first element of largest magnitude, q = nearest-even(x * -127 / max)
// capped at 127 (MXCSR's default rounding), the sums of each 16, d = 1 / iscale.
void from_float_q8_K(const float* x, void* out, int64_t n) {
  constexpr int kVecs = kQK_K / 16;
  auto* y = static_cast<BlockQ8_K*>(out);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float* xb = x + i * kQK_K;
    __m512 v[kVecs];
    __m512 vmax = _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int j = 0; j < kVecs; ++j) {
      v[j] = _mm512_loadu_ps(xb + 16 * j);
      vmax = _mm512_max_ps(vmax, _mm512_abs_ps(v[j]));
    }
    const float amax = _mm512_reduce_max_ps(vmax);
    if (amax == 0.0f) {
      std::memset(&y[i], 0, sizeof(BlockQ8_K));
      continue;
    }
    int first = 0;
    for (int j = 0; j < kVecs; ++j) {
      const __mmask16 m = _mm512_cmp_ps_mask(_mm512_abs_ps(v[j]), _mm512_set1_ps(amax), _CMP_EQ_OQ);
      if (m) {
        first = 16 * j + __builtin_ctz(m);
        break;
      }
    }
    const float iscale = -127.0f / xb[first];
    const __m512 vs = _mm512_set1_ps(iscale);
    const __m512i k127 = _mm512_set1_epi32(127);
#pragma GCC unroll 16
    for (int j = 0; j < kVecs; ++j) {
      const __m512i q = _mm512_min_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(v[j], vs)), k127);
      store_i8x16(y[i].qs + 16 * j, q);
      y[i].bsums[j] = int16_t(_mm512_reduce_add_epi32(q));
    }
    y[i].d = 1.0f / iscale;
  }
}

}  // namespace

void fill_avx512_convert(KernelTable& table) {
  entry(table, DType::kQ8_0).from_float = &from_float_q8_0;
  entry(table, DType::kQ8_K).from_float = &from_float_q8_K;
}

}  // namespace silica::kernels_internal

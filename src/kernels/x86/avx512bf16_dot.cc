// The bf16 dot through vdpbf16ps, alone in a file built with AVX512_BF16, so that the other
// AVX-512 files (built without it) run on Cascade Lake and Ice Lake too; fill_avx512_kernels takes
// it only where cpu_features().avx512bf16.
#include <immintrin.h>

#include <cstdint>

#include "kernels/kernel_tables.h"

namespace silica::kernels_internal {

// vdpbf16ps multiplies bf16 pairs exactly and adds both products into fp32 lanes (it flushes
// subnormal inputs to zero, which changes a dot by less than kTolBF16 allows).
float dot_bf16_avx512bf16(const void* a, const void* b, int64_t n) {
  const auto* x = static_cast<const uint16_t*>(a);
  const auto* y = static_cast<const uint16_t*>(b);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  auto load = [](const uint16_t* p) { return (__m512bh)_mm512_loadu_si512(p); };
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    acc0 = _mm512_dpbf16_ps(acc0, load(x + i), load(y + i));
    acc1 = _mm512_dpbf16_ps(acc1, load(x + i + 32), load(y + i + 32));
  }
  for (; i < n; i += 32) {
    const int64_t left = n - i;
    const __mmask32 m = left >= 32 ? __mmask32(0xffffffffu) : __mmask32((1u << left) - 1);
    const __m512bh xv = (__m512bh)_mm512_maskz_loadu_epi16(m, x + i);
    const __m512bh yv = (__m512bh)_mm512_maskz_loadu_epi16(m, y + i);
    acc0 = _mm512_dpbf16_ps(acc0, xv, yv);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

}  // namespace silica::kernels_internal

// The end of a packed Q4_K super-block (kernels/packed.h) for one token, shared by the VNNI and
// the AMX tiles: their results must be the same bits, so the float steps live in one place.
// Only for files built with the AVX-512 flags.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/packed.h"

namespace silica::kernels_internal {

// The 6-bit scale of sub-block sub (of 8), one per row, as int32.
[[gnu::always_inline]] inline __m512i q4_K_sub_scales(const uint8_t* sb, int sub) {
  return _mm512_cvtepu8_epi32(
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(sb + kQ4KScales + sub * kPackRows)));
}

// A super-block's per-row values that every token's end step reads.
struct Q4_KEnd {
  __m512 dw, dm;    // d and dmin of the 16 rows
  __m512i mins[4];  // (m, m') of sub-blocks (2k, 2k+1) as int16 pairs
};

[[gnu::always_inline]] inline Q4_KEnd q4_K_end(const uint8_t* sb) {
  Q4_KEnd e;
  e.dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(sb + kQ4KD)));
  e.dm = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(sb + kQ4KDmin)));
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k)
    e.mins[k] = _mm512_cvtepu8_epi16(
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sb + kQ4KMins + 32 * k)));
  return e;
}

// acc + float(isc) * (dw * da) - float(imin) * (dm * da), imin = sum_s m_s * bsum_s exactly.
[[gnu::always_inline]] inline __m512 q4_K_finish(const Q4_KEnd& e, __m512i isc,
                                                 const PackedActBlockK& ab, __m512 acc) {
  __m512i imin = _mm512_setzero_si512();
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    int32_t pair;
    std::memcpy(&pair, ab.bsum + 2 * k, 4);
    imin = _mm512_dpwssd_epi32(imin, e.mins[k], _mm512_set1_epi32(pair));
  }
  const __m512 da = _mm512_set1_ps(ab.d);
  acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isc), _mm512_mul_ps(e.dw, da), acc);
  return _mm512_fnmadd_ps(_mm512_cvtepi32_ps(imin), _mm512_mul_ps(e.dm, da), acc);
}

}  // namespace silica::kernels_internal

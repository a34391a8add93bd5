// One 4-element piece of a packed Q6_K super-block (kernels/packed.h) rebuilt to bytes, shared
// by the VNNI tile and the AMX tile's B planes. Only for files built with the AVX-512 flags.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/packed.h"

namespace silica::kernels_internal {

// Piece j (elements 4j..4j+3 of 16 rows) of a packed Q6_K super-block as unsigned 6-bit values:
// the low nibble | the 2 high bits << 4. kQuarter = j / 16 fixes which nibble and which 2 high
// bits, so that the shifts are immediates even where j is not a constant.
template <int kQuarter>
[[gnu::always_inline]] inline __m512i q6_K_piece_in(const uint8_t* sb, int j) {
  const __m512i lo_src = _mm512_loadu_si512(sb + q6k_low_at(j % 32));
  const __m512i lo = kQuarter < 2 ? lo_src : _mm512_srli_epi16(lo_src, 4);
  const __m512i h = _mm512_loadu_si512(sb + q6k_high_at(j % 16));
  constexpr int sh = 2 * kQuarter;  // bits sh, sh+1 of each byte go to bits 4, 5
  const __m512i hi = sh <= 4 ? _mm512_slli_epi16(h, 4 - sh) : _mm512_srli_epi16(h, sh - 4);
  return _mm512_ternarylogic_epi32(lo, _mm512_set1_epi8(0x0f),
                                   _mm512_and_si512(hi, _mm512_set1_epi8(0x30)), 0xEA);
}

// The int8 scales of sub-blocks 2k and 2k + 1, one pair per row, as int16 pairs (sc, sc').
[[gnu::always_inline]] inline __m512i q6_K_scale_pair(const uint8_t* sb, int k) {
  return _mm512_cvtepi8_epi16(
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sb + kQ6KScales + 32 * k)));
}

[[gnu::always_inline]] inline __m512i q6_K_piece(const uint8_t* sb, int j) {
  switch (j / 16) {
    case 0:
      return q6_K_piece_in<0>(sb, j);
    case 1:
      return q6_K_piece_in<1>(sb, j);
    case 2:
      return q6_K_piece_in<2>(sb, j);
    default:
      return q6_K_piece_in<3>(sb, j);
  }
}

}  // namespace silica::kernels_internal

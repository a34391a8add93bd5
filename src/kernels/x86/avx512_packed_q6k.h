// The 4-element pieces of a packed Q6_K super-block (kernels/packed.h) rebuilt to bytes, shared
// by the VNNI tile and the AMX tile's B planes. Only for files built with the AVX-512 flags.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/packed.h"

namespace silica::kernels_internal {

// Piece k + 48 of a packed Q6_K super-block (kernels/packed.h) from the tops of triple k's three
// vectors x, y, z (bits 0-1, 2-3, 4-5 of its q): the shifts are of 16-bit lanes, so each byte
// takes the selects' masks, not a shift of its own.
[[gnu::always_inline]] inline __m512i q6_K_top_piece(__m512i x, __m512i y, __m512i z) {
  constexpr int kSelect = 0xE4;  // ternarylogic(a, b, m): m ? a : b
  const __m512i lo2 = _mm512_ternarylogic_epi32(_mm512_srli_epi16(x, 6), _mm512_srli_epi16(y, 4),
                                                _mm512_set1_epi8(0x03), kSelect);
  const __m512i lo4 =
      _mm512_ternarylogic_epi32(lo2, _mm512_srli_epi16(z, 2), _mm512_set1_epi8(0x0f), kSelect);
  return _mm512_and_si512(lo4, _mm512_set1_epi8(0x3f));
}

// Pieces k, k + 16, k + 32, k + 48 (piece j: elements 4j..4j+3 of 16 rows) of a packed Q6_K
// super-block as unsigned 6-bit values, from triple k's three loads.
[[gnu::always_inline]] inline void q6_K_triple(const uint8_t* sb, int k, __m512i (&w)[4]) {
  const __m512i m3f = _mm512_set1_epi8(0x3f);
  const __m512i x = _mm512_loadu_si512(sb + q6k_vec_at(k, 0));
  const __m512i y = _mm512_loadu_si512(sb + q6k_vec_at(k, 1));
  const __m512i z = _mm512_loadu_si512(sb + q6k_vec_at(k, 2));
  w[0] = _mm512_and_si512(x, m3f);
  w[1] = _mm512_and_si512(y, m3f);
  w[2] = _mm512_and_si512(z, m3f);
  w[3] = q6_K_top_piece(x, y, z);
}

// Piece j alone; kQuarter = j / 16 (a constant where j is not).
template <int kQuarter>
[[gnu::always_inline]] inline __m512i q6_K_piece_in(const uint8_t* sb, int j) {
  const int k = j % 16;
  if constexpr (kQuarter < 3)
    return _mm512_and_si512(_mm512_loadu_si512(sb + q6k_vec_at(k, kQuarter)),
                            _mm512_set1_epi8(0x3f));
  return q6_K_top_piece(_mm512_loadu_si512(sb + q6k_vec_at(k, 0)),
                        _mm512_loadu_si512(sb + q6k_vec_at(k, 1)),
                        _mm512_loadu_si512(sb + q6k_vec_at(k, 2)));
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

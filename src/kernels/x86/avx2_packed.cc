// AVX2 tiles over packed groups (kernels/packed.h), for x86 cores without AVX-512 (AMD Zen 1-3,
// Intel client cores before Ice Lake and the E-cores since). A group's 64-byte lines hold 16 rows
// and a 256-bit register 8, so each group is worked as two halves of 8 rows: bytes 0-31 and 32-63
// of every line, the first and second 8 entries of every per-row array. One call does both halves
// per block when it has few tokens (decode streams each line once); with more tokens it does one
// half over all blocks and then the other, so the accumulators of 4 tokens fit the 16 ymm.
//
// F16 / BF16 have no tile here: matrices of those types stay in the file's layout on these cores
// and go through the unpacked dot tile (avx2_kernels.cc), as fast at prefill and decode on a Zen 3
// (1B shape, 2 threads: pp128 57-59 vs 50-55 t/s, tg 7.0-7.2 vs 7.2-7.4) without repacking
// 2.3 GiB into fresh memory at load (0.35-0.42 s instead of 2.4-2.9 s in a VM).
//
// Int8 products: vpmaddubsw (unsigned weights x signed activations, int16 pairs), then vpmaddwd.
// The int16 sums of a block are added only while they cannot saturate (the bound is stated at
// each use), then widened once. Per lane (row) and token the float steps are the twin's in
// packed.cc, so every tile size, token count and thread split equals tile_ref bit for bit.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "kernels/kernel_tables.h"
#include "kernels/packed.h"
#include "kernels/x86/keep_in_register.h"
#include "kernels/x86/prefetch.h"
#include "tensor/blocks.h"

#define SILICA_UNROLL _Pragma("GCC unroll 16")

namespace silica::kernels_internal {
namespace {

constexpr int kHalfRows = kPackRows / 2;

// Halves per microkernel call: both for 1-2 tokens (decode), else one (register budget).
constexpr int halves_for(int tokens) {
  return tokens <= 2 ? 2 : 1;
}

// 4 activation bytes broadcast to every 32-bit lane.
inline __m256i bcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

inline __m256i load(const uint8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

// 8 fp16 values (one per row of a half) to f32: exact, as fp16_to_f32.
inline __m256 load_f16x8(const void* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(static_cast<const __m128i*>(p)));
}

// The 8 bytes at p (one per row of a half) as int16 pairs (x, x) in each 32-bit lane, the form in
// which vpmaddwd multiplies both int16 sums of a lane by the row's scale.
inline __m256i u8_scale_pairs(const uint8_t* p) {
  const __m256i x = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  return _mm256_or_si256(x, _mm256_slli_epi32(x, 16));
}

// Rows [8h, 8h + 8) of y from the lanes of v; rows: the group's rows (< 16 in a last group).
inline void store_half(__m256 v, float* y, int h, int64_t rows) {
  const int64_t n = std::min<int64_t>(kHalfRows, rows - kHalfRows * h);
  if (n >= kHalfRows) {
    _mm256_storeu_ps(y + kHalfRows * h, v);
  } else if (n > 0) {
    float tmp[kHalfRows];
    _mm256_storeu_ps(tmp, v);
    std::memcpy(y + kHalfRows * h, tmp, size_t(n) * sizeof(float));
  }
}

// The per-token activation rows of a call, and its accumulators: zeroed, then stored per half.
template <class B, int T>
[[gnu::always_inline]] inline void act_rows(const uint8_t* a, size_t as, const B* (&ab)[T]) {
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) ab[t] = reinterpret_cast<const B*>(a + t * as);
}
// Zeroes per half and token: float accumulators or int sums (V{} is the all-zero register).
template <class V, int kH, int T>
[[gnu::always_inline]] inline void zero_acc(V (&acc)[kH][T]) {
  SILICA_UNROLL
  for (int hh = 0; hh < kH; ++hh) {
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) acc[hh][t] = V{};
  }
}
template <int kH, int T>
[[gnu::always_inline]] inline void store_acc(const __m256 (&acc)[kH][T], float* y, int64_t ys,
                                             int h0, int64_t rows) {
  SILICA_UNROLL
  for (int hh = 0; hh < kH; ++hh) {
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) store_half(acc[hh][t], y + t * ys, h0 + hh, rows);
  }
}

// ---- Q4_0 / Q8_0: per block and token, isum = sum(w * a) exactly in int32, then
// acc = fma(float(isum), dw * da, acc).

// Q4_0: stored piece j holds pieces j (low nibbles) and j + 4 (high nibbles), values 0..15.
// A block's int16 sums stay within 8 * 2 * 15 * 128 = 30720: one widening per block.
struct Q4_0Avx2 {
  static constexpr int64_t kValueBytes = 256;
  static constexpr int kSteps = 4;
  template <int T>
  [[gnu::always_inline]] static inline void step(const uint8_t* v, int j, const int8_t* (&aq)[T],
                                                 __m256i (&s)[T]) {
    const __m256i low = _mm256_set1_epi8(0x0f);
    const __m256i p = load(v + 64 * j);
    const __m256i lo = _mm256_and_si256(p, low),
                  hi = _mm256_and_si256(_mm256_srli_epi16(p, 4), low);
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) {
      const __m256i plo = _mm256_maddubs_epi16(lo, bcast4(aq[t] + 4 * j));
      const __m256i phi = _mm256_maddubs_epi16(hi, bcast4(aq[t] + 16 + 4 * j));
      s[t] = _mm256_add_epi16(s[t], _mm256_add_epi16(plo, phi));
      keep_in_register<T>(s[t]);
    }
  }
  // The block's int32 sum: the int16 pairs widened, plus the activations' offset term.
  static inline __m256i finish(__m256i s, const PackedActBlock& ab) {
    return _mm256_add_epi32(_mm256_madd_epi16(s, _mm256_set1_epi16(1)), _mm256_set1_epi32(ab.neg));
  }
};

// Q8_0: the stored bytes are w + 128; w itself (top bit flipped) goes through |w| * sign(a, w),
// which is sum(w * a) exactly without the offset term: |w| <= 128 and |a| <= 127 (activations
// never hold -128), so a pair is at most 32512 and each pair is widened at once.
struct Q8_0Avx2 {
  static constexpr int64_t kValueBytes = 512;
  static constexpr int kSteps = 8;
  template <int T>
  [[gnu::always_inline]] static inline void step(const uint8_t* v, int j, const int8_t* (&aq)[T],
                                                 __m256i (&s)[T]) {
    const __m256i w = _mm256_xor_si256(load(v + 64 * j), _mm256_set1_epi8(char(0x80)));
    const __m256i u = _mm256_abs_epi8(w);
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) {
      const __m256i pairs = _mm256_maddubs_epi16(u, _mm256_sign_epi8(bcast4(aq[t] + 4 * j), w));
      s[t] = _mm256_add_epi32(s[t], _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
      keep_in_register<T>(s[t]);
    }
  }
  static inline __m256i finish(__m256i s, const PackedActBlock&) { return s; }
};

// kH halves from half h0 of one group x T tokens over nb blocks.
template <class W, int T, int kH>
void micro_q0(const uint8_t* g, int64_t nb, const uint8_t* a, size_t as, float* y, int64_t ys,
              int64_t rows, int h0) {
  const PackedActBlock* ab[T];
  act_rows(a, as, ab);
  __m256 acc[kH][T];
  zero_acc(acc);
  // A decode (1-2 tokens) streams without software prefetch (x86/prefetch.h); the second
  // half's pass finds the lines in cache.
  for (int64_t b = 0; b < nb; ++b) {
    if constexpr (T > 2)
      if (h0 == 0) q0_prefetch_pair<W::kValueBytes>(g, b);
    const uint8_t* v = q0_values(g, b, W::kValueBytes);
    const uint16_t* scales = q0_scales(g, b, W::kValueBytes);
    const int8_t* aq[T];
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) aq[t] = ab[t][b].qs;
    SILICA_UNROLL
    for (int hh = 0; hh < kH; ++hh) {
      const int h = h0 + hh;
      __m256i s[T];
      SILICA_UNROLL
      for (int t = 0; t < T; ++t) s[t] = _mm256_setzero_si256();
      const __m256 dw = load_f16x8(scales + kHalfRows * h);  // they lead the pair in memory
      SILICA_UNROLL
      for (int j = 0; j < W::kSteps; ++j) W::template step<T>(v + 32 * h, j, aq, s);
      SILICA_UNROLL
      for (int t = 0; t < T; ++t) {
        const __m256 sc = _mm256_mul_ps(dw, _mm256_set1_ps(ab[t][b].d));
        acc[hh][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(W::finish(s[t], ab[t][b])), sc, acc[hh][t]);
      }
    }
  }
  store_acc(acc, y, ys, h0, rows);
}

// ---- Q4_K: per super-block and token, isc = sum_s sc_s * isum_s (the scale applied by vpmaddwd
// on the sub-block's int16 sums) and imin = sum_s m_s * bsum_s, then the twin's two FMAs.
template <int T, int kH>
void micro_q4_K(const uint8_t* g, int64_t nb, const uint8_t* a, size_t as, float* y, int64_t ys,
                int64_t rows, int h0) {
  const PackedActBlockK* ab[T];
  act_rows(a, as, ab);
  __m256 acc[kH][T];
  zero_acc(acc);
  const __m256i low = _mm256_set1_epi8(0x0f);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* sb = g + b * kPackQ4_KBytes;
    // The next super-block: at once in a prefill; in a decode a line or two per step below.
    if (T > 2 && h0 == 0) prefetch_lines(sb, kPackQ4_KBytes, kPackQ4_KBytes);
    // Sub-blocks 2k and 2k + 1 are the low and high nibbles of the same stored pieces: each
    // piece is loaded once for both, and each activation broadcast serves every half (was a
    // sub-block a step, with a branch on the nibble: packed_matmul1/q4_K 8192x2048 one core
    // 634 -> 523 us, packed_matmul8 2287 -> 2160, median of 15, interleaved).
    __m256i isc[kH][T];
    zero_acc(isc);
    for (int k = 0; k < 4; ++k) {
      // 8 pieces of 2 * 15 * 128 per sub-block: at most 30720, no saturation.
      __m256i s_lo[kH][T], s_hi[kH][T];
      zero_acc(s_lo);
      zero_acc(s_hi);
      SILICA_UNROLL
      for (int c = 0; c < 8; ++c) {
        if constexpr (T <= 2) spread_prefetch<kPackQ4_KBytes, 32>(sb + kPackQ4_KBytes, 8 * k + c);
        __m256i a_lo[T], a_hi[T];
        SILICA_UNROLL
        for (int t = 0; t < T; ++t) {
          a_lo[t] = bcast4(ab[t][b].qs + 64 * k + 4 * c);
          a_hi[t] = bcast4(ab[t][b].qs + 64 * k + 32 + 4 * c);
        }
        SILICA_UNROLL
        for (int hh = 0; hh < kH; ++hh) {
          const __m256i p = load(sb + kQ4KNibbles + k * 512 + 64 * c + 32 * (h0 + hh));
          const __m256i w_lo = _mm256_and_si256(p, low);
          const __m256i w_hi = _mm256_and_si256(_mm256_srli_epi16(p, 4), low);
          SILICA_UNROLL
          for (int t = 0; t < T; ++t) {
            s_lo[hh][t] = _mm256_add_epi16(s_lo[hh][t], _mm256_maddubs_epi16(w_lo, a_lo[t]));
            s_hi[hh][t] = _mm256_add_epi16(s_hi[hh][t], _mm256_maddubs_epi16(w_hi, a_hi[t]));
            keep_in_register<T>(s_lo[hh][t]);
            keep_in_register<T>(s_hi[hh][t]);
          }
        }
      }
      SILICA_UNROLL
      for (int hh = 0; hh < kH; ++hh) {
        const uint8_t* scales = sb + kQ4KScales + 2 * k * kPackRows + kHalfRows * (h0 + hh);
        const __m256i sc_lo = u8_scale_pairs(scales), sc_hi = u8_scale_pairs(scales + kPackRows);
        SILICA_UNROLL
        for (int t = 0; t < T; ++t)
          isc[hh][t] =
              _mm256_add_epi32(isc[hh][t], _mm256_add_epi32(_mm256_madd_epi16(s_lo[hh][t], sc_lo),
                                                            _mm256_madd_epi16(s_hi[hh][t], sc_hi)));
      }
    }
    SILICA_UNROLL
    for (int hh = 0; hh < kH; ++hh) {
      const int h = h0 + hh;
      const __m256 dw = load_f16x8(sb + kQ4KD + 2 * kHalfRows * h);
      const __m256 dm = load_f16x8(sb + kQ4KDmin + 2 * kHalfRows * h);
      __m256i mins[4];  // (m, m') of sub-blocks (2k, 2k+1) as int16 pairs
      SILICA_UNROLL
      for (int k = 0; k < 4; ++k)
        mins[k] = _mm256_cvtepu8_epi16(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(sb + kQ4KMins + 32 * k + 16 * h)));
      SILICA_UNROLL
      for (int t = 0; t < T; ++t) {
        __m256i imin = _mm256_setzero_si256();
        SILICA_UNROLL
        for (int k = 0; k < 4; ++k) {
          int32_t pair;
          std::memcpy(&pair, ab[t][b].bsum + 2 * k, 4);
          imin = _mm256_add_epi32(imin, _mm256_madd_epi16(mins[k], _mm256_set1_epi32(pair)));
        }
        const __m256 da = _mm256_set1_ps(ab[t][b].d);
        __m256 r =
            _mm256_fmadd_ps(_mm256_cvtepi32_ps(isc[hh][t]), _mm256_mul_ps(dw, da), acc[hh][t]);
        acc[hh][t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(imin), _mm256_mul_ps(dm, da), r);
      }
    }
  }
  store_acc(acc, y, ys, h0, rows);
}

// Piece j (elements 4j..4j+3) of half h of a packed Q6_K super-block as unsigned 6-bit values;
// kQuarter = j / 16 (kernels/packed.h): one AND for the first three quarters, the tops of the
// triple's three vectors for the fourth (masked before each shift: no byte shift in AVX2).
template <int kQuarter>
[[gnu::always_inline]] inline __m256i q6_K_piece(const uint8_t* sb, int j, int h) {
  const int k = j % 16;
  if constexpr (kQuarter < 3)
    return _mm256_and_si256(load(sb + q6k_vec_at(k, kQuarter) + 32 * h), _mm256_set1_epi8(0x3f));
  const __m256i top = _mm256_set1_epi8(char(0xc0));
  __m256i v = _mm256_and_si256(load(sb + q6k_vec_at(k, 0) + 32 * h), top);  // bits 0-1 of q
  v = _mm256_or_si256(_mm256_srli_epi16(v, 2),
                      _mm256_and_si256(load(sb + q6k_vec_at(k, 1) + 32 * h), top));
  v = _mm256_or_si256(_mm256_srli_epi16(v, 2),
                      _mm256_and_si256(load(sb + q6k_vec_at(k, 2) + 32 * h), top));
  return _mm256_srli_epi16(v, 2);
}

// Picks the even (first) or odd (second) int16 of each 32-bit lane into both of its halves.
inline __m256i dup_pair_half(__m256i pairs, int odd) {
  const __m256i even = _mm256_setr_epi8(0, 1, 0, 1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13, 0, 1, 0,
                                        1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13);
  return _mm256_shuffle_epi8(pairs, odd ? _mm256_add_epi8(even, _mm256_set1_epi8(2)) : even);
}

// isc[hh][t] += sc[hh] * dot for sub-block sub (pieces 4 sub..+3, in quarter kQuarter) of halves
// h0..h0 + kH - 1: two pieces' int16 sums at a time (at most 2 * 2 * 63 * 128 = 32256); each
// activation broadcast serves every half. A decode (pf set) spreads its prefetch of the next
// super-block over the steps.
template <int T, int kH, int kQuarter>
[[gnu::always_inline]] inline void q6_K_sub_block(const uint8_t* sb, int h0,
                                                  const BlockQ8_K* (&ab)[T], int64_t b, int sub,
                                                  const __m256i (&sc)[kH], __m256i (&isc)[kH][T],
                                                  const uint8_t* pf, int step) {
  SILICA_UNROLL
  for (int c = 0; c < 4; c += 2) {
    if constexpr (T <= 2) spread_prefetch<kPackQ6_KBytes, 32>(pf, step + c / 2);
    __m256i a0[T], a1[T];
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) {
      const int8_t* aq = ab[t][b].qs + 16 * sub + 4 * c;
      a0[t] = bcast4(aq);
      a1[t] = bcast4(aq + 4);
    }
    SILICA_UNROLL
    for (int hh = 0; hh < kH; ++hh) {
      const __m256i w0 = q6_K_piece<kQuarter>(sb, 4 * sub + c, h0 + hh);
      const __m256i w1 = q6_K_piece<kQuarter>(sb, 4 * sub + c + 1, h0 + hh);
      SILICA_UNROLL
      for (int t = 0; t < T; ++t) {
        const __m256i sum =
            _mm256_add_epi16(_mm256_maddubs_epi16(w0, a0[t]), _mm256_maddubs_epi16(w1, a1[t]));
        isc[hh][t] = _mm256_add_epi32(isc[hh][t], _mm256_madd_epi16(sum, sc[hh]));
        keep_in_register<T>(isc[hh][t]);
      }
    }
  }
}

// Sub-blocks 2k and 2k + 1 (pieces 8k..8k + 7, all in quarter kQuarter), for a prompt.
template <int T, int kH, int kQuarter>
[[gnu::always_inline]] inline void q6_K_sub_pair(const uint8_t* sb, int h0,
                                                 const BlockQ8_K* (&ab)[T], int64_t b,
                                                 __m256i (&isc)[kH][T], int k) {
  __m256i pairs[kH];
  SILICA_UNROLL
  for (int hh = 0; hh < kH; ++hh)
    pairs[hh] = _mm256_cvtepi8_epi16(_mm_loadu_si128(
        reinterpret_cast<const __m128i*>(sb + kQ6KScales + 32 * k + 16 * (h0 + hh))));
  SILICA_UNROLL
  for (int odd = 0; odd < 2; ++odd) {
    __m256i sc[kH];
    SILICA_UNROLL
    for (int hh = 0; hh < kH; ++hh) sc[hh] = dup_pair_half(pairs[hh], odd);
    q6_K_sub_block<T, kH, kQuarter>(sb, h0, ab, b, 2 * k + odd, sc, isc, nullptr, 0);
  }
}

// For a prompt: the 4 sub-blocks of 16 of quarter kQuarter (pieces 16 kQuarter..+15), the two
// sub-block pairs written out, so that every offset is a constant, with a prefetch once a
// super-block (micro_q6_K), not decode's spread prefetch (packed_matmul64/q6_K 8192x2048 two
// cores 10.3-13.2 -> 8.9-10.5 ms, interleaved).
template <int T, int kH, int kQuarter>
[[gnu::always_inline]] inline void q6_K_quarter(const uint8_t* sb, int h0,
                                                const BlockQ8_K* (&ab)[T], int64_t b,
                                                __m256i (&isc)[kH][T]) {
  q6_K_sub_pair<T, kH, kQuarter>(sb, h0, ab, b, isc, 2 * kQuarter);
  q6_K_sub_pair<T, kH, kQuarter>(sb, h0, ab, b, isc, 2 * kQuarter + 1);
}

// For a decode: isc[hh][t] += sc * dot for sub-block s + 4 kQuarter, whose pieces are piece
// kQuarter of triples 4s..4s+3 (kernels/packed.h), two pieces' int16 sums at a time. Called for
// the 4 quarters of column s in turn, the loads sweep the column's 12 lines three times, forward
// (kQuarter 3 finds them in L1); the quarter order above swept the whole super-block, which with
// this layout streamed 0.59 of the read probe where the layout before read 0.69 (Zen 4, one core,
// interleaved).
template <int T, int kH, int kQuarter>
[[gnu::always_inline]] inline void q6_K_column_quarter(const uint8_t* sb, int h0,
                                                       const BlockQ8_K* (&ab)[T], int64_t b,
                                                       __m256i (&isc)[kH][T], const uint8_t* pf,
                                                       int s) {
  const int sub = s + 4 * kQuarter;
  __m256i sc[kH];
  SILICA_UNROLL
  for (int hh = 0; hh < kH; ++hh)
    sc[hh] = dup_pair_half(_mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(
                               sb + kQ6KScales + 32 * (sub / 2) + 16 * (h0 + hh)))),
                           sub % 2);
  q6_K_sub_block<T, kH, kQuarter>(sb, h0, ab, b, sub, sc, isc, pf, 8 * s + 2 * kQuarter);
}

// ---- Q6_K: values 0..63; per sub-block of 16 the int16 sums times the int8 scale by vpmaddwd
// (q6_K_quarter); the -32 offset as -32 * sum(sc * bsum); one FMA per super-block and token.
// kH halves from half h0 a call (see q6_K_table).
template <int T, int kH>
void micro_q6_K(const uint8_t* g, int64_t nb, const uint8_t* a, size_t as, float* y, int64_t ys,
                int64_t rows, int h0) {
  const BlockQ8_K* ab[T];
  act_rows(a, as, ab);
  __m256 acc[kH][T];
  zero_acc(acc);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* sb = g + b * kPackQ6_KBytes;
    // The next super-block, a line or two per step. With one half a call, a decode's half 0
    // streams the group from DRAM and half 1 finds it in cache, so half 1 fetches the next
    // group's lines meanwhile (else DRAM idles through half 1: packed_stream/q6_K one core
    // 6.8 -> 9.0 GB/s, median of 9, interleaved).
    const uint8_t* pf = sb + (kH == 1 && h0 == 1 && T <= 2 ? size_t(nb) : 1) * kPackQ6_KBytes;
    if (T > 2 && h0 == 0) prefetch_lines(sb, kPackQ6_KBytes, kPackQ6_KBytes);
    __m256i isc[kH][T];
    zero_acc(isc);
    if constexpr (T > 2) {
      q6_K_quarter<T, kH, 0>(sb, h0, ab, b, isc);
      q6_K_quarter<T, kH, 1>(sb, h0, ab, b, isc);
      q6_K_quarter<T, kH, 2>(sb, h0, ab, b, isc);
      q6_K_quarter<T, kH, 3>(sb, h0, ab, b, isc);
    } else {
      for (int s = 0; s < 4; ++s) {
        q6_K_column_quarter<T, kH, 0>(sb, h0, ab, b, isc, pf, s);
        q6_K_column_quarter<T, kH, 1>(sb, h0, ab, b, isc, pf, s);
        q6_K_column_quarter<T, kH, 2>(sb, h0, ab, b, isc, pf, s);
        q6_K_column_quarter<T, kH, 3>(sb, h0, ab, b, isc, pf, s);
      }
    }
    SILICA_UNROLL
    for (int hh = 0; hh < kH; ++hh) {
      const int h = h0 + hh;
      __m256i pairs[8];
      SILICA_UNROLL
      for (int k = 0; k < 8; ++k)
        pairs[k] = _mm256_cvtepi8_epi16(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(sb + kQ6KScales + 32 * k + 16 * h)));
      const __m256 dw = load_f16x8(sb + kQ6KD + 2 * kHalfRows * h);
      SILICA_UNROLL
      for (int t = 0; t < T; ++t) {
        __m256i ioff = _mm256_setzero_si256();
        SILICA_UNROLL
        for (int k = 0; k < 8; ++k) {
          int32_t bs;
          std::memcpy(&bs, ab[t][b].bsums + 2 * k, 4);
          ioff = _mm256_add_epi32(ioff, _mm256_madd_epi16(pairs[k], _mm256_set1_epi32(bs)));
        }
        const __m256i total = _mm256_sub_epi32(isc[hh][t], _mm256_slli_epi32(ioff, 5));
        acc[hh][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total),
                                     _mm256_mul_ps(dw, _mm256_set1_ps(ab[t][b].d)), acc[hh][t]);
      }
    }
  }
  store_acc(acc, y, ys, h0, rows);
}

// ---- Driving: a whole group from a microkernel over kH halves at a time.
using HalfFn = void (*)(const uint8_t*, int64_t, const uint8_t*, size_t, float*, int64_t, int64_t,
                        int);
using MicroFn = void (*)(const uint8_t*, int64_t, const uint8_t*, size_t, float*, int64_t, int64_t);

template <HalfFn kFn, int kH>
void whole_group(const uint8_t* g, int64_t nb, const uint8_t* a, size_t as, float* y, int64_t ys,
                 int64_t rows) {
  for (int h0 = 0; h0 < 2; h0 += kH) kFn(g, nb, a, as, y, ys, rows, h0);
}

// Tokens per microkernel call (accumulators in the 16 ymm registers).
constexpr int kMaxTokQ0 = 4, kMaxTokK = 4;

template <int... Ts>
constexpr std::array<MicroFn, sizeof...(Ts)> q4_0_table(std::integer_sequence<int, Ts...>) {
  return {&whole_group<&micro_q0<Q4_0Avx2, Ts + 1, halves_for(Ts + 1)>, halves_for(Ts + 1)>...};
}
template <int... Ts>
constexpr std::array<MicroFn, sizeof...(Ts)> q8_0_table(std::integer_sequence<int, Ts...>) {
  return {&whole_group<&micro_q0<Q8_0Avx2, Ts + 1, halves_for(Ts + 1)>, halves_for(Ts + 1)>...};
}
template <int... Ts>
constexpr std::array<MicroFn, sizeof...(Ts)> q4_K_table(std::integer_sequence<int, Ts...>) {
  return {&whole_group<&micro_q4_K<Ts + 1, halves_for(Ts + 1)>, halves_for(Ts + 1)>...};
}
// Q6_K takes both halves a call for one token (each broadcast serves both halves, each
// super-block streams once: packed_stream/q6_K one core 8.3 -> 11.1 GB/s, median of 9,
// interleaved); more tokens keep one half a call (both halves for two tokens spill: 173 stack
// accesses, packed_matmul2/q6_K 1165 -> 1134 us only, median of 15).
constexpr int q6_K_halves(int tokens) {
  return tokens == 1 ? 2 : 1;
}
template <int... Ts>
constexpr std::array<MicroFn, sizeof...(Ts)> q6_K_table(std::integer_sequence<int, Ts...>) {
  return {&whole_group<&micro_q6_K<Ts + 1, q6_K_halves(Ts + 1)>, q6_K_halves(Ts + 1)>...};
}
// Tokens outer, groups inner: max_t tokens' activations stay in L1 while the tile's groups
// stream from L2. fns[t - 1] is the microkernel for t tokens; nb blocks per row.
void drive_tiles(const MicroFn* fns, int max_t, int64_t nb, const void* g, size_t g_bytes,
                 int64_t n_groups, int64_t n_rows, const void* a, size_t as, int64_t n_tok,
                 float* y, int64_t ys) {
  const auto* gb = static_cast<const uint8_t*>(g);
  const auto* abytes = static_cast<const uint8_t*>(a);
  for (int64_t t = 0; t < n_tok; t += max_t) {
    const int tt = int(std::min<int64_t>(max_t, n_tok - t));
    for (int64_t gi = 0; gi < n_groups; ++gi)
      fns[tt - 1](gb + size_t(gi) * g_bytes, nb, abytes + t * as, as, y + t * ys + gi * kPackRows,
                  ys, std::min<int64_t>(kPackRows, n_rows - gi * kPackRows));
  }
}

template <const auto& kFns, int kBlock>
void tile(const void* g, size_t g_bytes, int64_t n_groups, int64_t n_rows, const void* a, size_t as,
          int64_t n_tok, int64_t n, float* y, int64_t ys) {
  drive_tiles(kFns.data(), int(kFns.size()), n / kBlock, g, g_bytes, n_groups, n_rows, a, as, n_tok,
              y, ys);
}

constexpr auto kQ4_0Fns = q4_0_table(std::make_integer_sequence<int, kMaxTokQ0>());
constexpr auto kQ8_0Fns = q8_0_table(std::make_integer_sequence<int, kMaxTokQ0>());
constexpr auto kQ4_KFns = q4_K_table(std::make_integer_sequence<int, kMaxTokK>());
constexpr auto kQ6_KFns = q6_K_table(std::make_integer_sequence<int, kMaxTokK>());

}  // namespace

PackedTileFn avx2_packed_tile(DType t) {
  switch (t) {
    case DType::kQ4_0:
      return &tile<kQ4_0Fns, 32>;
    case DType::kQ8_0:
      return &tile<kQ8_0Fns, 32>;
    case DType::kQ4_K:
      return &tile<kQ4_KFns, 256>;
    case DType::kQ6_K:
      return &tile<kQ6_KFns, 256>;
    default:
      return nullptr;
  }
}

int avx2_packed_tile_tokens(DType t) {
  if (t == DType::kQ4_K || t == DType::kQ6_K) return kMaxTokK;
  return kMaxTokQ0;
}

}  // namespace silica::kernels_internal

// AVX-512 tiles over packed groups (kernels/packed.h). For Q4_0 / Q8_0 (VNNI): one vpdpbusd takes a
// 4-byte piece of 16 rows against the same 4 activation bytes broadcast, so a 32-element block
// costs 8 vpdpbusd for 16 rows, and its float work (convert, scale, accumulate) is one vector
// for all 16 rows: a quarter of the instructions per weight of the unpacked tiles.
//
// Per lane (row) and token the float operations are exactly those of tile_ref in packed.cc:
// acc = fma(float(isum_b), dw_b * da_b, acc) in block order, so every tile size, token count
// and thread split gives the same bits. Integer sums are exact, so how they are split is free.
// GCC 12's _mm512_cvtph_ps passes _mm512_undefined_ps() as its unused merge source, which
// -Wmaybe-uninitialized reports once inlined into the half tiles.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "kernels/kernel_tables.h"
#include "kernels/packed.h"
#include "kernels/x86/avx512_packed_q4k.h"
#include "kernels/x86/avx512_packed_q6k.h"
#include "kernels/x86/prefetch.h"
#include "tensor/blocks.h"

#define SILICA_UNROLL _Pragma("GCC unroll 16")
#define SILICA_UNROLL_2 _Pragma("GCC unroll 2")

namespace silica::kernels_internal {
namespace {

// Tokens per microkernel call: 10 accumulators + 10 int sums + 8 weight vectors + the scales fit
// the 32 zmm (10 measured ~8% faster than 8 on Zen 4: the unpacking is shared by more tokens).
constexpr int kMaxTok = 10;
// The F16 / BF16 tiles prefetch this many bytes ahead of the line they read (the quantized
// tiles' prefetch is in x86/prefetch.h).
constexpr int kPrefetchBytes = 2048;

struct Q4_0Packed {
  static constexpr int64_t kValueBytes = 256;
  // With kHigh16, wv[4..7] hold the high nibbles in place (16 x nibble: one AND, no shift), and
  // their dot products come out 16 times too large: exact, so one shift of their sum undoes it.
  template <bool kHigh16>
  [[gnu::always_inline]] static inline void load(const uint8_t* v, __m512i (&wv)[8]) {
    const __m512i low = _mm512_set1_epi8(0x0f), high = _mm512_set1_epi8(char(0xf0));
    SILICA_UNROLL
    for (int j = 0; j < 4; ++j) {
      const __m512i p = _mm512_loadu_si512(v + 64 * j);
      wv[j] = _mm512_and_si512(p, low);
      wv[j + 4] =
          kHigh16 ? _mm512_and_si512(p, high) : _mm512_and_si512(_mm512_srli_epi16(p, 4), low);
    }
  }
  static constexpr bool kHasHigh16 = true;
};

struct Q8_0Packed {
  static constexpr int64_t kValueBytes = 512;
  template <bool>
  [[gnu::always_inline]] static inline void load(const uint8_t* v, __m512i (&wv)[8]) {
    SILICA_UNROLL
    for (int j = 0; j < 8; ++j) wv[j] = _mm512_loadu_si512(v + 64 * j);
  }
  static constexpr bool kHasHigh16 = false;
};

// acc + the dots of w's unsigned bytes with the 4 signed activation bytes at p, broadcast to
// every 32-bit lane. As an embedded broadcast ({1to16}) the load is part of the vpdpbusd, one
// instruction instead of two (GCC 12 keeps a separate vpbroadcastd for the intrinsic form).
[[gnu::always_inline]] inline __m512i dpbusd_bcast(__m512i acc, __m512i w, const int8_t* p) {
  using Word = int32_t __attribute__((may_alias));
  asm("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(w), "m"(*reinterpret_cast<const Word*>(p)));
  return acc;
}

// The sum of n int32 chains (n = 1, 2 or 4), pairwise.
template <int N>
[[gnu::always_inline]] inline __m512i add_chains(const __m512i (&c)[N]) {
  static_assert(N == 1 || N == 2 || N == 4);
  if constexpr (N == 1) return c[0];
  if constexpr (N == 2) return _mm512_add_epi32(c[0], c[1]);
  if constexpr (N == 4)
    return _mm512_add_epi32(_mm512_add_epi32(c[0], c[1]), _mm512_add_epi32(c[2], c[3]));
}

// One group (16 rows) x T tokens over all nb blocks.
template <class W, int T>
void micro(const uint8_t* g, int64_t nb, const uint8_t* a, size_t as, float* y, int64_t ys,
           __mmask16 store_mask) {
  const PackedActBlock* ab[T];
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) ab[t] = reinterpret_cast<const PackedActBlock*>(a + t * as);
  __m512 acc[T];
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  // A decode (1-2 tokens) streams without software prefetch: the group is one stream in read
  // order, which the hardware prefetcher follows further ahead (x86/prefetch.h).
  for (int64_t b = 0; b < nb; ++b) {
    if constexpr (T > 2) q0_prefetch_pair<W::kValueBytes>(g, b);
    // Scales first: they lead the pair in memory, and the stream is read in address order.
    const __m512 dw = _mm512_cvtph_ps(
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q0_scales(g, b, W::kValueBytes))));
    // A decode has registers to spare for the high nibbles' own chains (see Q4_0Packed).
    constexpr bool kHigh16 = W::kHasHigh16 && T <= 2;
    __m512i wv[8];
    W::template load<kHigh16>(q0_values(g, b, W::kValueBytes), wv);
    // Several int chains per token when few tokens give the core too little independent work;
    // with kHigh16 the first half of them take the low nibbles, the second half the high.
    constexpr int kChains = T == 1 ? 4 : T == 2 ? 2 : 1;
    constexpr int kHalf = kHigh16 ? kChains / 2 : kChains;
    static_assert(!kHigh16 || kChains % 2 == 0);
    __m512i isum[T][kChains];
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) {
      isum[t][0] = _mm512_set1_epi32(ab[t][b].neg);
      SILICA_UNROLL
      for (int c = 1; c < kChains; ++c) isum[t][c] = _mm512_setzero_si512();
    }
    SILICA_UNROLL
    for (int j = 0; j < 8; ++j) {
      const int c = kHigh16 ? (j < 4 ? j % kHalf : kHalf + j % kHalf) : j % kChains;
      SILICA_UNROLL
      for (int t = 0; t < T; ++t) isum[t][c] = dpbusd_bcast(isum[t][c], wv[j], ab[t][b].qs + 4 * j);
    }
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) {
      __m512i s;
      if constexpr (kHigh16) {
        __m512i lo[kHalf], hi[kHalf];
        SILICA_UNROLL
        for (int c = 0; c < kHalf; ++c) lo[c] = isum[t][c], hi[c] = isum[t][kHalf + c];
        s = _mm512_add_epi32(add_chains(lo), _mm512_srai_epi32(add_chains(hi), 4));
      } else {
        s = add_chains(isum[t]);
      }
      const __m512 sc = _mm512_mul_ps(dw, _mm512_set1_ps(ab[t][b].d));
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), sc, acc[t]);
    }
  }
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * ys, store_mask, acc[t]);
}

using MicroFn = void (*)(const uint8_t*, int64_t, const uint8_t*, size_t, float*, int64_t,
                         __mmask16);
template <class W, int... Ts>
constexpr std::array<MicroFn, sizeof...(Ts)> micro_table(std::integer_sequence<int, Ts...>) {
  return {&micro<W, Ts + 1>...};
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
    for (int64_t gi = 0; gi < n_groups; ++gi) {
      const int64_t rows = std::min<int64_t>(kPackRows, n_rows - gi * kPackRows);
      const __mmask16 m = rows >= 16 ? __mmask16(0xffff) : __mmask16((1u << rows) - 1);
      fns[tt - 1](gb + size_t(gi) * g_bytes, nb, abytes + t * as, as, y + t * ys + gi * kPackRows,
                  ys, m);
    }
  }
}

template <class W>
void tile(const void* g, size_t g_bytes, int64_t n_groups, int64_t n_rows, const void* a, size_t as,
          int64_t n_tok, int64_t n, float* y, int64_t ys) {
  static constexpr auto kFns = micro_table<W>(std::make_integer_sequence<int, kMaxTok>());
  drive_tiles(kFns.data(), kMaxTok, n / 32, g, g_bytes, n_groups, n_rows, a, as, n_tok, y, ys);
}

// ---- Q4_K: per super-block and token, 64 vpdpbusd (8 per sub-block of 32 for 16 rows), the
// sub-block scales applied in int32 (vpmulld), the mins by 4 vpdpwssd on (m, m') x (bsum, bsum')
// pairs, then two float FMAs. Fewer tokens per call than Q4_0: three int vectors per token.
constexpr int kMaxTokK = 6;
constexpr int kMaxTokQ6K = 10;

// isc[t] += sc * dot for sub-blocks 2k and 2k + 1 of super-block b, for a decode: each stored
// piece loaded once for both (low and high nibbles), several dot chains per sub-block (short
// chains leave the core room to keep more of the stream's loads in flight). The high nibbles
// stay in place (16 x nibble, one AND instead of a shift and an AND), and one shift of their
// exact sum takes the 16 out again.
template <int T>
[[gnu::always_inline]] inline void q4_K_pair(const uint8_t* sb, const PackedActBlockK* (&ab)[T],
                                             int64_t b, int k, __m512i (&isc)[T]) {
  constexpr int kChains = T == 1 ? 4 : 2;
  const __m512i low = _mm512_set1_epi8(0x0f), high = _mm512_set1_epi8(char(0xf0));
  __m512i lo[T][kChains], hi[T][kChains];
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) {
    SILICA_UNROLL
    for (int c = 0; c < kChains; ++c) lo[t][c] = hi[t][c] = _mm512_setzero_si512();
  }
  SILICA_UNROLL
  for (int c = 0; c < 8; ++c) {
    const __m512i p = _mm512_loadu_si512(sb + kQ4KNibbles + k * 512 + 64 * c);
    const __m512i wl = _mm512_and_si512(p, low);
    const __m512i wh16 = _mm512_and_si512(p, high);
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) {
      const int8_t* aq = ab[t][b].qs + 64 * k + 4 * c;
      lo[t][c % kChains] = dpbusd_bcast(lo[t][c % kChains], wl, aq);
      hi[t][c % kChains] = dpbusd_bcast(hi[t][c % kChains], wh16, aq + 32);
    }
  }
  const __m512i sc_lo = q4_K_sub_scales(sb, 2 * k), sc_hi = q4_K_sub_scales(sb, 2 * k + 1);
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) {
    isc[t] = _mm512_add_epi32(isc[t], _mm512_mullo_epi32(add_chains(lo[t]), sc_lo));
    const __m512i hi_sum = _mm512_srai_epi32(add_chains(hi[t]), 4);
    isc[t] = _mm512_add_epi32(isc[t], _mm512_mullo_epi32(hi_sum, sc_hi));
  }
}

// isc[t] += sc * dot for sub-block sub of super-block b, for a prompt (in cache; more tokens
// share each unpacked piece).
template <int T>
[[gnu::always_inline]] inline void q4_K_sub(const uint8_t* sb, const PackedActBlockK* (&ab)[T],
                                            int64_t b, int sub, __m512i (&isc)[T]) {
  const __m512i low = _mm512_set1_epi8(0x0f);
  const uint8_t* pieces = sb + kQ4KNibbles + (sub / 2) * 512;
  __m512i wv[8];
  SILICA_UNROLL
  for (int c = 0; c < 8; ++c) {
    const __m512i p = _mm512_loadu_si512(pieces + 64 * c);
    wv[c] = _mm512_and_si512(sub % 2 ? _mm512_srli_epi16(p, 4) : p, low);
  }
  const __m512i sc = q4_K_sub_scales(sb, sub);
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) {
    const int8_t* aq = ab[t][b].qs + 32 * sub;
    __m512i s0 = dpbusd_bcast(_mm512_setzero_si512(), wv[0], aq);
    __m512i s1 = dpbusd_bcast(_mm512_setzero_si512(), wv[1], aq + 4);
    SILICA_UNROLL
    for (int c = 2; c < 8; c += 2) {
      s0 = dpbusd_bcast(s0, wv[c], aq + 4 * c);
      s1 = dpbusd_bcast(s1, wv[c + 1], aq + 4 * c + 4);
    }
    isc[t] = _mm512_add_epi32(isc[t], _mm512_mullo_epi32(_mm512_add_epi32(s0, s1), sc));
  }
}

// A decode (1-2 tokens) takes sub-blocks in pairs and no software prefetch: the super-block is
// one stream in address order, which the hardware prefetcher follows. packed_stream one core,
// Zen 4, medians of 5 interleaved: 26.9 GB/s (read probe 29-31) where the AVX2 half-group tile,
// which Zen 4 used for Q4_K decode until then, read 24.7 (compute in L2: 51 GB/s against 28) and
// this tile a sub-block a time with the prefetch below about 24.
template <int T>
void micro_q4_K(const uint8_t* g, int64_t nb, const uint8_t* a, size_t as, float* y, int64_t ys,
                __mmask16 store_mask) {
  const PackedActBlockK* ab[T];
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) ab[t] = reinterpret_cast<const PackedActBlockK*>(a + t * as);
  __m512 acc[T];
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* sb = g + b * kPackQ4_KBytes;
    __m512i isc[T];
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) isc[t] = _mm512_setzero_si512();
    if constexpr (T <= 2) {
      const Q4_KEnd end = q4_K_end(sb);  // d, dmin and mins lead the super-block in memory
      for (int k = 0; k < 4; ++k) q4_K_pair<T>(sb, ab, b, k, isc);
      SILICA_UNROLL
      for (int t = 0; t < T; ++t) acc[t] = q4_K_finish(end, isc[t], ab[t][b], acc[t]);
    } else {
      prefetch_lines(sb, kPackQ4_KBytes, kPackQ4_KBytes);
      for (int sub = 0; sub < 8; ++sub) q4_K_sub<T>(sb, ab, b, sub, isc);
      const Q4_KEnd end = q4_K_end(sb);
      SILICA_UNROLL
      for (int t = 0; t < T; ++t) acc[t] = q4_K_finish(end, isc[t], ab[t][b], acc[t]);
    }
  }
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * ys, store_mask, acc[t]);
}

template <int... Ts>
constexpr std::array<MicroFn, sizeof...(Ts)> micro_table_q4_K(std::integer_sequence<int, Ts...>) {
  return {&micro_q4_K<Ts + 1>...};
}

void tile_q4_K(const void* g, size_t g_bytes, int64_t n_groups, int64_t n_rows, const void* a,
               size_t as, int64_t n_tok, int64_t n, float* y, int64_t ys) {
  static constexpr auto kFns = micro_table_q4_K(std::make_integer_sequence<int, kMaxTokK>());
  drive_tiles(kFns.data(), kMaxTokK, n / 256, g, g_bytes, n_groups, n_rows, a, as, n_tok, y, ys);
}

// The int8 scales of a packed Q6_K super-block as int16 pairs (sc, sc') of sub-blocks (2k, 2k+1).
[[gnu::always_inline]] inline void q6_K_scale_pairs(const uint8_t* sb, __m512i (&pairs)[8]) {
  SILICA_UNROLL
  for (int k = 0; k < 8; ++k) pairs[k] = q6_K_scale_pair(sb, k);
}

// The scale of sub-block sub, one per row, as int32, from its pair.
[[gnu::always_inline]] inline __m512i q6_K_scale(__m512i pair, int sub) {
  return sub % 2 ? _mm512_srai_epi32(pair, 16) : _mm512_srai_epi32(_mm512_slli_epi32(pair, 16), 16);
}

// isc[t] += sc_s * dot_s for the 4 sub-blocks of quarter kQ (pieces 16kQ..16kQ + 15) of
// super-block b, for a prompt (the super-block is in cache). A loop of 2 sub-blocks a turn, not
// all 16 written out: fully unrolled, GCC hoisted loads and spilled (Zen 4, interleaved:
// packed_matmul64/q6_K 8192x2048 two cores 5.8-7.2 -> 4.6-4.7 ms).
template <int T, int kQ>
[[gnu::always_inline]] inline void q6_K_quarter(const uint8_t* sb, const BlockQ8_K* (&ab)[T],
                                                int64_t b, __m512i (&isc)[T]) {
  SILICA_UNROLL_2
  for (int sub = 4 * kQ; sub < 4 * kQ + 4; ++sub) {
    __m512i wv[4];
    SILICA_UNROLL
    for (int c = 0; c < 4; ++c) wv[c] = q6_K_piece_in<kQ>(sb, 4 * sub + c);
    const __m512i sc = q6_K_scale(q6_K_scale_pair(sb, sub / 2), sub);
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) {
      const int8_t* aq = ab[t][b].qs + 16 * sub;
      __m512i s0 = dpbusd_bcast(_mm512_setzero_si512(), wv[0], aq);
      __m512i s1 = dpbusd_bcast(_mm512_setzero_si512(), wv[1], aq + 4);
      s0 = dpbusd_bcast(s0, wv[2], aq + 8);
      s1 = dpbusd_bcast(s1, wv[3], aq + 12);
      isc[t] = _mm512_add_epi32(isc[t], _mm512_mullo_epi32(_mm512_add_epi32(s0, s1), sc));
    }
  }
}

// isc[t] += sc_s * dot_s for column s of super-block b (sub-blocks s, s+4, s+8, s+12), for a
// decode: triples k = 4s..4s+3 in address order, each loaded once for its 4 pieces k, k+16,
// k+32, k+48. The quarters' order loaded each vector more than once (with the layout before,
// in L2: 33 -> 44 GB/s, packed_matmul1/q6_K 256x1024).
template <int T>
[[gnu::always_inline]] inline void q6_K_column(const uint8_t* sb, const BlockQ8_K* (&ab)[T],
                                               int64_t b, int s, const __m512i (&pairs)[8],
                                               __m512i (&isc)[T]) {
  __m512i sum[T][4];
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) {
    SILICA_UNROLL
    for (int q = 0; q < 4; ++q) sum[t][q] = _mm512_setzero_si512();
  }
  SILICA_UNROLL
  for (int i = 0; i < 4; ++i) {
    const int k = 4 * s + i;
    __m512i w[4];  // pieces k, k + 16, k + 32, k + 48
    q6_K_triple(sb, k, w);
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) {
      SILICA_UNROLL
      for (int q = 0; q < 4; ++q)
        sum[t][q] = dpbusd_bcast(sum[t][q], w[q], ab[t][b].qs + 4 * (k + 16 * q));
    }
  }
  SILICA_UNROLL
  for (int q = 0; q < 4; ++q) {
    const int sub = 4 * q + s;
    const __m512i sc = q6_K_scale(pairs[sub / 2], sub);
    SILICA_UNROLL
    for (int t = 0; t < T; ++t)
      isc[t] = _mm512_add_epi32(isc[t], _mm512_mullo_epi32(sum[t][q], sc));
  }
}

// ---- Q6_K: 6-bit values (low nibble | 2 high bits << 4, unsigned) rebuilt per 4-element piece,
// 4 vpdpbusd per sub-block of 16 and token, the int8 scales applied in int32, the -32 offset as
// -32 * sum(sc * bsum) through 8 vpdpwssd, one float FMA per super-block and token. A decode
// (1-2 tokens) reads each super-block once in address order (the scales first) with no software
// prefetch (kernels/packed.h). packed_stream one core, Zen 4, medians of 5 interleaved: 24.6 ->
// 26.6 GB/s (the quarters' order from the layout before, with prefetch into L2), read probe 29-31.
template <int T>
void micro_q6_K(const uint8_t* g, int64_t nb, const uint8_t* a, size_t as, float* y, int64_t ys,
                __mmask16 store_mask) {
  const BlockQ8_K* ab[T];
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) ab[t] = reinterpret_cast<const BlockQ8_K*>(a + t * as);
  __m512 acc[T];
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* sb = g + b * kPackQ6_KBytes;
    __m512i isc[T];
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) isc[t] = _mm512_setzero_si512();
    __m512i pairs[8];
    if constexpr (T <= 2) {
      q6_K_scale_pairs(sb, pairs);
      SILICA_UNROLL
      for (int s = 0; s < 4; ++s) q6_K_column<T>(sb, ab, b, s, pairs, isc);
    } else {  // more accumulators: the pairs only at the end
      prefetch_lines(sb, kPackQ6_KBytes, kPackQ6_KBytes);
      q6_K_quarter<T, 0>(sb, ab, b, isc);
      q6_K_quarter<T, 1>(sb, ab, b, isc);
      q6_K_quarter<T, 2>(sb, ab, b, isc);
      q6_K_quarter<T, 3>(sb, ab, b, isc);
      q6_K_scale_pairs(sb, pairs);
    }
    const __m512 dw =
        _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(sb + kQ6KD)));
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) {
      __m512i ioff = _mm512_setzero_si512();
      SILICA_UNROLL
      for (int k = 0; k < 8; ++k) {
        int32_t bs;
        std::memcpy(&bs, ab[t][b].bsums + 2 * k, 4);
        ioff = _mm512_dpwssd_epi32(ioff, pairs[k], _mm512_set1_epi32(bs));
      }
      const __m512i total = _mm512_sub_epi32(isc[t], _mm512_slli_epi32(ioff, 5));
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(total),
                               _mm512_mul_ps(dw, _mm512_set1_ps(ab[t][b].d)), acc[t]);
    }
  }
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * ys, store_mask, acc[t]);
}

template <int... Ts>
constexpr std::array<MicroFn, sizeof...(Ts)> micro_table_q6_K(std::integer_sequence<int, Ts...>) {
  return {&micro_q6_K<Ts + 1>...};
}

void tile_q6_K(const void* g, size_t g_bytes, int64_t n_groups, int64_t n_rows, const void* a,
               size_t as, int64_t n_tok, int64_t n, float* y, int64_t ys) {
  static constexpr auto kFns = micro_table_q6_K(std::make_integer_sequence<int, kMaxTokQ6K>());
  drive_tiles(kFns.data(), kMaxTokQ6K, n / 256, g, g_bytes, n_groups, n_rows, a, as, n_tok, y, ys);
}

// ---- F16 / BF16: one 32-byte load widens element i of 16 rows, then one FMA per token with
// the token's f32 activation broadcast from memory. Per lane and token exactly tile_ref_half:
// even and odd elements in two fma chains, added at the end. The widening is shared by all T
// tokens, so 12 tokens keep the FMA ports ~85% busy.
constexpr int kMaxTokHalf = 12;

struct F16Widen {
  [[gnu::always_inline]] static inline __m512 load(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(p)));
  }
};
struct BF16Widen {
  [[gnu::always_inline]] static inline __m512 load(const uint16_t* p) {
    const __m512i u = _mm512_cvtepu16_epi32(_mm256_load_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(u, 16));
  }
};

// nb: blocks of 32 elements (1 KiB of the group: 16 cache lines).
template <class H, int T>
void micro_half(const uint8_t* g, int64_t nb, const uint8_t* a, size_t as, float* y, int64_t ys,
                __mmask16 store_mask) {
  const auto* w = reinterpret_cast<const uint16_t*>(g);
  const float* x[T];
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) x[t] = reinterpret_cast<const float*>(a + t * as);
  __m512 acc0[T], acc1[T];
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) acc0[t] = acc1[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint16_t* wb = w + b * 32 * kPackRows;
    SILICA_UNROLL
    for (int i = 0; i < 32; i += 2) {
      // One line (two elements of 16 rows) a step, kPrefetchBytes on: the group is one stream.
      _mm_prefetch(reinterpret_cast<const char*>(wb + i * kPackRows) + kPrefetchBytes, _MM_HINT_T0);
      const __m512 w0 = H::load(wb + i * kPackRows), w1 = H::load(wb + (i + 1) * kPackRows);
      const int64_t e = b * 32 + i;
      SILICA_UNROLL
      for (int t = 0; t < T; ++t) {
        acc0[t] = _mm512_fmadd_ps(w0, _mm512_set1_ps(x[t][e]), acc0[t]);
        acc1[t] = _mm512_fmadd_ps(w1, _mm512_set1_ps(x[t][e + 1]), acc1[t]);
      }
    }
  }
  SILICA_UNROLL
  for (int t = 0; t < T; ++t)
    _mm512_mask_storeu_ps(y + t * ys, store_mask, _mm512_add_ps(acc0[t], acc1[t]));
}

template <class H, int... Ts>
constexpr std::array<MicroFn, sizeof...(Ts)> micro_table_half(std::integer_sequence<int, Ts...>) {
  return {&micro_half<H, Ts + 1>...};
}

template <class H>
void tile_half(const void* g, size_t g_bytes, int64_t n_groups, int64_t n_rows, const void* a,
               size_t as, int64_t n_tok, int64_t n, float* y, int64_t ys) {
  static constexpr auto kFns = micro_table_half<H>(std::make_integer_sequence<int, kMaxTokHalf>());
  drive_tiles(kFns.data(), kMaxTokHalf, n / 32, g, g_bytes, n_groups, n_rows, a, as, n_tok, y, ys);
}

}  // namespace

PackedTileFn avx512_packed_tile(DType t) {
  if (t == DType::kF16) return &tile_half<F16Widen>;
  if (t == DType::kBF16) return &tile_half<BF16Widen>;
  if (t == DType::kQ6_K) return &tile_q6_K;
  if (t == DType::kQ4_K) return &tile_q4_K;
  if (t == DType::kQ4_0) return &tile<Q4_0Packed>;
  if (t == DType::kQ8_0) return &tile<Q8_0Packed>;
  return nullptr;
}

int avx512_packed_tile_tokens(DType t) {
  if (t == DType::kF16 || t == DType::kBF16) return kMaxTokHalf;
  if (t == DType::kQ6_K) return kMaxTokQ6K;
  if (t == DType::kQ4_K) return kMaxTokK;
  return kMaxTok;
}

}  // namespace silica::kernels_internal

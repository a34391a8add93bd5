// AVX-512 VNNI multi-row x multi-token microkernels (dot tiles) for Q8_0, Q4_0, Q4_K, Q6_K and
// F16, and the vec_dot of each type as the 1 x 1 case of the same template.
//
// Why one template for both: an output element must not depend on how many tokens share its
// batch (forward_test, server streams). Every (row, token) pair owns its accumulator and goes
// through exactly the same instruction sequence whatever R x T tile it sits in; the per-row and
// per-token values a tile shares (unpacked weights, activation offsets, scale vectors) are the
// same bits either way. So tile<4,4> element (r, t) == tile<1,1> == vec_dot, bit for bit.
// Integer parts are exact, so the order of integer adds is free; float ops are fixed per pair.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>
#include <vector>

#include "kernels/kernel_tables.h"
#include "tensor/blocks.h"

// The R x T accumulators must live in registers: without full unrolling GCC keeps them in an
// array on the stack and every FMA waits on a store-to-load round trip.
#define SILICA_UNROLL _Pragma("GCC unroll 16")

namespace silica::kernels_internal {
namespace {

// Decode reads each weight byte once, from DRAM, and the loads' latency, not the bandwidth, bound
// it: R short rows are R streams that the hardware prefetcher barely catches. A 1-token
// microkernel prefetches the rows kPrefetchGroups row groups ahead (rows are contiguous, so that
// is kPrefetchGroups * R * row stride bytes on). Measured with bench_kernels matvec_stream on a
// loaded 2-core Zen 4: Q4_0 3.5-4.4 GB/s without, 9-17 GB/s with 1-8 groups (4 chosen; noisy).
constexpr int kPrefetchGroups = 4;

// 1-token microkernels: prefetch the block at i of each of the R rows kPrefetchGroups groups on.
template <int R, int T, class Block>
[[gnu::always_inline]] inline void prefetch_ahead(const Block* const (&x)[R], int64_t i,
                                                  size_t ws) {
  if constexpr (T == 1) {
    SILICA_UNROLL
    for (int r = 0; r < R; ++r) {
      const char* p = reinterpret_cast<const char*>(x[r] + i) + kPrefetchGroups * R * ws;
      SILICA_UNROLL
      for (size_t line = 0; line < sizeof(Block); line += 64) _mm_prefetch(p + line, _MM_HINT_T0);
    }
  }
}

// One microkernel call: y[t * ys + r] for r < R, t < T over n elements.
using MicroFn = void (*)(const uint8_t* w, size_t ws, const uint8_t* a, size_t as, int64_t n,
                         float* y, int64_t ys);

template <template <int, int> class M, int R, int... Ts>
constexpr std::array<MicroFn, sizeof...(Ts)> micro_row(std::integer_sequence<int, Ts...>) {
  return {&M<R, Ts + 1>::run...};
}
template <template <int, int> class M, int T, int... Rs>
constexpr std::array<std::array<MicroFn, T>, sizeof...(Rs)> micro_fns(
    std::integer_sequence<int, Rs...>) {
  return {micro_row<M, Rs + 1>(std::make_integer_sequence<int, T>())...};
}

// Covers n_rows x n_tok with R x T microkernels; edges use the smaller instances. A lone token
// (decode) walks kDecodeRows rows at a time: f16 rows of 2048 are exactly 4 KiB apart, and four
// such streams at once read at half the speed of one (same L1 sets), while the quant types gain
// from sharing the activation's unpacking across rows.
template <template <int, int> class M, int R, int T, int kDecodeRows = R>
void dot_tile(const void* w, size_t ws, int64_t n_rows, const void* a, size_t as, int64_t n_tok,
              int64_t n, float* y, int64_t ys) {
  static constexpr auto kFns = micro_fns<M, T>(std::make_integer_sequence<int, R>());
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(a);
  const int64_t step_r = n_tok == 1 ? kDecodeRows : R;
  for (int64_t r = 0; r < n_rows; r += step_r) {
    const int rr = int(std::min<int64_t>(step_r, n_rows - r));
    for (int64_t t = 0; t < n_tok; t += T) {
      const int tt = int(std::min<int64_t>(T, n_tok - t));
      kFns[rr - 1][tt - 1](wb + r * ws, ws, ab + t * as, as, n, y + t * ys + r, ys);
    }
  }
}

template <template <int, int> class M>
float vec_dot_1x1(const void* a, const void* b, int64_t n) {
  float y;
  M<1, 1>::run(static_cast<const uint8_t*>(a), 0, static_cast<const uint8_t*>(b), 0, n, &y, 0);
  return y;
}

inline __m512i zext256(__m256i v) {
  return _mm512_zextsi256_si512(v);
}
inline __m256i loadu256(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}
inline __m128i loadu128(const void* p) {
  return _mm_loadu_si128(static_cast<const __m128i*>(p));
}
// 16 floats: fp16 h0 in lanes 0-7, h1 in lanes 8-15 (h1 = 0 gives zeros).
inline __m512 halves_8x2(uint16_t h0, uint16_t h1) {
  return _mm512_cvtph_ps(_mm256_set_m128i(_mm_set1_epi16(short(h1)), _mm_set1_epi16(short(h0))));
}
// 16 floats: h0 in lanes 0-3 and 8-11, h1 in lanes 4-7 and 12-15.
inline __m512 halves_4x4(uint16_t h0, uint16_t h1) {
  const __m128i q = _mm_unpacklo_epi64(_mm_set1_epi16(short(h0)), _mm_set1_epi16(short(h1)));
  return _mm512_cvtph_ps(_mm256_broadcastsi128_si256(q));
}

template <int R, int T>
[[gnu::always_inline]] inline void zero_acc(__m512 (&acc)[R][T]) {
  SILICA_UNROLL
  for (int r = 0; r < R; ++r) {
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  }
}

template <int R, int T>
[[gnu::always_inline]] inline void store_sums(__m512 (&acc)[R][T], float* y, int64_t ys) {
  SILICA_UNROLL
  for (int r = 0; r < R; ++r) {
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) y[t * ys + r] = _mm512_reduce_add_ps(acc[r][t]);
  }
}

// ---- Q8_0 / Q4_0 weights x Q8_0 activations, two blocks (64 elements) per 512-bit step.
// Q8_0: lanes 0-7 block i, 8-15 block i+1. Signed weights ride vpdpbusd as w + 128 (unsigned).
// Q4_0: 128-bit lanes [lo_i, lo_i+1, hi_i, hi_i+1] (elements from low / high nibbles); the
// activations are permuted to match. Either offset (128, or the q4_0 8) times sum(a) is removed
// by seeding the int accumulator with -offset * sum(a).
// The per-token part of a step (permuted bytes, seed, scales) is a PairPrep. matmul computes
// it once per token (act_prep) and every row tile reads it from there; the 1 x 1 vec_dot
// computes the same values inline. Same values, same per-pair instructions: same bits.
struct alignas(64) PairPrep {
  __m512i av;   // activation bytes in the weight's lane order
  __m512i neg;  // -offset * (sum of each lane's 4 activation bytes)
  __m512 da;    // activation scale per lane (0 beyond an odd last block)
};

struct Q8_0Weights {
  using Block = BlockQ8_0;
  static constexpr uint8_t kOffset = 0x80;
  static inline __m512i order(__m512i both) { return both; }
  static inline __m512 scales(uint16_t h0, uint16_t h1) { return halves_8x2(h0, h1); }
  template <bool kPair>
  static inline void weights(const BlockQ8_0* x, int64_t i, __m512i* wv, __m512* dw) {
    const __m256i lo = loadu256(x[i].qs);
    const __m512i both =
        kPair ? _mm512_inserti64x4(zext256(lo), loadu256(x[i + 1].qs), 1) : zext256(lo);
    *wv = _mm512_xor_si512(both, _mm512_set1_epi8(char(0x80)));
    *dw = halves_8x2(x[i].d, kPair ? x[i + 1].d : 0);
  }
};

struct Q4_0Weights {
  using Block = BlockQ4_0;
  static constexpr uint8_t kOffset = 8;
  static inline __m512i order(__m512i both) {
    return _mm512_shuffle_i64x2(both, both, _MM_SHUFFLE(3, 1, 2, 0));
  }
  static inline __m512 scales(uint16_t h0, uint16_t h1) { return halves_4x4(h0, h1); }
  template <bool kPair>
  static inline void weights(const BlockQ4_0* x, int64_t i, __m512i* wv, __m512* dw) {
    const __m128i q0 = loadu128(x[i].qs);
    const __m256i q =
        kPair ? _mm256_set_m128i(loadu128(x[i + 1].qs), q0) : _mm256_zextsi128_si256(q0);
    *wv = _mm512_and_si512(_mm512_inserti64x4(zext256(q), _mm256_srli_epi16(q, 4), 1),
                           _mm512_set1_epi8(0x0f));
    *dw = halves_4x4(x[i].d, kPair ? x[i + 1].d : 0);
  }
};

template <class W, bool kPair>
[[gnu::always_inline]] inline PairPrep prep_pair(const BlockQ8_0* b, int64_t i) {
  PairPrep p;
  const __m256i lo = loadu256(b[i].qs);
  p.av = W::order(kPair ? _mm512_inserti64x4(zext256(lo), loadu256(b[i + 1].qs), 1) : zext256(lo));
  p.neg = _mm512_sub_epi32(
      _mm512_setzero_si512(),
      _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(char(W::kOffset)), p.av));
  p.da = W::scales(b[i].d, kPair ? b[i + 1].d : 0);
  return p;
}

// One activation row -> (n / 64 rounded up) PairPreps.
template <class W>
void prep_row(const BlockQ8_0* b, int64_t nb, PairPrep* out) {
  int64_t i = 0;
  for (; i + 2 <= nb; i += 2) out[i / 2] = prep_pair<W, true>(b, i);
  if (i < nb) out[i / 2] = prep_pair<W, false>(b, i);
}

// kPacked: a holds PairPrep rows (as bytes apart); else q8_0 rows, prepared inline.
template <class W, bool kPacked, int R, int T>
struct MicroQx_0 {
  using Block = typename W::Block;
  template <bool kPair>
  [[gnu::always_inline]] static inline void step(const Block* const (&x)[R],
                                                 const uint8_t* const (&a)[T], int64_t i,
                                                 __m512 (&acc)[R][T]) {
    PairPrep local[kPacked ? 1 : T];
    const PairPrep* tp[T];
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) {
      if constexpr (kPacked) {
        tp[t] = reinterpret_cast<const PairPrep*>(a[t]) + i / 2;
      } else {
        local[t] = prep_pair<W, kPair>(reinterpret_cast<const BlockQ8_0*>(a[t]), i);
        tp[t] = &local[t];
      }
    }
    SILICA_UNROLL
    for (int r = 0; r < R; ++r) {
      __m512i wv;
      __m512 dw;
      W::template weights<kPair>(x[r], i, &wv, &dw);
      SILICA_UNROLL
      for (int t = 0; t < T; ++t) {
        const __m512i p = _mm512_dpbusd_epi32(tp[t]->neg, wv, tp[t]->av);
        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(dw, tp[t]->da), acc[r][t]);
      }
    }
  }
  static void run(const uint8_t* w, size_t ws, const uint8_t* a, size_t as, int64_t n, float* y,
                  int64_t ys) {
    const Block* x[R];
    const uint8_t* ar[T];
    SILICA_UNROLL
    for (int r = 0; r < R; ++r) x[r] = reinterpret_cast<const Block*>(w + r * ws);
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) ar[t] = a + t * as;
    __m512 acc[R][T];
    zero_acc(acc);
    const int64_t nb = n / kQK8_0;
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2) {
      prefetch_ahead<R, T>(x, i, ws);
      step<true>(x, ar, i, acc);
    }
    if (i < nb) step<false>(x, ar, i, acc);
    store_sums(acc, y, ys);
  }
};

template <int R, int T>
using MicroQ8_0 = MicroQx_0<Q8_0Weights, false, R, T>;
template <int R, int T>
using MicroQ8_0Packed = MicroQx_0<Q8_0Weights, true, R, T>;
template <int R, int T>
using MicroQ4_0 = MicroQx_0<Q4_0Weights, false, R, T>;
template <int R, int T>
using MicroQ4_0Packed = MicroQx_0<Q4_0Weights, true, R, T>;

// The activation layout of the Q8_0 / Q4_0 tiles: PairPrep rows, made once per token by matmul
// (act_prep) and shared by every row tile and thread. n is a multiple of 64 except at row end.
template <class W>
void act_prep_q0(const void* a, void* out, int64_t n) {
  prep_row<W>(static_cast<const BlockQ8_0*>(a), n / kQK8_0, static_cast<PairPrep*>(out));
}
size_t act_prep_size_q0(int64_t n) {
  return size_t((n / kQK8_0 + 1) / 2) * sizeof(PairPrep);
}

// dot_tile for Q8_0 / Q4_0 over PairPrep rows: T tokens at a time against all the tile's rows,
// so that their prepared activations stay in L1 while the weight rows stream past.
template <template <int, int> class MP, int R, int T>
void dot_tile_q0(const void* w, size_t ws, int64_t n_rows, const void* a, size_t as, int64_t n_tok,
                 int64_t n, float* y, int64_t ys) {
  static constexpr auto kFns = micro_fns<MP, T>(std::make_integer_sequence<int, R>());
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(a);
  for (int64_t t = 0; t < n_tok; t += T) {
    const int tt = int(std::min<int64_t>(T, n_tok - t));
    for (int64_t r = 0; r < n_rows; r += R) {
      const int rr = int(std::min<int64_t>(R, n_rows - r));
      kFns[rr - 1][tt - 1](wb + r * ws, ws, ab + t * as, as, n, y + t * ys + r, ys);
    }
  }
}

// vpermw indices that spread int16 sub-block scales over packs_epi32(p_a, p_b): in 128-bit lane L,
// int16 slots 0-3 hold p_a's lanes 4L..4L+3 and slots 4-7 p_b's, and vpmaddwd adds slot pairs.
// Replaces four vpmulld per 256 elements and pair with two vpackssdw + two vpmaddwd: the int32
// lane sums fit int16 (q4_K: 4 * 15 * 127, q6_K: 4 * 63 * 127 < 32767).
struct ScaleIdx {
  alignas(64) int16_t v[2][32];
};
// q4_K: p_j lanes 0-7 are sub-block 2j, 8-15 are 2j+1; pair (2jp, 2jp+1).
constexpr ScaleIdx make_q4_K_idx() {
  ScaleIdx r{};
  for (int jp = 0; jp < 2; ++jp)
    for (int e = 0; e < 32; ++e) r.v[jp][e] = int16_t(4 * jp + 2 * (e % 8 >= 4) + (e / 8 >= 2));
  return r;
}
// q6_K: in group g, 128-bit lane L is sub-block 4g + L; pair (2gp, 2gp+1).
constexpr ScaleIdx make_q6_K_idx() {
  ScaleIdx r{};
  for (int gp = 0; gp < 2; ++gp)
    for (int e = 0; e < 32; ++e) r.v[gp][e] = int16_t(4 * (2 * gp + (e % 8 >= 4)) + e / 8);
  return r;
}
constexpr ScaleIdx kQ4_KIdx = make_q4_K_idx();
constexpr ScaleIdx kQ6_KIdx = make_q6_K_idx();

// sum of sc * p over both vectors, as 16 int32 lanes (whose total is what matters).
[[gnu::always_inline]] inline __m512i scaled_pair(__m512i pa, __m512i pb, __m512i sc16) {
  return _mm512_madd_epi16(_mm512_packs_epi32(pa, pb), sc16);
}

// ---- Q4_K x Q8_K, one super-block per step. Per 64 elements j: lanes 0-7 sub-block 2j (low
// nibbles), 8-15 sub-block 2j+1 (high nibbles), times the 6-bit scales in int32. The int sums
// fold to 8 lanes; the 8 min products (mn * pair sums of bsums) fill lanes 8-15, so one float
// FMA with [d * da x8, -dmin * da x8] adds both terms.
template <int R, int T>
struct MicroQ4_K {
  [[gnu::always_inline]] static inline __m512i scale_lanes(const uint8_t* q, __m256i* mins) {
    uint32_t lo, mid, hi;  // bytes 0-3: scales 0-3 (+ high bits of 4-7), 4-7: mins, 8-11: low 4s
    std::memcpy(&lo, q, 4);
    std::memcpy(&mid, q + 4, 4);
    std::memcpy(&hi, q + 8, 4);
    const uint32_t k3f = 0x3f3f3f3fu, k0f = 0x0f0f0f0fu, k30 = 0x30303030u;
    const uint64_t sc = uint64_t(lo & k3f) | uint64_t((hi & k0f) | ((lo >> 2) & k30)) << 32;
    const uint64_t mn = uint64_t(mid & k3f) | uint64_t(((hi >> 4) & k0f) | ((mid >> 2) & k30))
                                                  << 32;
    *mins = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(int64_t(mn)));
    return _mm512_zextsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(int64_t(sc))));
  }
  [[gnu::always_inline]] static inline void step(const BlockQ4_K* const (&x)[R],
                                                 const BlockQ8_K* const (&b)[T], int64_t i,
                                                 __m512 (&acc)[R][T]) {
    const __m512i kLow = _mm512_set1_epi8(0x0f);
    __m256i bsp[T];
    __m512 da[T];
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) {
      bsp[t] = _mm256_madd_epi16(loadu256(b[t][i].bsums), _mm256_set1_epi16(1));
      da[t] = _mm512_set1_ps(b[t][i].d);
    }
    SILICA_UNROLL
    for (int r = 0; r < R; ++r) {
      const BlockQ4_K& xb = x[r][i];
      __m256i mn;
      const __m512i scz = scale_lanes(xb.scales, &mn);
      __m512i sumi[T];
      SILICA_UNROLL
      for (int t = 0; t < T; ++t) sumi[t] = _mm512_setzero_si512();
      SILICA_UNROLL
      for (int jp = 0; jp < 2; ++jp) {
        __m512i wv[2];
        SILICA_UNROLL
        for (int h = 0; h < 2; ++h) {
          const __m256i q = loadu256(xb.qs + 32 * (2 * jp + h));
          wv[h] =
              _mm512_and_si512(_mm512_inserti64x4(zext256(q), _mm256_srli_epi16(q, 4), 1), kLow);
        }
        const __m512i sc = _mm512_permutexvar_epi16(_mm512_load_si512(kQ4_KIdx.v[jp]), scz);
        SILICA_UNROLL
        for (int t = 0; t < T; ++t) {
          const int8_t* aq = b[t][i].qs + 128 * jp;
          const __m512i p0 =
              _mm512_dpbusd_epi32(_mm512_setzero_si512(), wv[0], _mm512_loadu_si512(aq));
          const __m512i p1 =
              _mm512_dpbusd_epi32(_mm512_setzero_si512(), wv[1], _mm512_loadu_si512(aq + 64));
          sumi[t] = _mm512_add_epi32(sumi[t], scaled_pair(p0, p1, sc));
        }
      }
      const float dw = _cvtsh_ss(xb.d), dm = -_cvtsh_ss(xb.dmin);
      const __m512 wsc = _mm512_insertf32x8(_mm512_set1_ps(dw), _mm256_set1_ps(dm), 1);
      SILICA_UNROLL
      for (int t = 0; t < T; ++t) {
        const __m256i s8 = _mm256_add_epi32(_mm512_castsi512_si256(sumi[t]),
                                            _mm512_extracti64x4_epi64(sumi[t], 1));
        const __m256i m8 = _mm256_mullo_epi32(mn, bsp[t]);
        const __m512 f = _mm512_cvtepi32_ps(_mm512_inserti64x4(zext256(s8), m8, 1));
        acc[r][t] = _mm512_fmadd_ps(f, _mm512_mul_ps(wsc, da[t]), acc[r][t]);
      }
    }
  }
  static void run(const uint8_t* w, size_t ws, const uint8_t* a, size_t as, int64_t n, float* y,
                  int64_t ys) {
    const BlockQ4_K* x[R];
    const BlockQ8_K* b[T];
    SILICA_UNROLL
    for (int r = 0; r < R; ++r) x[r] = reinterpret_cast<const BlockQ4_K*>(w + r * ws);
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) b[t] = reinterpret_cast<const BlockQ8_K*>(a + t * as);
    __m512 acc[R][T];
    zero_acc(acc);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
      prefetch_ahead<R, T>(x, i, ws);
      step(x, b, i, acc);
    }
    store_sums(acc, y, ys);
  }
};

// ---- Q6_K x Q8_K, one super-block per step in four groups of 64 (sub-blocks 4g..4g+3 in lanes
// of four). q = low 4 bits | 2 high bits << 4 in [0, 63]; the -32 is applied once per super-block
// as -32 * sum(sc * bsums), exact in int32.
template <int R, int T>
struct MicroQ6_K {
  [[gnu::always_inline]] static inline __m512i unpack(const BlockQ6_K& xb, int g) {
    const int h = g / 2;
    const __m512i ql = _mm512_loadu_si512(xb.ql + 64 * h);
    const __m512i qh = _mm512_broadcast_i64x4(loadu256(xb.qh + 32 * h));
    // Which 2 bits of qh: 0/2 for the first 64 of the half, 4/6 for the second.
    const __m512i shift = g % 2 == 0 ? _mm512_setr_epi64(0, 0, 0, 0, 2, 2, 2, 2)
                                     : _mm512_setr_epi64(4, 4, 4, 4, 6, 6, 6, 6);
    const __m512i low = g % 2 == 0 ? ql : _mm512_srli_epi16(ql, 4);
    const __m512i high = _mm512_and_si512(_mm512_slli_epi16(_mm512_srlv_epi64(qh, shift), 4),
                                          _mm512_set1_epi8(0x30));
    // (low & 0x0f) | high
    return _mm512_ternarylogic_epi32(low, _mm512_set1_epi8(0x0f), high, 0xEA);
  }
  [[gnu::always_inline]] static inline void step(const BlockQ6_K* const (&x)[R],
                                                 const BlockQ8_K* const (&b)[T], int64_t i,
                                                 __m512 (&acc)[R][T]) {
    __m512 da[T];
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) da[t] = _mm512_set1_ps(b[t][i].d);
    SILICA_UNROLL
    for (int r = 0; r < R; ++r) {
      const BlockQ6_K& xb = x[r][i];
      const __m128i sc8 = loadu128(xb.scales);
      const __m256i sc16 = _mm256_cvtepi8_epi16(sc8);
      const __m512i scz16 = zext256(sc16);
      __m512i sumi[T];
      SILICA_UNROLL
      for (int t = 0; t < T; ++t) {
        const __m256i off = _mm256_madd_epi16(sc16, loadu256(b[t][i].bsums));
        sumi[t] = _mm512_sub_epi32(_mm512_setzero_si512(), zext256(_mm256_slli_epi32(off, 5)));
      }
      SILICA_UNROLL
      for (int gp = 0; gp < 2; ++gp) {
        const __m512i wv0 = unpack(xb, 2 * gp), wv1 = unpack(xb, 2 * gp + 1);
        const __m512i sc = _mm512_permutexvar_epi16(_mm512_load_si512(kQ6_KIdx.v[gp]), scz16);
        SILICA_UNROLL
        for (int t = 0; t < T; ++t) {
          const int8_t* aq = b[t][i].qs + 128 * gp;
          const __m512i p0 =
              _mm512_dpbusd_epi32(_mm512_setzero_si512(), wv0, _mm512_loadu_si512(aq));
          const __m512i p1 =
              _mm512_dpbusd_epi32(_mm512_setzero_si512(), wv1, _mm512_loadu_si512(aq + 64));
          sumi[t] = _mm512_add_epi32(sumi[t], scaled_pair(p0, p1, sc));
        }
      }
      const __m512 dw = _mm512_set1_ps(_cvtsh_ss(xb.d));
      SILICA_UNROLL
      for (int t = 0; t < T; ++t)
        acc[r][t] =
            _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi[t]), _mm512_mul_ps(dw, da[t]), acc[r][t]);
    }
  }
  static void run(const uint8_t* w, size_t ws, const uint8_t* a, size_t as, int64_t n, float* y,
                  int64_t ys) {
    const BlockQ6_K* x[R];
    const BlockQ8_K* b[T];
    SILICA_UNROLL
    for (int r = 0; r < R; ++r) x[r] = reinterpret_cast<const BlockQ6_K*>(w + r * ws);
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) b[t] = reinterpret_cast<const BlockQ8_K*>(a + t * as);
    __m512 acc[R][T];
    zero_acc(acc);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
      prefetch_ahead<R, T>(x, i, ws);
      step(x, b, i, acc);
    }
    store_sums(acc, y, ys);
  }
};

// ---- F16 x F16: 16 elements per step into one fp32 accumulator per pair; masked tail.
template <int R, int T>
struct MicroF16 {
  // One 16-element step into acc: unmasked loads in the main loop (masked ones cost Zen 4 half
  // its decode bandwidth), masked only for the tail.
  template <bool kMasked>
  [[gnu::always_inline]] static inline void step(const uint16_t* const (&x)[R],
                                                 const uint16_t* const (&b)[T], int64_t i,
                                                 __mmask16 m, __m512 (&acc)[R][T]) {
    auto load = [m](const uint16_t* p) {
      return _mm512_cvtph_ps(kMasked ? _mm256_maskz_loadu_epi16(m, p) : loadu256(p));
    };
    __m512 bv[T];
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) bv[t] = load(b[t] + i);
    SILICA_UNROLL
    for (int r = 0; r < R; ++r) {
      const __m512 wv = load(x[r] + i);
      SILICA_UNROLL
      for (int t = 0; t < T; ++t) acc[r][t] = _mm512_fmadd_ps(wv, bv[t], acc[r][t]);
    }
  }
  // Two accumulators per pair (even / odd 16-element steps) keep two FMA chains in flight even
  // for the 1 x 1 vec_dot that attention calls; they are added before the final reduction.
  static void run(const uint8_t* w, size_t ws, const uint8_t* a, size_t as, int64_t n, float* y,
                  int64_t ys) {
    const uint16_t* x[R];
    const uint16_t* b[T];
    SILICA_UNROLL
    for (int r = 0; r < R; ++r) x[r] = reinterpret_cast<const uint16_t*>(w + r * ws);
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) b[t] = reinterpret_cast<const uint16_t*>(a + t * as);
    __m512 acc0[R][T], acc1[R][T];
    zero_acc(acc0);
    zero_acc(acc1);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
      step<false>(x, b, i, 0, acc0);
      step<false>(x, b, i + 16, 0, acc1);
    }
    for (; i < n; i += 16) {
      const int64_t left = n - i;
      const __mmask16 m = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
      step<true>(x, b, i, m, acc0);
    }
    SILICA_UNROLL
    for (int r = 0; r < R; ++r) {
      SILICA_UNROLL
      for (int t = 0; t < T; ++t) acc0[r][t] = _mm512_add_ps(acc0[r][t], acc1[r][t]);
    }
    store_sums(acc0, y, ys);
  }
};

}  // namespace

void fill_avx512_tiles(KernelTable& table) {
  auto set = [&](DType t, VecDotFn dot, DotTileFn tile) {
    entry(table, t).vec_dot = dot;
    entry(table, t).dot_tile = tile;
  };
  set(DType::kQ8_0, &vec_dot_1x1<MicroQ8_0>, &dot_tile_q0<MicroQ8_0Packed, 4, 4>);
  set(DType::kQ4_0, &vec_dot_1x1<MicroQ4_0>, &dot_tile_q0<MicroQ4_0Packed, 4, 4>);
  entry(table, DType::kQ8_0).act_prep = &act_prep_q0<Q8_0Weights>;
  entry(table, DType::kQ4_0).act_prep = &act_prep_q0<Q4_0Weights>;
  entry(table, DType::kQ8_0).act_prep_size = &act_prep_size_q0;
  entry(table, DType::kQ4_0).act_prep_size = &act_prep_size_q0;
  set(DType::kQ4_K, &vec_dot_1x1<MicroQ4_K>, &dot_tile<MicroQ4_K, 4, 3>);
  set(DType::kQ6_K, &vec_dot_1x1<MicroQ6_K>, &dot_tile<MicroQ6_K, 4, 3>);
  set(DType::kF16, &vec_dot_1x1<MicroF16>, &dot_tile<MicroF16, 4, 3, 1>);
}

}  // namespace silica::kernels_internal

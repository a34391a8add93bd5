// AMX tiles over packed Q8_0 / Q4_0 / Q4_K / Q6_K groups (kernels/packed.h) for prompts: one tile
// product multiplies 16 tokens' 32 activation bytes (A) by one block or sub-block of 16 rows
// (B), 8192 multiply-adds in one instruction. The packed values are already in the B tile's
// layout: piece j of row l at j * 64 + 4 * l is "row j, column l" of a tile of 8 rows x 64 bytes
// (Q8_0's read in place, as unsigned bytes; Q4_0's nibbles spread to bytes). Per block the int32
// tile goes to memory and gets the same steps as the VNNI tile: for Q8_0 / Q4_0
// acc = fma(float(isum), dw * da, acc). Q4_K and Q6_K multiply scaled byte planes, whole
// super-blocks at a time (below). Integer sums are exact, so the result is the VNNI tile's
// (and the scalar twin's) bit for bit; tokens left over (fewer than kMinTok) go to the VNNI
// tile.

#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <utility>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "kernels/kernel_tables.h"
#include "kernels/packed.h"
#include "kernels/x86/avx512_packed_q4k.h"
#include "kernels/x86/avx512_packed_q6k.h"
#include "tensor/blocks.h"

#define SILICA_UNROLL _Pragma("GCC unroll 16")
// GCC 12's ldtilecfg / tileloadd intrinsics do not tell the compiler which memory they read, so
// it may drop or sink the stores they depend on (the config, the unpacked B rows): a compiler
// barrier before them makes those stores happen first.
#define SILICA_TILE_BARRIER() __asm__ volatile("" ::: "memory")

namespace silica::kernels_internal {
namespace {

constexpr int kMaxTok = 16;  // rows of an A tile
constexpr int kMinTok = 8;   // fewer tokens than this: the VNNI tile does them
constexpr int kPrefetchBytes = 2048;

// Linux hands out the tile data state only to processes that ask (arch_prctl); elsewhere
// (macOS has no AMX, other systems unknown) AMX is not used.
bool request_tile_permission() {
#if defined(__linux__) && defined(SYS_arch_prctl)
  constexpr int kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}

// Tiles 0/3: C (m tokens x 16 rows int32), 1/4: A (m x a_bytes), 2/5: B (a_bytes / 4 rows x
// 64 bytes); two sets so that one block's product runs while the other's sums are read back.
struct alignas(64) TileConfig {
  uint8_t palette = 1, start_row = 0, reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

void load_config(int m, int a_bytes) {
  TileConfig c;
  for (int set = 0; set < 2; ++set) {
    c.colsb[3 * set] = 64;
    c.rows[3 * set] = uint8_t(m);
    c.colsb[3 * set + 1] = uint16_t(a_bytes);
    c.rows[3 * set + 1] = uint8_t(m);
    c.colsb[3 * set + 2] = 64;
    c.rows[3 * set + 2] = uint8_t(a_bytes / 4);
  }
  SILICA_TILE_BARRIER();
  _tile_loadconfig(&c);
}

// Tile set S: C = A (m x a_bytes at a, rows as apart) x B (64-byte rows at b), kSigned: B's
// bytes are signed (else unsigned); A is signed. start() issues the product, finish() stores
// C to c.
template <int S, bool kSigned>
[[gnu::always_inline]] inline void start_product(const void* a, size_t as, const void* b) {
  SILICA_TILE_BARRIER();
  if constexpr (S == 0) {
    _tile_zero(0);
    _tile_loadd(1, a, as);
    _tile_loadd(2, b, 64);
    if constexpr (kSigned)
      _tile_dpbssd(0, 1, 2);
    else
      _tile_dpbsud(0, 1, 2);
  } else {
    _tile_zero(3);
    _tile_loadd(4, a, as);
    _tile_loadd(5, b, 64);
    if constexpr (kSigned)
      _tile_dpbssd(3, 4, 5);
    else
      _tile_dpbsud(3, 4, 5);
  }
}
template <int S>
[[gnu::always_inline]] inline void finish_product(int32_t (*c)[16]) {
  if constexpr (S == 0)
    _tile_stored(0, c, 64);
  else
    _tile_stored(3, c, 64);
}

using MicroFn = void (*)(const uint8_t*, int64_t, const uint8_t*, size_t, float*, int64_t,
                         __mmask16);

// Q8_0's packed bytes are w + 128: the B tile reads them in place as unsigned bytes
// (tdpbsud) and the block's neg term, -128 * sum(a), makes the int32 sum the VNNI tile's,
// exactly. Q4_0's nibbles are spread to signed bytes, w - 8, so its sums need no offset.
struct Q8_0Amx {
  static constexpr DType kType = DType::kQ8_0;
  static constexpr int64_t kValueBytes = 512;
  static constexpr bool kUnsignedB = true;
  static const uint8_t* b_tile(const uint8_t* v, uint8_t*) { return v; }
};

struct Q4_0Amx {
  static constexpr DType kType = DType::kQ4_0;
  static constexpr int64_t kValueBytes = 256;
  static constexpr bool kUnsignedB = false;
  // B rows 0-3: elements 0-15 (low nibbles of pieces 0-3), rows 4-7: 16-31 (high nibbles),
  // each nibble - 8.
  static const uint8_t* b_tile(const uint8_t* v, uint8_t* buf) {
    const __m512i low = _mm512_set1_epi8(0x0f), eight = _mm512_set1_epi8(8);
    SILICA_UNROLL
    for (int j = 0; j < 4; ++j) {
      const __m512i p = _mm512_loadu_si512(v + 64 * j);
      _mm512_store_si512(buf + 64 * j, _mm512_sub_epi8(_mm512_and_si512(p, low), eight));
      _mm512_store_si512(buf + 64 * (j + 4),
                         _mm512_sub_epi8(_mm512_and_si512(_mm512_srli_epi16(p, 4), low), eight));
    }
    return buf;
  }
};

// The float steps of one block for m tokens, from its int32 sums c[t][row] (plus the block's
// neg term when B held unsigned bytes).
template <bool kAddNeg, int M>
[[gnu::always_inline]] inline void accumulate(const int32_t (*c)[16], const uint16_t* scales,
                                              const PackedActBlock* const (&ab)[M], int64_t b,
                                              __m512 (&acc)[M]) {
  const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(scales)));
  SILICA_UNROLL
  for (int t = 0; t < M; ++t) {
    __m512i s = _mm512_load_si512(c[t]);
    if constexpr (kAddNeg) s = _mm512_add_epi32(s, _mm512_set1_epi32(ab[t][b].neg));
    const __m512 sc = _mm512_mul_ps(dw, _mm512_set1_ps(ab[t][b].d));
    acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), sc, acc[t]);
  }
}

// One group x M tokens (M <= 16, the loaded config's m) over nb blocks.
template <class W, int M>
void micro_q0(const uint8_t* g, int64_t nb, const uint8_t* a, size_t as, float* y, int64_t ys,
              __mmask16 store_mask) {
  constexpr bool kU = W::kUnsignedB;
  const PackedActBlock* ab[M];
  SILICA_UNROLL
  for (int t = 0; t < M; ++t) ab[t] = reinterpret_cast<const PackedActBlock*>(a + t * as);
  __m512 acc[M];
  SILICA_UNROLL
  for (int t = 0; t < M; ++t) acc[t] = _mm512_setzero_ps();
  alignas(64) int32_t c[2][16][16];
  alignas(64) uint8_t bbuf[2][512];
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    // b is even: blocks b and b + 1 are one pair.
    const uint8_t* v0 = q0_values(g, b, W::kValueBytes);
    const uint8_t* v1 = v0 + W::kValueBytes;
    const uint8_t* pair = g + q0_pair_at(b, W::kValueBytes);
    for (int64_t line = 0; line < q0_pair_bytes(W::kValueBytes); line += 64)
      _mm_prefetch(reinterpret_cast<const char*>(pair + kPrefetchBytes + line), _MM_HINT_T0);
    const uint8_t* b0 = W::b_tile(v0, bbuf[0]);
    const uint8_t* b1 = W::b_tile(v1, bbuf[1]);
    start_product<0, !kU>(ab[0][b].qs, as, b0);
    start_product<1, !kU>(ab[0][b + 1].qs, as, b1);
    finish_product<0>(c[0]);
    accumulate<kU, M>(c[0], q0_scales(g, b, W::kValueBytes), ab, b, acc);
    finish_product<1>(c[1]);
    accumulate<kU, M>(c[1], q0_scales(g, b + 1, W::kValueBytes), ab, b + 1, acc);
  }
  if (b < nb) {
    const uint8_t* b0 = W::b_tile(q0_values(g, b, W::kValueBytes), bbuf[0]);
    start_product<0, !kU>(ab[0][b].qs, as, b0);
    finish_product<0>(c[0]);
    accumulate<kU, M>(c[0], q0_scales(g, b, W::kValueBytes), ab, b, acc);
  }
  SILICA_UNROLL
  for (int t = 0; t < M; ++t) _mm512_mask_storeu_ps(y + t * ys, store_mask, acc[t]);
}

template <class W>
struct Q0Family {
  static constexpr DType kType = W::kType;
  static constexpr int kBlock = 32, kABytes = 32;
  template <int M>
  static void run(const uint8_t* g, int64_t nb, const uint8_t* a, size_t as, float* y, int64_t ys,
                  __mmask16 m) {
    micro_q0<W, M>(g, nb, a, as, y, ys, m);
  }
};

// ---- Q4_K and Q6_K: the weights times their sub-block scales are small integers (Q4_K:
// q * s, 10 bits unsigned; Q6_K: (q - 32) * s, 13 bits signed): as two byte planes
// (hi * 256 + lo, hi signed, lo unsigned) whole super-blocks multiply in four 64-deep products
// per plane, with no int32 scale step per sub-block. The planes (8 KiB per super-block and
// group) are built once per tile call and read by every token chunk. Per super-block and token
// isum = (C_hi << 8) + C_lo is the VNNI tile's integer sum exactly; its float steps follow.
constexpr size_t kPlaneBytes = 8192;  // [4 k-steps][hi, lo][16 B rows][64 bytes]

// Piece j's products as int16, ve of bytes 0 and 2 of each 32-bit lane, vo of bytes 1 and 3,
// split into their low bytes (the lo plane) and high bytes (the hi plane).
[[gnu::always_inline]] inline void store_planes(__m512i ve, __m512i vo, int j, uint8_t* o) {
  const __m512i low_bytes = _mm512_set1_epi16(0x00ff);
  const __m512i high_bytes = _mm512_set1_epi16(int16_t(0xff00));
  const __m512i lo = _mm512_ternarylogic_epi32(ve, low_bytes, _mm512_slli_epi16(vo, 8), 0xEA);
  const __m512i hi = _mm512_ternarylogic_epi32(_mm512_srli_epi16(ve, 8), vo, high_bytes, 0xF8);
  uint8_t* step = o + (j / 16) * 2048 + (j % 16) * 64;
  _mm512_store_si512(step, hi);
  _mm512_store_si512(step + 1024, lo);
}

// The scale of Q4_K sub-block sub per row, as int16 in both halves of the row's 32-bit lane.
[[gnu::always_inline]] inline __m512i q4_K_scale16(const uint8_t* sb, int sub) {
  const __m512i s = q4_K_sub_scales(sb, sub);
  return _mm512_or_si512(s, _mm512_slli_epi32(s, 16));
}

// Piece j = 8 * sub + c is nibble half sub % 2 of the packed bytes (pair sub / 2, piece c).
void build_q4_K_planes(const uint8_t* g, int64_t nb, uint8_t* out) {
  const __m512i low = _mm512_set1_epi8(0x0f), low_bytes = _mm512_set1_epi16(0x00ff);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* sb = g + b * kPackQ4_KBytes;
    uint8_t* o = out + b * kPlaneBytes;
    SILICA_UNROLL
    for (int sub = 0; sub < 8; ++sub) {
      const __m512i s16 = q4_K_scale16(sb, sub);
      SILICA_UNROLL
      for (int c = 0; c < 8; ++c) {
        const __m512i raw = _mm512_loadu_si512(sb + kQ4KNibbles + ((sub / 2) * 8 + c) * 64);
        const __m512i q = _mm512_and_si512(sub % 2 ? _mm512_srli_epi16(raw, 4) : raw, low);
        store_planes(_mm512_mullo_epi16(_mm512_and_si512(q, low_bytes), s16),
                     _mm512_mullo_epi16(_mm512_srli_epi16(q, 8), s16), 8 * sub + c, o);
      }
    }
  }
}

// The scale of Q6_K sub-block sub per row, as int16 in both halves of the row's 32-bit lane.
[[gnu::always_inline]] inline __m512i q6_K_scale16(const uint8_t* sb, int sub) {
  const __m512i pair = q6_K_scale_pair(sb, sub / 2);
  return sub % 2 ? _mm512_ternarylogic_epi32(pair, _mm512_set1_epi32(int(0xffff0000u)),
                                             _mm512_srli_epi32(pair, 16), 0xEA)
                 : _mm512_ternarylogic_epi32(pair, _mm512_set1_epi32(0xffff),
                                             _mm512_slli_epi32(pair, 16), 0xEA);
}

void build_q6_K_planes(const uint8_t* g, int64_t nb, uint8_t* out) {
  const __m512i thirty_two = _mm512_set1_epi8(32);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* sb = g + b * kPackQ6_KBytes;
    uint8_t* o = out + b * kPlaneBytes;
    SILICA_UNROLL
    for (int sub = 0; sub < 16; ++sub) {
      const __m512i s16 = q6_K_scale16(sb, sub);
      SILICA_UNROLL
      for (int c = 0; c < 4; ++c) {
        const int j = 4 * sub + c;
        const __m512i q = _mm512_sub_epi8(q6_K_piece(sb, j), thirty_two);
        const __m512i even = _mm512_srai_epi16(_mm512_slli_epi16(q, 8), 8);
        const __m512i odd = _mm512_srai_epi16(q, 8);
        store_planes(_mm512_mullo_epi16(even, s16), _mm512_mullo_epi16(odd, s16), j, o);
      }
    }
  }
}

// Tiles 0-1 / 2-3: C_hi, C_lo of set 0 / 1 (m tokens x 16 rows int32); 4 / 7: A of set 0 / 1
// (m tokens x 64 bytes); 5, 6: B_hi, B_lo (16 x 64 bytes).
void load_config_planes(int m) {
  TileConfig c;
  for (int tile : {0, 1, 2, 3, 4, 7}) {
    c.colsb[tile] = 64;
    c.rows[tile] = uint8_t(m);
  }
  for (int tile : {5, 6}) {
    c.colsb[tile] = 64;
    c.rows[tile] = 16;
  }
  SILICA_TILE_BARRIER();
  _tile_loadconfig(&c);
}

// GCC's AMX intrinsics take tile numbers as literal tokens: one body per tile set.
#define SILICA_PLANE_PRODUCTS(HI, LO, A)     \
  SILICA_TILE_BARRIER();                     \
  _tile_zero(HI);                            \
  _tile_zero(LO);                            \
  SILICA_UNROLL                              \
  for (int k = 0; k < 4; ++k) {              \
    _tile_loadd(A, a + 64 * k, as);          \
    _tile_loadd(5, p + 2048 * k, 64);        \
    _tile_loadd(6, p + 2048 * k + 1024, 64); \
    _tile_dpbssd(HI, A, 5);                  \
    _tile_dpbsud(LO, A, 6);                  \
  }

template <int S>
[[gnu::always_inline]] inline void plane_products(const int8_t* a, size_t as, const uint8_t* p) {
  if constexpr (S == 0) {
    SILICA_PLANE_PRODUCTS(0, 1, 4)
  } else {
    SILICA_PLANE_PRODUCTS(2, 3, 7)
  }
}
#undef SILICA_PLANE_PRODUCTS

template <int S>
[[gnu::always_inline]] inline void plane_store(int32_t (*hi)[16], int32_t (*lo)[16]) {
  if constexpr (S == 0) {
    _tile_stored(0, hi, 64);
    _tile_stored(1, lo, 64);
  } else {
    _tile_stored(2, hi, 64);
    _tile_stored(3, lo, 64);
  }
}

[[gnu::always_inline]] inline __m512i plane_sum(const int32_t* hi, const int32_t* lo) {
  return _mm512_add_epi32(_mm512_slli_epi32(_mm512_load_si512(hi), 8), _mm512_load_si512(lo));
}

struct Q4_KPlanes {
  static constexpr DType kType = DType::kQ4_K;
  static constexpr size_t kSuperBytes = kPackQ4_KBytes;
  using Act = PackedActBlockK;
  static void build(const uint8_t* g, int64_t nb, uint8_t* out) { build_q4_K_planes(g, nb, out); }
  // The VNNI tile's end of a super-block: the mins by bsum, then its two FMAs.
  template <int M>
  [[gnu::always_inline]] static void accumulate(const int32_t (*hi)[16], const int32_t (*lo)[16],
                                                const uint8_t* sb, const Act* const (&ab)[M],
                                                int64_t b, __m512 (&acc)[M]) {
    const Q4_KEnd end = q4_K_end(sb);
    SILICA_UNROLL
    for (int t = 0; t < M; ++t)
      acc[t] = q4_K_finish(end, plane_sum(hi[t], lo[t]), ab[t][b], acc[t]);
  }
};

struct Q6_KPlanes {
  static constexpr DType kType = DType::kQ6_K;
  static constexpr size_t kSuperBytes = kPackQ6_KBytes;
  using Act = BlockQ8_K;
  static void build(const uint8_t* g, int64_t nb, uint8_t* out) { build_q6_K_planes(g, nb, out); }
  template <int M>
  [[gnu::always_inline]] static void accumulate(const int32_t (*hi)[16], const int32_t (*lo)[16],
                                                const uint8_t* sb, const Act* const (&ab)[M],
                                                int64_t b, __m512 (&acc)[M]) {
    const __m512 dw =
        _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(sb + kQ6KD)));
    SILICA_UNROLL
    for (int t = 0; t < M; ++t)
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(plane_sum(hi[t], lo[t])),
                               _mm512_mul_ps(dw, _mm512_set1_ps(ab[t][b].d)), acc[t]);
  }
};

// One group's planes x M tokens over nb super-blocks; g: the packed group (for d, mins).
template <class F, int M>
void micro_planes(const uint8_t* planes, const uint8_t* g, int64_t nb, const uint8_t* a, size_t as,
                  float* y, int64_t ys, __mmask16 store_mask) {
  using Act = typename F::Act;
  const Act* ab[M];
  SILICA_UNROLL
  for (int t = 0; t < M; ++t) ab[t] = reinterpret_cast<const Act*>(a + t * as);
  __m512 acc[M];
  SILICA_UNROLL
  for (int t = 0; t < M; ++t) acc[t] = _mm512_setzero_ps();
  alignas(64) int32_t c[2][2][16][16];  // [set][hi, lo]
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    plane_products<0>(ab[0][b].qs, as, planes + b * kPlaneBytes);
    plane_products<1>(ab[0][b + 1].qs, as, planes + (b + 1) * kPlaneBytes);
    plane_store<0>(c[0][0], c[0][1]);
    F::template accumulate<M>(c[0][0], c[0][1], g + b * F::kSuperBytes, ab, b, acc);
    plane_store<1>(c[1][0], c[1][1]);
    F::template accumulate<M>(c[1][0], c[1][1], g + (b + 1) * F::kSuperBytes, ab, b + 1, acc);
  }
  if (b < nb) {
    plane_products<0>(ab[0][b].qs, as, planes + b * kPlaneBytes);
    plane_store<0>(c[0][0], c[0][1]);
    F::template accumulate<M>(c[0][0], c[0][1], g + b * F::kSuperBytes, ab, b, acc);
  }
  SILICA_UNROLL
  for (int t = 0; t < M; ++t) _mm512_mask_storeu_ps(y + t * ys, store_mask, acc[t]);
}

using MicroPlanesFn = void (*)(const uint8_t*, const uint8_t*, int64_t, const uint8_t*, size_t,
                               float*, int64_t, __mmask16);

template <class F, int... Ms>
constexpr std::array<MicroPlanesFn, sizeof...(Ms)> micro_table_planes(
    std::integer_sequence<int, Ms...>) {
  return {&micro_planes<F, Ms + kMinTok>...};
}

// A thread's plane buffer: grows to the largest tile call it has seen, never shrinks (no
// allocation per call once warm).
uint8_t* plane_buffer(size_t bytes) {
  struct Buffer {
    uint8_t* p = nullptr;
    size_t size = 0;
    ~Buffer() { std::free(p); }
  };
  thread_local Buffer buf;
  if (buf.size < bytes) {
    std::free(buf.p);
    buf.size = (bytes + 4095) / 4096 * 4096;
    buf.p = static_cast<uint8_t*>(std::aligned_alloc(64, buf.size));
    if (!buf.p) buf.size = 0;
  }
  return buf.p;
}

template <class F>
void tile_planes(const void* g, size_t g_bytes, int64_t n_groups, int64_t n_rows, const void* a,
                 size_t as, int64_t n_tok, int64_t n, float* y, int64_t ys) {
  static constexpr auto kFns =
      micro_table_planes<F>(std::make_integer_sequence<int, kMaxTok - kMinTok + 1>());
  const auto* gb = static_cast<const uint8_t*>(g);
  const auto* abytes = static_cast<const uint8_t*>(a);
  const int64_t nb = n / 256;
  const size_t group_planes = size_t(nb) * kPlaneBytes;
  uint8_t* planes = n_tok >= kMinTok ? plane_buffer(group_planes * size_t(n_groups)) : nullptr;
  int64_t t = 0;
  if (planes) {
    for (int64_t gi = 0; gi < n_groups; ++gi)
      F::build(gb + size_t(gi) * g_bytes, nb, planes + size_t(gi) * group_planes);
    int loaded_m = 0;
    for (; n_tok - t >= kMinTok; t += kMaxTok) {
      const int m = int(std::min<int64_t>(kMaxTok, n_tok - t));
      if (m != loaded_m) load_config_planes(loaded_m = m);
      for (int64_t gi = 0; gi < n_groups; ++gi) {
        const int64_t rows = std::min<int64_t>(kPackRows, n_rows - gi * kPackRows);
        const __mmask16 mask = rows >= 16 ? __mmask16(0xffff) : __mmask16((1u << rows) - 1);
        kFns[m - kMinTok](planes + size_t(gi) * group_planes, gb + size_t(gi) * g_bytes, nb,
                          abytes + t * as, as, y + t * ys + gi * kPackRows, ys, mask);
      }
    }
    _tile_release();
  }
  if (t < n_tok)
    avx512_packed_tile(F::kType)(g, g_bytes, n_groups, n_rows, abytes + t * as, as, n_tok - t, n,
                                 y + t * ys, ys);
}

template <class F, int... Ms>
constexpr std::array<MicroFn, sizeof...(Ms)> micro_table(std::integer_sequence<int, Ms...>) {
  return {&F::template run<Ms + kMinTok>...};
}

// Token chunks of up to 16 outer, groups inner; fewer than kMinTok tokens left: the VNNI tile.
template <class F>
void tile(const void* g, size_t g_bytes, int64_t n_groups, int64_t n_rows, const void* a, size_t as,
          int64_t n_tok, int64_t n, float* y, int64_t ys) {
  // Only kMinTok..kMaxTok tokens ever reach a microkernel: fewer go to the VNNI tile.
  static constexpr auto kFns =
      micro_table<F>(std::make_integer_sequence<int, kMaxTok - kMinTok + 1>());
  const auto* gb = static_cast<const uint8_t*>(g);
  const auto* abytes = static_cast<const uint8_t*>(a);
  int64_t t = 0;
  int loaded_m = 0;
  for (; n_tok - t >= kMinTok; t += kMaxTok) {
    const int m = int(std::min<int64_t>(kMaxTok, n_tok - t));
    if (m != loaded_m) load_config(loaded_m = m, F::kABytes);
    for (int64_t gi = 0; gi < n_groups; ++gi) {
      const int64_t rows = std::min<int64_t>(kPackRows, n_rows - gi * kPackRows);
      const __mmask16 mask = rows >= 16 ? __mmask16(0xffff) : __mmask16((1u << rows) - 1);
      kFns[m - kMinTok](gb + size_t(gi) * g_bytes, n / F::kBlock, abytes + t * as, as,
                        y + t * ys + gi * kPackRows, ys, mask);
    }
  }
  if (loaded_m) _tile_release();  // back to the init state: cheaper context switches
  if (t < n_tok)
    avx512_packed_tile(F::kType)(g, g_bytes, n_groups, n_rows, abytes + t * as, as, n_tok - t, n,
                                 y + t * ys, ys);
}

}  // namespace

PackedTileFn amx_packed_tile(DType t) {
  static const bool usable = cpu_features().amx_int8 && request_tile_permission();
  if (!usable) return nullptr;
  if (t == DType::kQ8_0) return &tile<Q0Family<Q8_0Amx>>;
  if (t == DType::kQ4_0) return &tile<Q0Family<Q4_0Amx>>;
  if (t == DType::kQ4_K) return &tile_planes<Q4_KPlanes>;
  if (t == DType::kQ6_K) return &tile_planes<Q6_KPlanes>;
  return nullptr;
}

int amx_packed_tile_tokens() {
  return kMaxTok;
}

}  // namespace silica::kernels_internal

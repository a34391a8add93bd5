// x86 dots of the GGUF types beside the main ones: the k-quants q2_K and q3_K (in Q2_K / Q3_K_M
// files) and the legacy q4_1, q5_0 and q5_1. Each is a row-tile kernel (kernels/row_tile.h): one
// weight row unpacked once for up to kRowTileTokens tokens, its 1-token case the vec_dot. Included
// by avx2_kernels.cc and avx512_kernels.cc after x86_common.h; internal linkage, as there.
#pragma once

#include <type_traits>
#include <vector>

namespace {

// The 16 per-16-element scales of a k-quant super-block (bytes, in sub-block order) as int16,
// the even sub-blocks in the low 128-bit lane and the odd ones in the high lane, so that
// scale_pair(k) is one pshufb: sub-block 2k's scale across the low lane and 2k + 1's across the
// high lane, the two halves of the 32 elements that chunk k covers.
inline __m256i scales_even_odd(__m128i bytes, bool is_signed) {
  const __m128i split =
      _mm_shuffle_epi8(bytes, _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15));
  return is_signed ? _mm256_cvtepi8_epi16(split) : _mm256_cvtepu8_epi16(split);
}
inline __m256i scale_pair(__m256i even_odd, int k) {
  return _mm256_shuffle_epi8(even_odd, _mm256_set1_epi16(short((2 * k + 1) << 8 | 2 * k)));
}

// The 8 chunk products of a q2_K / q3_K super-block against T tokens: chunk k = 4h + j is the
// 2-bit field j of qs[32h..32h + 31] (its 16-bit shift carries the high byte's bits into the low
// byte's top: masked off), or'ed with high() (q3_K's third bit; called once a chunk, in order),
// its 32 products maddubs then madd by the scales of sub-blocks 2k and 2k + 1.
template <int T, class High>
inline void k2_chunks(const uint8_t* qs, const BlockQ8_K* const (&y)[T], int64_t i, __m256i scales,
                      __m256i (&sumi)[T], High high) {
  const __m256i k3 = _mm256_set1_epi8(3);
  SILICA_UNROLL
  for (int t = 0; t < T; ++t) sumi[t] = _mm256_setzero_si256();
  SILICA_UNROLL
  for (int h = 0; h < 2; ++h) {
    const __m256i q2 = loadu256(qs + 32 * h);
    SILICA_UNROLL
    for (int j = 0; j < 4; ++j) {
      const __m256i q = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q2, 2 * j), k3), high());
      const __m256i s = scale_pair(scales, 4 * h + j);
      SILICA_UNROLL
      for (int t = 0; t < T; ++t) {
        const __m256i p = _mm256_maddubs_epi16(q, loadu256(y[t][i].qs + 128 * h + 32 * j));
        sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(p, s));
        keep_in_register<T>(sumi[t]);
      }
    }
  }
}

// q2_K: q in 0..3 (element 128h + 32j + l at bits 2j of qs[32h + l]), value = d * sc * q -
// dmin * m with a 4-bit scale and min per 16 elements: k2_chunks, and the mins term one madd of
// the q8_K per-16 sums.
struct Q2K {
  using Block = BlockQ2_K;
  using Act = BlockQ8_K;
  static constexpr int kElems = kQK_K;
  template <int T>
  static void micro(const Block* x, const Act* const (&y)[T], int64_t nb, float* out, int64_t ys) {
    const __m128i kLow = _mm_set1_epi8(0x0f);
    __m256 acc[T];  // the scale term minus the mins term, one register a token
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; ++i) {
      row_prefetch<T, sizeof(Block)>(x + i);
      const __m128i sc = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x[i].scales));
      const __m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sc, 4), kLow));
      const __m256i scales = scales_even_odd(_mm_and_si128(sc, kLow), false);
      __m256i sumi[T];
      k2_chunks(x[i].qs, y, i, scales, sumi, [] { return _mm256_setzero_si256(); });
      const float xd = half_to_float(x[i].d), xmin = half_to_float(x[i].dmin);
      SILICA_UNROLL
      for (int t = 0; t < T; ++t) {
        const __m256i summ = _mm256_madd_epi16(loadu256(y[t][i].bsums), mins);
        acc[t] =
            _mm256_fmadd_ps(_mm256_set1_ps(y[t][i].d * xd), _mm256_cvtepi32_ps(sumi[t]), acc[t]);
        acc[t] =
            _mm256_fnmadd_ps(_mm256_set1_ps(y[t][i].d * xmin), _mm256_cvtepi32_ps(summ), acc[t]);
      }
    }
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) out[t * ys] = hsum_f32x8(acc[t]);
  }
};

// q3_K's 16 scales, 6 bits biased by 32, from its 12 packed bytes read as three words: the low
// nibbles of scales 0..7 and 8..15 are the low and high nibbles of words 0 and 1, their top two
// bits the bit pairs of word 2. Returns the signed scales in sub-block order.
inline __m128i q3k_scales(const uint8_t* q) {
  uint32_t w[3];
  std::memcpy(w, q, 12);
  constexpr uint32_t kNib = 0x0f0f0f0f, k2 = 0x03030303;
  const __m128i biased = _mm_setr_epi32(int((w[0] & kNib) | ((w[2] & k2) << 4)),
                                        int((w[1] & kNib) | (((w[2] >> 2) & k2) << 4)),
                                        int(((w[0] >> 4) & kNib) | (((w[2] >> 4) & k2) << 4)),
                                        int(((w[1] >> 4) & kNib) | (((w[2] >> 6) & k2) << 4)));
  return _mm_sub_epi8(biased, _mm_set1_epi8(32));
}

// q3_K: q = (2 low bits as q2_K | the hmask bit << 2) - 4, value = d * sc * q with signed 6-bit
// scales per 16. The products use the unsigned q + 4 (0..7, maddubs-ready); the -4 comes back
// once per block as 4 * sum_s sc_s * bsums_s.
struct Q3K {
  using Block = BlockQ3_K;
  using Act = BlockQ8_K;
  static constexpr int kElems = kQK_K;
  template <int T>
  static void micro(const Block* x, const Act* const (&y)[T], int64_t nb, float* out, int64_t ys) {
    const __m256i k4 = _mm256_set1_epi8(4);
    __m256 acc[T];
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; ++i) {
      row_prefetch<T, sizeof(Block)>(x + i);
      const __m128i sc8 = q3k_scales(x[i].scales);
      const __m256i sc_in_order = _mm256_cvtepi8_epi16(sc8);
      const __m256i scales = scales_even_odd(sc8, true);
      // Chunk k's high bits are bit k of hmask[l]: hs >> k, moved to bit 2 (the 16-bit shifts'
      // carries fall outside the mask).
      __m256i hs = loadu256(x[i].hmask);
      __m256i sumi[T];
      k2_chunks(x[i].qs, y, i, scales, sumi, [&] {
        const __m256i bit = _mm256_and_si256(_mm256_slli_epi16(hs, 2), k4);
        hs = _mm256_srli_epi16(hs, 1);
        return bit;
      });
      const float xd = half_to_float(x[i].d);
      SILICA_UNROLL
      for (int t = 0; t < T; ++t) {
        const __m256i offset = _mm256_madd_epi16(loadu256(y[t][i].bsums), sc_in_order);
        const __m256i total = _mm256_sub_epi32(sumi[t], _mm256_slli_epi32(offset, 2));
        acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(y[t][i].d * xd), _mm256_cvtepi32_ps(total), acc[t]);
      }
    }
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) out[t * ys] = hsum_f32x8(acc[t]);
  }
};

// The 5th bits of a q5_0 / q5_1 block (32 bits, bit j for element j) as 0x10 in byte j.
inline __m256i fifth_bits_32(const uint8_t* qh) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  // Byte j takes byte j / 8 of the word (each 128-bit lane holds a copy), then tests bit j % 8.
  const __m256i spread =
      _mm256_shuffle_epi8(_mm256_set1_epi32(int(bits)),
                          _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2,
                                           2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
  const __m256i sel = _mm256_set1_epi64x(int64_t(0x8040201008040201ull));
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, sel), sel);
  return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

// The legacy types' activations as their tiles read them (act_prep): groups of 8 q8_0 / q8_1
// blocks with the block scales (and q8_1's s) widened to float side by side, so that four blocks'
// scales are one load and four blocks' integer sums meet in one convert and one FMA. A short
// last group is zero-padded.
struct alignas(64) LegacyActGroup {
  float d[8];
  float s[8];
  int8_t qs[8 * 32];
};
static_assert(sizeof(LegacyActGroup) % silica::kActPrepAlign == 0);

template <class A>
void legacy_act_prep(const void* a, void* out, int64_t n) {
  const auto* y = static_cast<const A*>(a);
  auto* g = static_cast<LegacyActGroup*>(out);
  const int64_t nb = n / 32;
  for (int64_t i0 = 0; i0 < nb; i0 += 8, ++g) {
    const int cnt = int(std::min<int64_t>(8, nb - i0));
    if (cnt < 8) std::memset(static_cast<void*>(g), 0, sizeof(*g));
    for (int k = 0; k < cnt; ++k) {
      g->d[k] = half_to_float(y[i0 + k].d);
      if constexpr (std::is_same_v<A, BlockQ8_1>) {
        g->s[k] = half_to_float(y[i0 + k].s);
      } else {  // q8_0 has no s: d * sum(q), for q5_0's offset
        int sum = 0;
        for (int j = 0; j < 32; ++j) sum += y[i0 + k].qs[j];
        g->s[k] = g->d[k] * float(sum);
      }
      std::memcpy(g->qs + 32 * k, y[i0 + k].qs, 32);
    }
  }
}
size_t legacy_act_prep_size(int64_t n) {
  return size_t((n / 32 + 7) / 8) * sizeof(LegacyActGroup);
}

// The legacy 32-element types: q = the nibbles (element j low in qs[j], j + 16 high), plus the
// 5th bit for q5_*, always unsigned; q4_1 / q5_1 are affine (d * q + m) and q5_0 is d * (q - 16),
// which is the same with m = -16 d: the m term is m * s once a block, s = d_a * sum(a) (q8_1's
// own, or computed by act_prep from q8_0). Four blocks at a time: their int32 sums are folded by
// three hadds into one vector (lanes: blocks 0..3 of the low halves, then of the high halves)
// scaled by [d0..d3, d0..d3] in one FMA.
template <class B, class A, bool kFifth, bool kAffine>
struct Legacy {
  using Block = B;
  using Act = LegacyActGroup;
  using Q8 = A;  // the vec_dot_type
  static constexpr int kElems = 32;

  // Block i + k's integers for k < cnt (zero beyond), its scales in xd4 and offsets in xm4.
  static void load_quad(const Block* x, int cnt, __m256i (&q)[4], __m128& xd4, __m128& xm4) {
    uint16_t d[4] = {0, 0, 0, 0}, m[4] = {0, 0, 0, 0};
    SILICA_UNROLL
    for (int k = 0; k < 4; ++k) {
      if (k >= cnt) {
        q[k] = _mm256_setzero_si256();
        continue;
      }
      q[k] = unpack_nibbles_16(x[k].qs);
      if constexpr (kFifth) q[k] = _mm256_or_si256(q[k], fifth_bits_32(x[k].qh));
      d[k] = x[k].d;
      if constexpr (kAffine) m[k] = x[k].m;
    }
    xd4 = _mm_cvtph_ps(
        _mm_setr_epi16(short(d[0]), short(d[1]), short(d[2]), short(d[3]), 0, 0, 0, 0));
    if constexpr (kAffine) {
      xm4 = _mm_cvtph_ps(
          _mm_setr_epi16(short(m[0]), short(m[1]), short(m[2]), short(m[3]), 0, 0, 0, 0));
    } else {
      xm4 = _mm_mul_ps(xd4, _mm_set1_ps(-16.0f));
    }
  }

  template <int T>
  static void micro(const Block* x, const Act* const (&y)[T], int64_t nb, float* out, int64_t ys) {
    __m256 acc[T];
    __m128 mins[T];
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps(), mins[t] = _mm_setzero_ps();
    for (int64_t i = 0; i < nb; i += 4) {
      row_prefetch<T, 4 * sizeof(Block)>(x + i);
      __m256i q[4];
      __m128 xd4, xm4;
      load_quad(x + i, int(std::min<int64_t>(4, nb - i)), q, xd4, xm4);
      const __m256 xd8 = _mm256_set_m128(xd4, xd4);
      const int64_t g = i / 8;
      const int off = int(i % 8);  // 0 or 4
      SILICA_UNROLL
      for (int t = 0; t < T; ++t) {
        const LegacyActGroup& ag = y[t][g];
        __m256i p[4];
        SILICA_UNROLL
        for (int k = 0; k < 4; ++k) {
          const __m256i a = loadu256(ag.qs + 32 * (off + k));
          p[k] = dot_u8s8(_mm256_setzero_si256(), q[k], a);
        }
        const __m256i h =
            _mm256_hadd_epi32(_mm256_hadd_epi32(p[0], p[1]), _mm256_hadd_epi32(p[2], p[3]));
        const __m256 scale =
            _mm256_mul_ps(xd8, _mm256_broadcast_ps(reinterpret_cast<const __m128*>(ag.d + off)));
        acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(h), scale, acc[t]);
        mins[t] = _mm_fmadd_ps(xm4, _mm_loadu_ps(ag.s + off), mins[t]);
      }
    }
    SILICA_UNROLL
    for (int t = 0; t < T; ++t) {
      __m128 m = _mm_add_ps(mins[t], _mm_movehl_ps(mins[t], mins[t]));
      m = _mm_add_ss(m, _mm_movehdup_ps(m));
      out[t * ys] = hsum_f32x8(acc[t]) + _mm_cvtss_f32(m);
    }
  }

  // The tile's 1-token case on a row prepared here, a stack buffer for rows up to 16k elements.
  static float vec_dot(const void* a, const void* b, int64_t n) {
    constexpr int64_t kStackGroups = 64;
    const int64_t groups = (n / 32 + 7) / 8;
    LegacyActGroup stack[kStackGroups];
    std::vector<LegacyActGroup> heap(groups > kStackGroups ? size_t(groups) : 0);
    LegacyActGroup* prep = groups > kStackGroups ? heap.data() : stack;
    legacy_act_prep<Q8>(b, prep, n);
    const Act* y[1] = {prep};
    float out;
    micro<1>(static_cast<const Block*>(a), y, n / 32, &out, 0);
    return out;
  }
};
using Q41 = Legacy<BlockQ4_1, BlockQ8_1, false, true>;
using Q50 = Legacy<BlockQ5_0, BlockQ8_0, true, false>;
using Q51 = Legacy<BlockQ5_1, BlockQ8_1, true, true>;

template <class K>
void set_legacy_kernels(silica::kernels_internal::KernelTable& table, DType t) {
  silica::kernels_internal::entry(table, t).vec_dot = &K::vec_dot;
  silica::kernels_internal::entry(table, t).dot_tile = &row_tile<K>;
  silica::kernels_internal::entry(table, t).act_prep = &legacy_act_prep<typename K::Q8>;
  silica::kernels_internal::entry(table, t).act_prep_size = &legacy_act_prep_size;
}

// The row-tile types' entries, the same on AVX2 and AVX-512.
void fill_row_kernels(silica::kernels_internal::KernelTable& table) {
  set_row_kernels<Q5K>(table, DType::kQ5_K);
  set_row_kernels<Q2K>(table, DType::kQ2_K);
  set_row_kernels<Q3K>(table, DType::kQ3_K);
  set_legacy_kernels<Q41>(table, DType::kQ4_1);
  set_legacy_kernels<Q50>(table, DType::kQ5_0);
  set_legacy_kernels<Q51>(table, DType::kQ5_1);
  silica::kernels_internal::entry(table, DType::kQ8_1).from_float = &from_float_q8<BlockQ8_1>;
}

}  // namespace

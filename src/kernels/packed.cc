// Packed (row-interleaved) matrices: the layout, packing, row lookup, the activation
// preparation, and the scalar twin of the packed tile that the SIMD tiles must equal bit for bit.
#include "kernels/packed.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <vector>

#include "base/half.h"
#include "base/large_alloc.h"
#include "base/mapped_file.h"
#include "kernels/kernel_tables.h"
#include "tensor/blocks.h"
#include "tensor/kquant_layout.h"

namespace silica {
namespace {

// Per-type layout facts: bytes of one block's values for the whole group, the unsigned offset.
struct Q4_0Layout {
  using Block = BlockQ4_0;
  static constexpr int64_t kValueBytes = kPackRows * 16;
  static constexpr int32_t kOffset = 8;
  // The 4 bytes of piece j (j < 4) of row l: the file's qs[4j..4j+3] (two elements each).
  static void put(const Block& b, int j, uint8_t* out) { std::memcpy(out, b.qs + 4 * j, 4); }
  static constexpr int kPieces = 4;
  // Element e of a block from the packed values of one row.
  static int value(const uint8_t* vals, int64_t l, int e) {
    const int j = (e % 16) / 4, c = e % 4;
    const uint8_t byte = vals[j * 64 + 4 * l + c];
    return e < 16 ? (byte & 0x0f) : (byte >> 4);
  }
};

struct Q8_0Layout {
  using Block = BlockQ8_0;
  static constexpr int64_t kValueBytes = kPackRows * 32;
  static constexpr int32_t kOffset = 128;
  // The 4 bytes with their top bits flipped (w + 128) as one word: byte at a time, the
  // repacking of a Q8_0 model had been 40% of its load.
  static void put(const Block& b, int j, uint8_t* out) {
    uint32_t v;
    std::memcpy(&v, b.qs + 4 * j, 4);
    v ^= 0x80808080u;
    std::memcpy(out, &v, 4);
  }
  static constexpr int kPieces = 8;
  static int value(const uint8_t* vals, int64_t l, int e) {
    return vals[(e / 4) * 64 + 4 * l + e % 4];
  }
};

template <class L>
size_t group_bytes(int64_t n) {
  return size_t(q0_group_bytes(n / 32, L::kValueBytes));
}

template <class L>
void pack_group(const void* w, size_t w_stride, int64_t n_rows, int64_t n, void* out) {
  const int64_t nb = n / 32;
  auto* g = static_cast<uint8_t*>(out);
  // Padding rows (scale 0) and the unused half of an odd nb's last pair.
  if (n_rows < kPackRows || nb % 2) std::memset(out, 0, group_bytes<L>(n));
  for (int64_t l = 0; l < n_rows; ++l) {
    const auto* row =
        reinterpret_cast<const typename L::Block*>(static_cast<const uint8_t*>(w) + l * w_stride);
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* vals = g + q0_values_at(b, L::kValueBytes);
      for (int j = 0; j < L::kPieces; ++j) L::put(row[b], j, vals + j * 64 + 4 * l);
      std::memcpy(g + q0_scales_at(b, L::kValueBytes) + 2 * l, &row[b].d, 2);
    }
  }
}

template <class L>
void row_to_float(const void* group, int64_t lane, int64_t n, float* y) {
  const int64_t nb = n / 32;
  const auto* g = static_cast<const uint8_t*>(group);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* vals = q0_values(g, b, L::kValueBytes);
    const float d = fp16_to_f32(q0_scales(g, b, L::kValueBytes)[lane]);
    for (int e = 0; e < 32; ++e) y[b * 32 + e] = float(L::value(vals, lane, e) - L::kOffset) * d;
  }
}

// q8_0 row -> PackedActBlock row; n a multiple of 32.
template <class L>
void act_prep(const void* a, void* out, int64_t n) {
  const auto* in = static_cast<const BlockQ8_0*>(a);
  auto* o = static_cast<PackedActBlock*>(out);
  for (int64_t b = 0; b < n / 32; ++b) {
    int32_t sum = 0;
    for (int e = 0; e < 32; ++e) sum += in[b].qs[e];
    std::memcpy(o[b].qs, in[b].qs, 32);
    o[b].neg = -L::kOffset * sum;
    o[b].d = fp16_to_f32(in[b].d);
  }
}

// The scalar twin: per (row, token) acc = fma(float(isum_b), dw_b * da_b, acc) over blocks in
// order, isum_b exact in int32. The SIMD tiles do exactly these float operations per lane.
template <class L>
void tile_ref(const void* g, size_t g_bytes, int64_t n_groups, int64_t n_rows, const void* a,
              size_t as, int64_t n_tok, int64_t n, float* y, int64_t ys) {
  const int64_t nb = n / 32;
  for (int64_t gi = 0; gi < n_groups; ++gi) {
    const auto* group = static_cast<const uint8_t*>(g) + size_t(gi) * g_bytes;
    for (int64_t l = 0; l < kPackRows && gi * kPackRows + l < n_rows; ++l)
      for (int64_t t = 0; t < n_tok; ++t) {
        const auto* ab =
            reinterpret_cast<const PackedActBlock*>(static_cast<const uint8_t*>(a) + t * as);
        float acc = 0.0f;
        for (int64_t b = 0; b < nb; ++b) {
          const uint8_t* vals = q0_values(group, b, L::kValueBytes);
          int32_t isum = ab[b].neg;
          for (int e = 0; e < 32; ++e) isum += L::value(vals, l, e) * int32_t(ab[b].qs[e]);
          const float s = fp16_to_f32(q0_scales(group, b, L::kValueBytes)[l]) * ab[b].d;
          acc = std::fma(float(isum), s, acc);
        }
        y[t * ys + gi * kPackRows + l] = acc;
      }
  }
}

size_t act_prep_size_q0(int64_t n) {
  return size_t(n / 32) * sizeof(PackedActBlock);
}

template <class L>
PackedKernels make_kernels(DType t, PackedTileFn tile, int tile_tokens) {
  return {t,
          DType::kQ8_0,
          &group_bytes<L>,
          &pack_group<L>,
          &row_to_float<L>,
          &act_prep<L>,
          &act_prep_size_q0,
          tile,
          tile_tokens};
}

// ---- Q4_K (layout in packed.h).

size_t group_bytes_q4_K(int64_t n) {
  return size_t(n / 256) * kPackQ4_KBytes;
}

void pack_group_q4_K(const void* w, size_t w_stride, int64_t n_rows, int64_t n, void* out) {
  const int64_t nb = n / 256;
  if (n_rows < kPackRows) std::memset(out, 0, group_bytes_q4_K(n));  // padding rows
  for (int64_t l = 0; l < n_rows; ++l) {
    const auto* row =
        reinterpret_cast<const BlockQ4_K*>(static_cast<const uint8_t*>(w) + l * w_stride);
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* sb = static_cast<uint8_t*>(out) + b * kPackQ4_KBytes;
      for (int p = 0; p < 4; ++p)
        for (int c = 0; c < 8; ++c)
          std::memcpy(sb + kQ4KNibbles + (p * 8 + c) * 64 + 4 * l, row[b].qs + 32 * p + 4 * c, 4);
      for (int sub = 0; sub < 8; ++sub) {
        const ref::KScaleMin sm = ref::kscale_get(row[b].scales, sub);
        sb[kQ4KScales + sub * kPackRows + l] = uint8_t(sm.scale);
        sb[kQ4KMins + (sub / 2) * 32 + 2 * l + sub % 2] = uint8_t(sm.min);
      }
      reinterpret_cast<uint16_t*>(sb + kQ4KD)[l] = row[b].d;
      reinterpret_cast<uint16_t*>(sb + kQ4KDmin)[l] = row[b].dmin;
    }
  }
}

// Element e (< 256) of row l of a packed super-block, and its sub-block's scale and min.
int q4_K_value(const uint8_t* sb, int64_t l, int e) {
  const int p = e / 64, hi = (e % 64) / 32, c = (e % 32) / 4;
  return (sb[kQ4KNibbles + (p * 8 + c) * 64 + 4 * l + e % 4] >> (4 * hi)) & 0x0f;
}
int q4_K_scale(const uint8_t* sb, int64_t l, int sub) {
  return sb[kQ4KScales + sub * kPackRows + l];
}
int q4_K_min(const uint8_t* sb, int64_t l, int sub) {
  return sb[kQ4KMins + (sub / 2) * 32 + 2 * l + sub % 2];
}

void row_to_float_q4_K(const void* group, int64_t lane, int64_t n, float* y) {
  for (int64_t b = 0; b < n / 256; ++b) {
    const uint8_t* sb = static_cast<const uint8_t*>(group) + b * kPackQ4_KBytes;
    const float d = fp16_to_f32(reinterpret_cast<const uint16_t*>(sb + kQ4KD)[lane]);
    const float dmin = fp16_to_f32(reinterpret_cast<const uint16_t*>(sb + kQ4KDmin)[lane]);
    for (int sub = 0; sub < 8; ++sub) {
      const float dl = d * float(q4_K_scale(sb, lane, sub)),
                  ml = dmin * float(q4_K_min(sb, lane, sub));
      for (int i = 32 * sub; i < 32 * sub + 32; ++i)
        y[b * 256 + i] = dl * float(q4_K_value(sb, lane, i)) - ml;
    }
  }
}

void act_prep_q4_K(const void* a, void* out, int64_t n) {
  const auto* in = static_cast<const BlockQ8_K*>(a);
  auto* o = static_cast<PackedActBlockK*>(out);
  for (int64_t b = 0; b < n / 256; ++b) {
    std::memcpy(o[b].qs, in[b].qs, 256);
    o[b].d = in[b].d;
    for (int sub = 0; sub < 8; ++sub)
      o[b].bsum[sub] = int16_t(in[b].bsums[2 * sub] + in[b].bsums[2 * sub + 1]);
    std::memset(o[b].pad, 0, sizeof(o[b].pad));
  }
}
size_t act_prep_size_q4_K(int64_t n) {
  return size_t(n / 256) * sizeof(PackedActBlockK);
}

// The twin: per (row, token) and super-block, isc = sum_s sc_s * isum_s and imin = sum_s m_s *
// bsum_s exactly in int32, then acc = fma(float(isc), dw * da, acc) and
// acc = fma(-float(imin), dmin * da, acc).
void tile_ref_q4_K(const void* g, size_t g_bytes, int64_t n_groups, int64_t n_rows, const void* a,
                   size_t as, int64_t n_tok, int64_t n, float* y, int64_t ys) {
  for (int64_t gi = 0; gi < n_groups; ++gi)
    for (int64_t l = 0; l < kPackRows && gi * kPackRows + l < n_rows; ++l)
      for (int64_t t = 0; t < n_tok; ++t) {
        const auto* ab =
            reinterpret_cast<const PackedActBlockK*>(static_cast<const uint8_t*>(a) + t * as);
        float acc = 0.0f;
        for (int64_t b = 0; b < n / 256; ++b) {
          const uint8_t* sb =
              static_cast<const uint8_t*>(g) + size_t(gi) * g_bytes + b * kPackQ4_KBytes;
          int32_t isc = 0, imin = 0;
          for (int sub = 0; sub < 8; ++sub) {
            int32_t isum = 0;
            for (int i = 32 * sub; i < 32 * sub + 32; ++i)
              isum += q4_K_value(sb, l, i) * int32_t(ab[b].qs[i]);
            isc += q4_K_scale(sb, l, sub) * isum;
            imin += q4_K_min(sb, l, sub) * int32_t(ab[b].bsum[sub]);
          }
          const float dw = fp16_to_f32(reinterpret_cast<const uint16_t*>(sb + kQ4KD)[l]);
          const float dm = fp16_to_f32(reinterpret_cast<const uint16_t*>(sb + kQ4KDmin)[l]);
          acc = std::fma(float(isc), dw * ab[b].d, acc);
          acc = std::fma(-float(imin), dm * ab[b].d, acc);
        }
        y[t * ys + gi * kPackRows + l] = acc;
      }
}

// ---- Q6_K (layout in packed.h).

size_t group_bytes_q6_K(int64_t n) {
  return size_t(n / 256) * kPackQ6_KBytes;
}

void pack_group_q6_K(const void* w, size_t w_stride, int64_t n_rows, int64_t n, void* out) {
  const int64_t nb = n / 256;
  if (n_rows < kPackRows) {
    std::memset(out, 0, group_bytes_q6_K(n));  // padding rows
  } else {
    for (int64_t b = 0; b < nb; ++b) {  // each super-block's padding after its d
      uint8_t* tail = static_cast<uint8_t*>(out) + b * kPackQ6_KBytes + kQ6KD + 2 * kPackRows;
      std::memset(tail, 0, kQ6KValues - kQ6KD - 2 * kPackRows);
    }
  }
  for (int64_t l = 0; l < n_rows; ++l) {
    const auto* row =
        reinterpret_cast<const BlockQ6_K*>(static_cast<const uint8_t*>(w) + l * w_stride);
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* sb = static_cast<uint8_t*>(out) + b * kPackQ6_KBytes;
      const BlockQ6_K& q = row[b];
      // Whole bytes of the file's ql / qh to whole bytes of the layout, 4 elements (one packed
      // word) at a time: element by element the repacking had been 43% of a Q4_K_M model's load.
      // The file holds element e < 128's low nibble in ql[e % 64] (the low half of the byte for
      // e < 64) and e + 128's in ql[64 + e % 64]; element e's 2 high bits in qh[e % 32 + 32 * (e
      // >= 128)] at bits 2 * ((e % 128) / 32).
      uint8_t u[256];  // q + 32 of every element, in order
      for (int h = 0; h < 2; ++h)
        for (int e = 0; e < 32; ++e) {
          const int l0 = q.ql[64 * h + e], l1 = q.ql[64 * h + 32 + e], hb = q.qh[32 * h + e];
          uint8_t* o = u + 128 * h + e;
          o[0] = uint8_t((l0 & 0x0f) | ((hb << 4) & 0x30));
          o[32] = uint8_t((l1 & 0x0f) | ((hb << 2) & 0x30));
          o[64] = uint8_t((l0 >> 4) | (hb & 0x30));
          o[96] = uint8_t((l1 >> 4) | ((hb >> 2) & 0x30));
        }
      // Vector v of triple k, row l: piece k + 16v's 4 bytes with 2 bits of piece k + 48's on top.
      uint8_t vec[3][64];
      for (int e = 0; e < 64; ++e) {  // one statement a vector, so that the loop vectorizes
        const int top = u[192 + e];   // 6 bits: the uint8_t keeps the 2 shifted to bits 6-7
        vec[0][e] = uint8_t(u[e] | (top << 6));
        vec[1][e] = uint8_t(u[64 + e] | ((top >> 2) << 6));
        vec[2][e] = uint8_t(u[128 + e] | ((top >> 4) << 6));
      }
      for (int k = 0; k < 16; ++k)
        for (int v = 0; v < 3; ++v) std::memcpy(sb + q6k_vec_at(k, v) + 4 * l, vec[v] + 4 * k, 4);
      for (int sub = 0; sub < 16; ++sub)
        sb[kQ6KScales + (sub / 2) * 32 + 2 * l + sub % 2] = uint8_t(q.scales[sub]);
      reinterpret_cast<uint16_t*>(sb + kQ6KD)[l] = q.d;
    }
  }
}

int q6_K_value(const uint8_t* sb, int64_t l, int e) {  // 0..63
  const int j = e / 4, k = j % 16, v = j / 16;
  const uint8_t* at = sb + 4 * l + e % 4;
  if (v < 3) return at[q6k_vec_at(k, v)] & 0x3f;
  return (at[q6k_vec_at(k, 0)] >> 6) | ((at[q6k_vec_at(k, 1)] >> 6) << 2) |
         ((at[q6k_vec_at(k, 2)] >> 6) << 4);
}
int q6_K_scale(const uint8_t* sb, int64_t l, int sub) {
  return int8_t(sb[kQ6KScales + (sub / 2) * 32 + 2 * l + sub % 2]);
}

void row_to_float_q6_K(const void* group, int64_t lane, int64_t n, float* y) {
  for (int64_t b = 0; b < n / 256; ++b) {
    const uint8_t* sb = static_cast<const uint8_t*>(group) + b * kPackQ6_KBytes;
    const float d = fp16_to_f32(reinterpret_cast<const uint16_t*>(sb + kQ6KD)[lane]);
    for (int i = 0; i < 256; ++i)
      y[b * 256 + i] =
          d * float(q6_K_scale(sb, lane, i / 16)) * float(q6_K_value(sb, lane, i) - 32);
  }
}

// The twin: per (row, token) and super-block, isc = sum_s sc_s * dot_s(q, a) - 32 * sum_s sc_s *
// bsum_s exactly in int32 (sub-blocks of 16), then acc = fma(float(isc), dw * da, acc).
// Activations are plain q8_K rows (their per-16 bsums are what the offset needs).
void tile_ref_q6_K(const void* g, size_t g_bytes, int64_t n_groups, int64_t n_rows, const void* a,
                   size_t as, int64_t n_tok, int64_t n, float* y, int64_t ys) {
  for (int64_t gi = 0; gi < n_groups; ++gi)
    for (int64_t l = 0; l < kPackRows && gi * kPackRows + l < n_rows; ++l)
      for (int64_t t = 0; t < n_tok; ++t) {
        const auto* ab =
            reinterpret_cast<const BlockQ8_K*>(static_cast<const uint8_t*>(a) + t * as);
        float acc = 0.0f;
        for (int64_t b = 0; b < n / 256; ++b) {
          const uint8_t* sb =
              static_cast<const uint8_t*>(g) + size_t(gi) * g_bytes + b * kPackQ6_KBytes;
          int32_t isc = 0, ioff = 0;
          for (int sub = 0; sub < 16; ++sub) {
            int32_t isum = 0;
            for (int i = 16 * sub; i < 16 * sub + 16; ++i)
              isum += q6_K_value(sb, l, i) * int32_t(ab[b].qs[i]);
            isc += q6_K_scale(sb, l, sub) * isum;
            ioff += q6_K_scale(sb, l, sub) * int32_t(ab[b].bsums[sub]);
          }
          const float dw = fp16_to_f32(reinterpret_cast<const uint16_t*>(sb + kQ6KD)[l]);
          acc = std::fma(float(isc - 32 * ioff), dw * ab[b].d, acc);
        }
        y[t * ys + gi * kPackRows + l] = acc;
      }
}

size_t act_row_size_q8_K(int64_t n) {
  return dtype_row_size(DType::kQ8_K, n);
}

PackedKernels make_q6_K_kernels(PackedTileFn tile, int tile_tokens) {
  // No act_prep: the tile reads the q8_K rows themselves.
  return {DType::kQ6_K,       DType::kQ8_K, &group_bytes_q6_K,  &pack_group_q6_K,
          &row_to_float_q6_K, nullptr,      &act_row_size_q8_K, tile,
          tile_tokens};
}

PackedKernels make_q4_K_kernels(PackedTileFn tile, int tile_tokens) {
  return {DType::kQ4_K,       DType::kQ8_K,   &group_bytes_q4_K,   &pack_group_q4_K,
          &row_to_float_q4_K, &act_prep_q4_K, &act_prep_size_q4_K, tile,
          tile_tokens};
}

// ---- F16 / BF16 (layout in packed.h): the file's 16-bit values, element i of row l at
// [i][l]. Activations are rounded to the weight type as the unpacked dot does, then widened to
// f32 rows once (act_prep) so that the tile broadcasts them straight from memory.
using HalfToF32 = float (*)(uint16_t);

size_t group_bytes_half(int64_t n) {
  return size_t(n) * kPackRows * sizeof(uint16_t);
}

void pack_group_half(const void* w, size_t w_stride, int64_t n_rows, int64_t n, void* out) {
  auto* o = static_cast<uint16_t*>(out);
  if (n_rows < kPackRows) std::memset(out, 0, group_bytes_half(n));  // padding rows: +0
  for (int64_t l = 0; l < n_rows; ++l) {
    const auto* row =
        reinterpret_cast<const uint16_t*>(static_cast<const uint8_t*>(w) + l * w_stride);
    for (int64_t i = 0; i < n; ++i) o[i * kPackRows + l] = row[i];
  }
}

template <HalfToF32 kToF32>
void row_to_float_half(const void* group, int64_t lane, int64_t n, float* y) {
  const auto* g = static_cast<const uint16_t*>(group);
  for (int64_t i = 0; i < n; ++i) y[i] = kToF32(g[i * kPackRows + lane]);
}

size_t act_prep_size_half(int64_t n) {
  return size_t(n) * sizeof(float);
}

// The twin: per (row, token) two fma chains, even and odd elements in order, added at the end
// (two chains keep a 1-token decode from waiting on one FMA's latency).
template <HalfToF32 kToF32>
void tile_ref_half(const void* g, size_t g_bytes, int64_t n_groups, int64_t n_rows, const void* a,
                   size_t as, int64_t n_tok, int64_t n, float* y, int64_t ys) {
  for (int64_t gi = 0; gi < n_groups; ++gi) {
    const auto* w =
        reinterpret_cast<const uint16_t*>(static_cast<const uint8_t*>(g) + size_t(gi) * g_bytes);
    for (int64_t l = 0; l < kPackRows && gi * kPackRows + l < n_rows; ++l)
      for (int64_t t = 0; t < n_tok; ++t) {
        const auto* x = reinterpret_cast<const float*>(static_cast<const uint8_t*>(a) + t * as);
        float acc0 = 0.0f, acc1 = 0.0f;
        for (int64_t i = 0; i < n; i += 2) {
          acc0 = std::fma(kToF32(w[i * kPackRows + l]), x[i], acc0);
          acc1 = std::fma(kToF32(w[(i + 1) * kPackRows + l]), x[i + 1], acc1);
        }
        y[t * ys + gi * kPackRows + l] = acc0 + acc1;
      }
  }
}

template <HalfToF32 kToF32>
PackedKernels make_half_kernels(DType t, PackedTileFn tile, int tile_tokens) {
  return {t,
          t,
          &group_bytes_half,
          &pack_group_half,
          &row_to_float_half<kToF32>,
          &kernels_internal::widen_half_row<kToF32>,
          &act_prep_size_half,
          tile,
          tile_tokens};
}

// Tokens per call of the twins: any value gives the same bits; 8 keeps the tiling realistic.
constexpr int kRefTileTokens = 8;

constexpr DType kPackedTypes[] = {DType::kQ4_0, DType::kQ8_0, DType::kQ4_K,
                                  DType::kQ6_K, DType::kF16,  DType::kBF16};
using PackedSet = std::array<PackedKernels, std::size(kPackedTypes)>;

// Type t's layout functions around a tile (null: the set has no kernels for t).
PackedKernels kernels_for(DType t, PackedTileFn tile, int tile_tokens) {
  switch (t) {
    case DType::kQ4_0:
      return make_kernels<Q4_0Layout>(t, tile, tile_tokens);
    case DType::kQ8_0:
      return make_kernels<Q8_0Layout>(t, tile, tile_tokens);
    case DType::kQ4_K:
      return make_q4_K_kernels(tile, tile_tokens);
    case DType::kQ6_K:
      return make_q6_K_kernels(tile, tile_tokens);
    case DType::kF16:
      return make_half_kernels<fp16_to_f32>(t, tile, tile_tokens);
    default:
      return make_half_kernels<bf16_to_f32>(DType::kBF16, tile, tile_tokens);
  }
}

// One implementation's kernels for every packed type: tile_of(t), tokens_of(t) per type.
template <class TileOf, class TokensOf>
PackedSet make_set(TileOf tile_of, TokensOf tokens_of, int min_call_tokens = 0) {
  PackedSet set;
  for (size_t i = 0; i < set.size(); ++i) {
    set[i] = kernels_for(kPackedTypes[i], tile_of(kPackedTypes[i]), tokens_of(kPackedTypes[i]));
    set[i].min_call_tokens = min_call_tokens;
  }
  return set;
}

const PackedKernels* find_in(const PackedSet& set, DType t) {
  for (const PackedKernels& k : set)
    if (k.type == t) return k.tile ? &k : nullptr;
  return nullptr;
}

PackedTileFn reference_tile(DType t) {
  switch (t) {
    case DType::kQ4_0:
      return &tile_ref<Q4_0Layout>;
    case DType::kQ8_0:
      return &tile_ref<Q8_0Layout>;
    case DType::kQ4_K:
      return &tile_ref_q4_K;
    case DType::kQ6_K:
      return &tile_ref_q6_K;
    case DType::kF16:
      return &tile_ref_half<fp16_to_f32>;
    default:
      return &tile_ref_half<bf16_to_f32>;
  }
}

}  // namespace

const PackedKernels* packed_reference_kernels(DType t) {
  static const PackedSet set = make_set(&reference_tile, [](DType) { return kRefTileTokens; });
  return find_in(set, t);
}

namespace {

#if defined(SILICA_HAVE_X86)
const PackedKernels* avx2_kernels(DType t) {
  static const PackedSet set =
      make_set(&kernels_internal::avx2_packed_tile, &kernels_internal::avx2_packed_tile_tokens);
  return find_in(set, t);
}

const PackedKernels* avx512_kernels(DType t) {
  static const PackedSet set =
      make_set(&kernels_internal::avx512_packed_tile, &kernels_internal::avx512_packed_tile_tokens);
  return find_in(set, t);
}

// Where 512-bit operations run as two 256-bit halves (Zen 4), F16 stays in rows (unpacked, or
// sliced rows when wide). Measured, 1B shape: on a Zen 4, F16 unpacked loads in 82 ms warm / 110
// cold instead of 1110 / 2657 (llama.cpp 1015-1066 / 2089-2897) for a pp512 12% lower (still
// 1.86x / 1.98x llama.cpp, 1 / 2 threads) and the same tg; on a 16-core Sapphire Rapids Xeon,
// packed F16 ran pp512 590 vs 363 t/s and tg 47 vs 33.
const PackedKernels* avx512_kernels_here(DType t) {
  if (cpu_features().avx512_split && t == DType::kF16) return sliced_rows_kernels(t, Isa::kAvx512);
  return avx512_kernels(t);
}

// AMX tiles get at least 64 tokens a call: the Q6_K tile's B planes are built once per call
// (Q4_K_M pp512 +8-12% over 16-token calls for ffn_down; Q8_0 / Q4_0 unchanged).
constexpr int kAmxMinCallTokens = 64;

// Null without AMX-INT8 (or the OS's permission), for types without an AMX tile, or with
// SILICA_NO_AMX set (to compare against the VNNI tiles).
const PackedKernels* amx_kernels(DType t) {
  static const PackedSet set = make_set(
      &kernels_internal::amx_packed_tile,
      [](DType) { return kernels_internal::amx_packed_tile_tokens(); }, kAmxMinCallTokens);
  return find_in(set, t);
}

bool amx_disabled_by_env() {
  const char* v = std::getenv("SILICA_NO_AMX");
  return v && *v && std::strcmp(v, "0") != 0;
}
#endif

#if defined(SILICA_HAVE_NEON)
// Null without FEAT_DotProd (its int8 dots would take the widening-multiply path) or for types
// without a NEON tile.
const PackedKernels* neon_kernels(DType t) {
  if (!cpu_features().dotprod) return nullptr;
  static const PackedSet set = make_set(&kernels_internal::neon_packed_tile, [](DType) {
    return kernels_internal::neon_packed_tile_tokens();
  });
  return find_in(set, t);
}
#endif

}  // namespace

const PackedKernels* packed_kernels(DType t, Isa isa) {
#if defined(SILICA_HAVE_X86)
  if (isa == Isa::kAvx512) {
    if (const PackedKernels* k = amx_disabled_by_env() ? nullptr : amx_kernels(t)) return k;
    return avx512_kernels_here(t);
  }
  if (isa == Isa::kAvx2) {
    if (const PackedKernels* k = avx2_kernels(t)) return k;
    return sliced_rows_kernels(t, isa);  // F16 has no AVX2 packing: rows, sliced when wide
  }
#endif
#if defined(SILICA_HAVE_NEON)
  if (isa == Isa::kNeon) return neon_kernels(t);
#endif
  (void)t;
  (void)isa;
  return nullptr;
}

std::vector<const PackedKernels*> packed_kernel_variants(DType t) {
  std::vector<const PackedKernels*> out;
#if defined(SILICA_HAVE_X86)
  const std::vector<Isa> isas = available_isas();
  if (std::find(isas.begin(), isas.end(), Isa::kAvx2) != isas.end()) {
    if (const PackedKernels* k = avx2_kernels(t)) out.push_back(k);
  }
  if (std::find(isas.begin(), isas.end(), Isa::kAvx512) != isas.end()) {
    if (const PackedKernels* k = avx512_kernels(t)) out.push_back(k);
    if (const PackedKernels* k = amx_kernels(t)) out.push_back(k);
  }
#endif
#if defined(SILICA_HAVE_NEON)
  if (const PackedKernels* k = neon_kernels(t)) out.push_back(k);
#endif
  (void)t;
  return out;
}

namespace {

// The fewest slices of whole blocks, at most kPackSliceCols columns each (PackedMatrix spreads
// the blocks evenly over them).
int64_t slice_count(int64_t n_in, int64_t block) {
  const int64_t per_slice = std::max<int64_t>(1, kPackSliceCols / block);
  return std::max<int64_t>(1, (n_in / block + per_slice - 1) / per_slice);
}

}  // namespace

std::unique_ptr<PackedMatrix> PackedMatrix::pack(const void* w, DType t, int64_t n_out,
                                                 int64_t n_in, ThreadPool* pool,
                                                 const PackedKernels* k, bool release_source) {
  // F16 / BF16 have no blocks; 32 keeps the tiles' element pairs and prefetch lines whole.
  const int64_t block = t == DType::kQ4_K || t == DType::kQ6_K ? 256 : 32;
  if (!k || k->type != t || n_in % block != 0 || n_out <= 0) return nullptr;
  if (k->only_sliced && slice_count(n_in, block) == 1) return nullptr;
  std::unique_ptr<PackedMatrix> m(new PackedMatrix());
  m->k_ = k;
  m->n_out_ = n_out;
  m->n_in_ = n_in;
  m->n_slices_ = slice_count(n_in, block);
  m->block_ = block;
  m->slice_at_.assign(size_t(m->n_slices_) + 1, 0);
  for (int64_t s = 0; s < m->n_slices_; ++s) {
    m->slice_at_[size_t(s) + 1] =
        m->slice_at_[size_t(s)] + size_t(m->n_groups()) * k->group_bytes(m->slice_cols(s));
  }
  const size_t total = m->bytes();
  m->data_ = static_cast<uint8_t*>(alloc_large(total));
  if (!m->data_) return nullptr;
  const size_t w_row = dtype_row_size(t, n_in);
  const auto* wb = static_cast<const uint8_t*>(w);
  auto pack_range = [&](int64_t g0, int64_t g1, int) {
    for (int64_t g = g0; g < g1; ++g) {
      const int64_t rows = std::min(kPackRows, n_out - g * kPackRows);
      for (int64_t s = 0; s < m->n_slices_; ++s) {
        k->pack_group(wb + size_t(g * kPackRows) * w_row + dtype_row_size(t, m->slice_begin(s)),
                      w_row, rows, m->slice_cols(s), const_cast<uint8_t*>(m->group(g, s)));
      }
    }
    // Whole pages inside the stretch only; the caller releases the whole matrix at the end.
    // A page another thread has still to read is faulted back in from the file.
    if (release_source) {
      const int64_t r0 = g0 * kPackRows, r1 = std::min(n_out, g1 * kPackRows);
      release_pages(wb + size_t(r0) * w_row, size_t(r1 - r0) * w_row);
    }
  };
  if (pool)
    pool->parallel_for(m->n_groups(), 16, pack_range);
  else
    pack_range(0, m->n_groups(), 0);
  return m;
}

PackedMatrix::~PackedMatrix() {
  free_large(data_);
}

void PackedMatrix::row_to_float(int64_t r, float* y) const {
  for (int64_t s = 0; s < n_slices_; ++s)
    k_->row_to_float(group(r / kPackRows, s), r % kPackRows, slice_cols(s), y + slice_begin(s));
}

}  // namespace silica

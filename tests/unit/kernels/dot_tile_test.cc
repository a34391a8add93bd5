// Dot tiles (multi-row x multi-token microkernels): every element equals the same ISA's vec_dot
// bit for bit whatever the tile shape, n_tok and offset in the batch, including odd block counts
// and f16 tails, and stays within the type's tolerance of the scalar reference.
#include <gtest/gtest.h>

#include <cstring>

#include "base/half.h"
#include "kernel_test_util.h"
#include "tensor/blocks.h"

namespace silica {
namespace {

using test::label;

constexpr int64_t kRows = 11;  // not a multiple of any microkernel's row count
constexpr int64_t kToks = 9;   // nor of its token count

// Lengths that reach every tail: odd q8_0/q4_0 block counts, odd k-quant super-block counts,
// and (for f16/f32/bf16) a length that is no multiple of 16.
std::vector<int64_t> lengths_for(DType t) {
  const int64_t blk = dtype_traits(t)->block_size;
  if (blk == 1) return {200, 2048 + 7};
  if (blk == kQK_K) return {kQK_K, 3 * kQK_K};
  return {blk, 7 * blk, 2048 + 3 * blk};
}

struct Data {
  std::vector<uint8_t> w, a;  // [kRows] weight rows, [kToks] activation rows (vec_dot_type)
  size_t w_row = 0, a_row = 0;
};

Data make_data(DType t, int64_t n) {
  const DType vt = dtype_traits(t)->vec_dot_type;
  Data d;
  d.w_row = dtype_row_size(t, n);
  d.a_row = dtype_row_size(vt, n);
  d.w.resize(d.w_row * kRows);
  d.a.resize(d.a_row * kToks);
  for (int64_t r = 0; r < kRows; ++r) {
    const auto f = test::random_floats(n, uint32_t(500 + r));
    quantize_row_ref(t, f.data(), d.w.data() + r * d.w_row, n);
  }
  for (int64_t k = 0; k < kToks; ++k) {
    const auto f = test::random_floats(n, uint32_t(900 + k));
    quantize_row_ref(vt, f.data(), d.a.data() + k * d.a_row, n);
  }
  return d;
}

// A kernel's own activation layout (act_prep), as matmul hands it to dot_tile: [n_tok] rows.
struct alignas(kActPrepAlign) PrepLine {
  uint8_t bytes[kActPrepAlign];
};
struct Prepared {
  std::vector<PrepLine> lines;
  size_t row = 0;  // bytes
  const uint8_t* data() const { return reinterpret_cast<const uint8_t*>(lines.data()); }
};
Prepared prepare(DType t, const TypeKernels& k, const Data& d, int64_t n, int64_t piece) {
  Prepared p;
  p.row = k.act_prep_size(n);
  p.lines.resize((p.row * kToks + kActPrepAlign - 1) / kActPrepAlign);
  const DType vt = dtype_traits(t)->vec_dot_type;
  for (int64_t tok = 0; tok < kToks; ++tok)
    for (int64_t i0 = 0; i0 < n; i0 += piece)
      k.act_prep(d.a.data() + tok * d.a_row + dtype_row_size(vt, i0),
                 reinterpret_cast<uint8_t*>(p.lines.data()) + tok * p.row + k.act_prep_size(i0),
                 std::min(piece, n - i0));
  return p;
}

// A row prepared in kActPrepUnit pieces gives the bytes of the whole row (the layout is per block).
TEST(DotTile, ActPrepInPiecesEqualsWholeRow) {
  for (Isa isa : available_isas()) {
    for (DType t : test::weight_types()) {
      const TypeKernels& k = type_kernels(t, isa);
      if (!k.act_prep) continue;
      const int64_t n = 4 * kActPrepUnit;
      const Data d = make_data(t, n);
      const Prepared whole = prepare(t, k, d, n, n), pieces = prepare(t, k, d, n, kActPrepUnit);
      ASSERT_EQ(0, std::memcmp(whole.data(), pieces.data(), whole.row * kToks)) << label(isa, t);
    }
  }
}

TEST(DotTile, EveryShapeEqualsVecDotBitForBit) {
  for (Isa isa : available_isas()) {
    for (DType t : test::weight_types()) {
      const TypeKernels& k = type_kernels(t, isa);
      if (!k.dot_tile) continue;
      for (int64_t n : lengths_for(t)) {
        const Data d = make_data(t, n);
        // The tile reads the kernel's own layout where it has one, q rows otherwise.
        const Prepared prep = k.act_prep ? prepare(t, k, d, n, n) : Prepared{};
        const uint8_t* ta = k.act_prep ? prep.data() : d.a.data();
        const size_t ta_row = k.act_prep ? prep.row : d.a_row;
        // Every sub-rectangle origin and size exercises each microkernel instance and edge.
        for (int64_t rows : {int64_t(1), int64_t(3), kRows}) {
          for (int64_t toks : {int64_t(1), int64_t(2), int64_t(3), int64_t(5), kToks}) {
            const int64_t r0 = kRows - rows, t0 = kToks - toks;
            std::vector<float> y(size_t(toks * kRows), -1.0f);
            k.dot_tile(d.w.data() + r0 * d.w_row, d.w_row, rows, ta + t0 * ta_row, ta_row, toks, n,
                       y.data(), kRows);
            for (int64_t tk = 0; tk < toks; ++tk) {
              for (int64_t r = 0; r < rows; ++r) {
                const uint8_t* wr = d.w.data() + (r0 + r) * d.w_row;
                const uint8_t* ar = d.a.data() + (t0 + tk) * d.a_row;
                const float want = k.vec_dot(wr, ar, n);
                ASSERT_EQ(y[tk * kRows + r], want)
                    << label(isa, t) << " n=" << n << " tile " << rows << "x" << toks;
              }
            }
          }
        }
      }
    }
  }
}

TEST(DotTile, VecDotOfTiledTypesMatchesReference) {
  const DType vt_probe[] = {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0,
                            DType::kQ5_1, DType::kQ2_K, DType::kQ3_K, DType::kQ4_K,
                            DType::kQ5_K, DType::kQ6_K, DType::kF16};
  for (Isa isa : available_isas()) {
    for (DType t : vt_probe) {
      const DType vt = dtype_traits(t)->vec_dot_type;
      for (int64_t n : lengths_for(t)) {
        const Data d = make_data(t, n);
        for (int64_t r = 0; r < kRows; ++r) {
          const uint8_t* wr = d.w.data() + r * d.w_row;
          const uint8_t* ar = d.a.data() + (r % kToks) * d.a_row;
          const float got = type_kernels(t, isa).vec_dot(wr, ar, n);
          const float ref = vec_dot_ref(t, wr, ar, n);
          const double scale = test::abs_dot_scale(t, wr, vt, ar, n);
          ASSERT_NEAR(got, ref, test::tolerance_for(t) * scale) << label(isa, t) << " n=" << n;
        }
      }
    }
  }
}

// Extreme weights: q8_0 at -128 and 127, q4_0 at 0 and 15, all-zero scales: the offset tricks
// (w + 128, q - 8 folded into the seed) must stay exact.
TEST(DotTile, ExtremeQuantsStayExact) {
  const int64_t n = 3 * kQK8_0;
  for (Isa isa : available_isas()) {
    std::vector<BlockQ8_0> w8(3), a8(3);
    std::vector<BlockQ4_0> w4(3);
    for (int b = 0; b < 3; ++b) {
      w8[b].d = w4[b].d = a8[b].d = f32_to_fp16(0.5f + b);
      for (int j = 0; j < kQK8_0; ++j) {
        w8[b].qs[j] = int8_t(j % 2 ? -128 : 127);
        a8[b].qs[j] = int8_t(j % 3 ? 127 : -127);
      }
      for (int j = 0; j < kQK4_0 / 2; ++j) w4[b].qs[j] = uint8_t(j % 2 ? 0xf0 : 0x0f);
    }
    for (DType t : {DType::kQ8_0, DType::kQ4_0}) {
      const void* w = t == DType::kQ8_0 ? static_cast<const void*>(w8.data()) : w4.data();
      const float got = type_kernels(t, isa).vec_dot(w, a8.data(), n);
      EXPECT_EQ(got, vec_dot_ref(t, w, a8.data(), n)) << label(isa, t);
    }
  }
}

}  // namespace
}  // namespace silica

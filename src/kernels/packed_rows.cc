// Column slices of plain rows: for a type an ISA keeps in the file's layout because its unpacked
// row tile beats every interleaved packing there (F16 on Zen 4 and on AVX2 cores), a matrix wider
// than kPackSliceCols is still copied at load, as slices of whole rows, so that a row's
// activation part stays in L1 while the weights stream past (packed.h). One core read
// Llama 3.2 1B's F16 ffn_down (rows of 16 KiB) at 21-22 GB/s from the file against 31.6 for the
// same bytes with an activation of 8 KiB or less (the read probe 31.5).
#include <algorithm>
#include <cstring>

#include "kernels/kernels.h"
#include "kernels/packed.h"
#include "tensor/reference.h"

namespace silica {
namespace {

constexpr size_t kF16Bytes = 2;

size_t group_bytes_rows(int64_t n) {
  return size_t(kPackRows * n) * kF16Bytes;
}

// The group's rows one after the other; rows past n_rows are zero.
void pack_group_rows(const void* w, size_t w_stride, int64_t n_rows, int64_t n, void* out) {
  const size_t row = size_t(n) * kF16Bytes;
  auto* o = static_cast<uint8_t*>(out);
  for (int64_t r = 0; r < n_rows; ++r)
    std::memcpy(o + size_t(r) * row, static_cast<const uint8_t*>(w) + size_t(r) * w_stride, row);
  std::memset(o + size_t(n_rows) * row, 0, size_t(kPackRows - n_rows) * row);
}

void row_to_float_rows(const void* group, int64_t lane, int64_t n, float* y) {
  dequantize_row_ref(DType::kF16, static_cast<const uint8_t*>(group) + size_t(lane * n) * kF16Bytes,
                     y, n);
}

// A slice's groups are one row-major matrix of n_groups * kPackRows rows of n elements: the
// ISA's unpacked tile reads it as it reads the file's rows.
template <Isa kIsa>
void rows_tile(const void* g, size_t, int64_t n_groups, int64_t n_rows, const void* a, size_t as,
               int64_t n_tok, int64_t n, float* y, int64_t ys) {
  static const DotTileFn dot = type_kernels(DType::kF16, kIsa).dot_tile;
  dot(g, size_t(n) * kF16Bytes, std::min(n_rows, n_groups * kPackRows), a, as, n_tok, n, y, ys);
}

template <Isa kIsa>
const PackedKernels* rows_kernels() {
  static const PackedKernels k = [] {
    const TypeKernels& tk = type_kernels(DType::kF16, kIsa);
    PackedKernels p{DType::kF16,        dtype_traits(DType::kF16)->vec_dot_type,
                    &group_bytes_rows,  &pack_group_rows,
                    &row_to_float_rows, tk.act_prep,
                    tk.act_prep_size,   tk.dot_tile ? &rows_tile<kIsa> : nullptr,
                    /*tile_tokens=*/1};
    p.only_sliced = true;
    return p;
  }();
  return k.tile ? &k : nullptr;
}

}  // namespace

const PackedKernels* sliced_rows_kernels(DType t, Isa isa) {
  if (t != DType::kF16) return nullptr;
#if defined(SILICA_HAVE_X86)
  if (isa == Isa::kAvx512) return rows_kernels<Isa::kAvx512>();
  if (isa == Isa::kAvx2) return rows_kernels<Isa::kAvx2>();
#endif
  (void)isa;
  return nullptr;
}

}  // namespace silica

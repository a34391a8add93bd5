// Weights repacked once at load into an ISA's interleaved layout: groups of kPackRows rows whose
// 4-element pieces sit side by side, so that one int8 dot instruction (vpdpbusd, SDOT) works on
// kPackRows rows at once and the per-block float work is shared by all of them. The packed
// matrix replaces the file's bytes for every use (matmul and, for tied embeddings, row lookup).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/kernels.h"
#include "kernels/ops.h"
#include "tensor/dtype.h"

namespace silica {

// Rows per group: one int32 lane each in a 512-bit vector.
constexpr int64_t kPackRows = 16;

// Packed Q4_0 / Q8_0, per group of kPackRows rows of n elements (nb = n / 32 blocks), the blocks
// in pairs, one after the other: pair p holds the scales of blocks 2p and 2p + 1 (kQ0ScaleBytes
// each: one cache line for both), then their values (V bytes each; an odd nb leaves the last
// pair's second half zero):
//   scales: [kPackRows] fp16 d;
//   values: 4-byte pieces, piece j of row l at j*64 + 4*l, where V = 256 (q4_0: the file's qs
//           bytes 4j..4j+3, low nibbles elements 4j.., high nibbles 16+4j..) or 512 (q8_0: the
//           bytes + 128, as unsigned).
// Rows past n_out in the last group are zero (scale 0). One stream in the order the tiles read
// it: with the group's scales after all its values (until 2026-12-05) the two streams defeated
// the hardware prefetcher, and a core read that layout at 20-21 GB/s with software prefetch where
// it reads this one at 26.5 without (Zen 4, a 1 GiB stream of the tiles' loads and dot products;
// two cores 27-28 -> 31.5). The scales lead their pair: behind the values, a decode read lines
// 0-3, 8, 4-7 of a q4_0 pair, and that jump ahead cost a Zen 4 core a tenth of its stream
// (packed_stream one core, 4 interleaved rounds, of the read probe: q4_0 0.81 -> 0.93, q8_0 0.85 ->
// 0.95 at 8192 x 2048; 0.83 -> 0.88, 0.82 -> 0.90 at 2048 x 8192). In pairs, so that values start
// on a cache line: a block and its scales alone (544 or 288 bytes) put every other block's loads
// across two lines, and the prompt tiles, which read from cache, ran 8-21% slower.
constexpr int64_t kQ0ScaleBytes = 2 * kPackRows;

constexpr int64_t q0_pair_bytes(int64_t value_bytes) {
  return 2 * (value_bytes + kQ0ScaleBytes);
}
constexpr int64_t q0_group_bytes(int64_t nb, int64_t value_bytes) {
  return (nb + 1) / 2 * q0_pair_bytes(value_bytes);
}
// Where block b's pair, values and scales start in its group (b >= 0).
constexpr int64_t q0_pair_at(int64_t b, int64_t value_bytes) {
  return int64_t(uint64_t(b) / 2) * q0_pair_bytes(value_bytes);
}
constexpr int64_t q0_values_at(int64_t b, int64_t value_bytes) {
  return q0_pair_at(b, value_bytes) + 2 * kQ0ScaleBytes + int64_t(uint64_t(b) % 2) * value_bytes;
}
constexpr int64_t q0_scales_at(int64_t b, int64_t value_bytes) {
  return q0_pair_at(b, value_bytes) + int64_t(uint64_t(b) % 2) * kQ0ScaleBytes;
}
inline const uint8_t* q0_values(const uint8_t* g, int64_t b, int64_t value_bytes) {
  return g + q0_values_at(b, value_bytes);
}
inline const uint16_t* q0_scales(const uint8_t* g, int64_t b, int64_t value_bytes) {
  return reinterpret_cast<const uint16_t*>(g + q0_scales_at(b, value_bytes));
}

struct PackedActBlock {  // one q8_0 activation block as the packed tiles read it
  int8_t qs[32];
  int32_t neg;  // -offset * sum(qs): removes the weights' unsigned offset (q4_0 8, q8_0 128)
  float d;
};
static_assert(sizeof(PackedActBlock) == 40);

// Packed Q4_K, per group and super-block of 256 (kPackQ4_KBytes = 2368 bytes, 64-aligned), in
// the order a decode reads it:
//   scales  [8 sub-blocks][kPackRows] uint8 (6-bit);
//   mins    [4 pairs k][kPackRows][2] uint8 (m of sub-blocks 2k, 2k+1);
//   d, dmin [kPackRows] fp16 each;
//   nibbles [4 pairs p][8 pieces c][kPackRows rows l][4 bytes]: the file's qs[32p + 4c..+3]
//           (low nibbles: sub-block 2p, high nibbles: sub-block 2p+1).
// With the nibbles first a decode jumped from line 7 to the scales at line 32 and back (as Q4_0
// did, above): packed_stream one core, Zen 4, 4 interleaved rounds, of the read probe: 2048 x
// 8192 0.79 -> 0.86, 8192 x 2048 even; the decode also loading d, dmin and mins first: 0.83 ->
// 0.91 and 0.88 -> 0.91.
constexpr size_t kPackQ4_KBytes = 128 + 128 + 64 + 2048;
// Byte offsets of the parts inside one packed Q4_K super-block.
constexpr size_t kQ4KScales = 0, kQ4KMins = 128, kQ4KD = 256, kQ4KDmin = 288, kQ4KNibbles = 320;
// Packed Q6_K, per group and super-block (kPackQ6_KBytes, 64-aligned), in the order a decode
// reads it:
//   scales [8 pairs k][kPackRows][2] int8 (sub-blocks of 16: 2k, 2k+1);
//   d      [kPackRows] fp16, then padding to 64 bytes;
//   values: 16 triples k of 64-byte vectors, each [kPackRows rows][4 bytes] of 4-element
//           pieces (piece j = elements 4j..4j+3), values q in 0..63 (file value + 32): vector v
//           (0..2) of triple k holds piece k + 16v's q in bits 0-5 and bits 2v, 2v + 1 of
//           piece k + 48's q in bits 6-7.
// A triple holds all of pieces k, k + 16, k + 32, k + 48, which a decode builds from its three
// loads: one stream in address order, which the hardware prefetcher follows with no software
// prefetch (Zen 4, one core: 26.6 GB/s where the layout of low rows, then high rows, then the
// scales read 24.6 with prefetch into L2; read in triples, that layout's three streams ran 10.5).
// Three of the four pieces are one AND away from memory and the fourth is put together from the
// three tops: 9 AVX-512 operations for the triple's 4 pieces, where a triple of two nibble
// vectors and one of 2-bit fields took 13 (the decode is compute-bound enough on Zen 4 that
// its stream follows the operation count: in L2 41-44 GB/s).
constexpr size_t kPackQ6_KBytes = 2048 + 1024 + 256 + 64;
constexpr size_t kQ6KScales = 0, kQ6KD = 256, kQ6KValues = 320;
constexpr size_t q6k_vec_at(int k, int v) {
  return kQ6KValues + size_t(k) * 192 + size_t(v) * 64;
}
struct PackedActBlockK {  // one q8_K activation super-block as the packed Q4_K tile reads it
  int8_t qs[256];
  float d;
  int16_t bsum[8];  // sum of each sub-block of 32
  int32_t pad[3];
};
static_assert(sizeof(PackedActBlockK) == 288);

// Packed F16 / BF16, per group: [n][kPackRows] of the file's 16-bit values (element i of row l
// at i * kPackRows + l), so one 32-byte load is element i of 16 rows. The tile reads f32
// activation rows (the vec_dot_type row widened).

// y[t * ys + r] for r < n_rows (rows counted from the first group's first row), t < n_tok.
//   g: n_groups groups of g_bytes, a: [n_tok] rows of PackedActBlock(K), as bytes apart.
using PackedTileFn = void (*)(const void* g, size_t g_bytes, int64_t n_groups, int64_t n_rows,
                              const void* a, size_t as, int64_t n_tok, int64_t n, float* y,
                              int64_t ys);

struct PackedKernels {
  DType type;
  DType act_type;  // the activation rows act_prep reads (q8_0, or q8_K for q4_K)
  size_t (*group_bytes)(int64_t n);
  // Packs n_rows (<= kPackRows) rows of w_stride bytes into one group.
  void (*pack_group)(const void* w, size_t w_stride, int64_t n_rows, int64_t n, void* out);
  // Row `lane` of a group back to floats (embedding lookup of a tied output matrix).
  void (*row_to_float)(const void* group, int64_t lane, int64_t n, float* y);
  ActPrepFn act_prep;  // act_type row -> PackedActBlock(K) row; null: the tile reads act_type rows
  ActPrepSizeFn act_prep_size;
  PackedTileFn tile;
  int tile_tokens;  // tokens per microkernel call: token tiles are a multiple of it
  // Tokens a tile call gets at least (when the batch has them), for tiles with work per call
  // to amortize (the AMX tiles: Q6_K builds its B planes once per call); 0: tile_tokens.
  int min_call_tokens = 0;
  // Worth a copy only for a matrix wider than kPackSliceCols (PackedMatrix::pack gives null
  // otherwise): the sliced rows of a type the ISA keeps unpacked (sliced_rows_kernels).
  bool only_sliced = false;
};

// The packed kernels of type t on the given ISA, or null when that ISA has none (then the
// matrix stays in the file's layout).
const PackedKernels* packed_kernels(DType t, Isa isa = best_isa());
// Every packed implementation of type t this CPU runs (AVX-512 VNNI, AMX, ...), for tests and
// benchmarks: each must equal the scalar twin bit for bit.
std::vector<const PackedKernels*> packed_kernel_variants(DType t);
// The scalar twin of the same layout and tile, for tests: every element bit-identical.
const PackedKernels* packed_reference_kernels(DType t);
// Column slices of plain rows read by the ISA's unpacked row tile (packed_rows.cc), for wide
// matrices of a type the ISA otherwise keeps in the file's layout: F16 on x86 (AVX-512, AVX2);
// null for other types and ISAs. packed_kernels() returns it where it applies.
const PackedKernels* sliced_rows_kernels(DType t, Isa isa = best_isa());

// A matrix wider than kPackSliceCols is packed as column slices of at most that many columns
// (whole blocks, the fewest slices, their widths at most one block apart: 11008 columns of Q4_K,
// 43 super-blocks, as 7, 7, 7, 7, 7 and 8), one after the other, each a packed matrix of its
// own, and a tile takes them in turn: the activation part a slice reads stays in L1 while the
// weights stream past. One core reads a 2048 x 8192 matrix (Llama 3.2 1B's ffn_down) 17% slower
// than an 8192 x 2048 one when it takes whole rows (q4_0, Zen 4: a 10 KiB activation row; f16's
// 16 KiB, 30% slower), and as fast with activation parts of up to 8 KiB.
constexpr int64_t kPackSliceCols = 2048;

class PackedMatrix {
 public:
  // Packs w ([n_out] rows of n_in elements of type t); null if k packs no such type or n_in is
  // not a multiple of the type's block. Groups are packed in parallel on the pool.
  // release_source: w lies in a read-only file mapping, whose pages are dropped from this process
  // (release_pages) as each stretch of rows is packed, so that a large matrix's file copy and
  // packed copy are not both resident at the peak of a load. Never for memory the caller owns.
  static std::unique_ptr<PackedMatrix> pack(const void* w, DType t, int64_t n_out, int64_t n_in,
                                            ThreadPool* pool, const PackedKernels* k,
                                            bool release_source = false);
  ~PackedMatrix();
  PackedMatrix(const PackedMatrix&) = delete;
  PackedMatrix& operator=(const PackedMatrix&) = delete;

  DType type() const { return k_->type; }
  int64_t n_out() const { return n_out_; }
  int64_t n_in() const { return n_in_; }
  size_t bytes() const { return slice_at_.back(); }
  int64_t n_groups() const { return (n_out_ + kPackRows - 1) / kPackRows; }
  const PackedKernels& kernels() const { return *k_; }
  // Column slices: slice s holds columns [slice_begin(s), slice_begin(s + 1)), slice after slice
  // in memory, each n_groups() groups of group_bytes(s).
  int64_t n_slices() const { return n_slices_; }
  int64_t slice_begin(int64_t s) const { return block_ * (n_in_ / block_ * s / n_slices_); }
  int64_t slice_cols(int64_t s) const { return slice_begin(s + 1) - slice_begin(s); }
  const uint8_t* group(int64_t g, int64_t slice = 0) const {
    return data_ + slice_at_[size_t(slice)] + size_t(g) * group_bytes(slice);
  }
  size_t group_bytes(int64_t slice) const {
    return (slice_at_[size_t(slice) + 1] - slice_at_[size_t(slice)]) / size_t(n_groups());
  }
  void row_to_float(int64_t r, float* y) const;

 private:
  PackedMatrix() = default;
  const PackedKernels* k_ = nullptr;
  int64_t n_out_ = 0, n_in_ = 0, n_slices_ = 1, block_ = 32;
  std::vector<size_t> slice_at_;  // [n_slices_ + 1] byte offsets of the slices in data_
  uint8_t* data_ = nullptr;       // 64-byte aligned, owned
};

// y[t, o] = sum_i w[o, i] * x[t, i], as matmul() but over a packed matrix: the result of a
// token does not depend on n_tok, the thread count or the tiling.
void matmul_packed(const PackedMatrix& w, const float* x, int64_t n_tok, float* y, int64_t y_stride,
                   ThreadPool& pool, MatmulScratch& scratch);

// One matrix of a matmul_packed_shared call and where its result goes.
struct PackedProduct {
  const PackedMatrix* w;
  float* y;
  int64_t y_stride;
};
constexpr int kMaxSharedProducts = 4;

// Whether a and b read the same activation rows (same n_in, activation type and preparation),
// so that one matmul_packed_shared call can serve both.
bool shares_activations(const PackedMatrix& a, const PackedMatrix& b);

// Several matrices over the same input rows (Q, K and V; gate and up) in one dispatch: the
// activations are converted once and every matrix's tiles are shared out together. Each result
// is bit-identical to matmul_packed of its matrix alone. n (<= kMaxSharedProducts) matrices,
// each shares_activations with the first. With a prologue, the input rows are what it makes of
// x's (kernels/ops.h), bit for bit as if the caller had made them first.
void matmul_packed_shared(const PackedProduct* products, int n, const float* x, int64_t n_tok,
                          ThreadPool& pool, MatmulScratch& scratch,
                          const RowPrologue& prologue = {});

}  // namespace silica

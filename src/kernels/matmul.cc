// matmul: activations converted once into scratch, then tiles of (weight rows x tokens) handed
// to the pool's threads. Every output element is one vec_dot call on the same bytes, so the
// result does not depend on the thread count or on how tiles were scheduled.
#include <algorithm>

#include "kernels/kernels.h"

namespace silica {
namespace {

// A tile's weight rows should stay in L2 while they are dotted with the tile's tokens, and the
// tile's activations should stay in L1/L2 as well.
constexpr size_t kTileWeightBytes = 128 * 1024;
constexpr int64_t kTileTokens = 16;
constexpr int64_t kMinTileRows = 4;
// Enough tiles per thread that dynamic scheduling can even out uneven cores.
constexpr int64_t kTilesPerThread = 4;

struct Tiling {
  int64_t rows, toks, n_row_tiles, n_tok_tiles;
};

Tiling choose_tiling(int64_t n_out, int64_t n_tok, size_t w_row, int n_threads) {
  Tiling t;
  t.toks = std::min(n_tok, kTileTokens);
  t.n_tok_tiles = (n_tok + t.toks - 1) / t.toks;
  int64_t rows =
      std::max<int64_t>(kMinTileRows, int64_t(kTileWeightBytes / std::max<size_t>(w_row, 1)));
  // Decode (few token tiles) needs more, smaller row tiles to keep every thread busy.
  const int64_t want_tiles = int64_t(n_threads) * kTilesPerThread;
  const int64_t row_tiles_wanted = (want_tiles + t.n_tok_tiles - 1) / t.n_tok_tiles;
  rows = std::min(rows, std::max<int64_t>(kMinTileRows, n_out / row_tiles_wanted));
  t.rows = std::min(rows, n_out);
  t.n_row_tiles = (n_out + t.rows - 1) / t.rows;
  return t;
}

}  // namespace

void matmul(const void* w, DType wt, int64_t n_out, int64_t n_in, const float* x, int64_t n_tok,
            float* y, int64_t y_stride, ThreadPool& pool, MatmulScratch& scratch, Isa isa) {
  if (n_out <= 0 || n_tok <= 0) return;
  const DType vt = dtype_traits(wt)->vec_dot_type;
  const VecDotFn dot = type_kernels(wt, isa).vec_dot;
  const DotTileFn dot_tile = type_kernels(wt, isa).dot_tile;
  const size_t w_row = dtype_row_size(wt, n_in);
  const uint8_t* wb = static_cast<const uint8_t*>(w);

  // Activations in vec_dot_type, converted once: [n_tok, act_row bytes].
  const uint8_t* act = reinterpret_cast<const uint8_t*>(x);
  size_t act_row = size_t(n_in) * sizeof(float);
  if (vt != DType::kF32) {
    act_row = dtype_row_size(vt, n_in);
    if (scratch.bytes.size() < act_row * size_t(n_tok)) scratch.bytes.resize(act_row * n_tok);
    const FromFloatFn convert = type_kernels(vt, isa).from_float;
    uint8_t* dst = scratch.bytes.data();
    pool.parallel_for(n_tok, 1, [&](int64_t b, int64_t e, int) {
      for (int64_t t = b; t < e; ++t) convert(x + t * n_in, dst + t * act_row, n_in);
    });
    act = dst;
  }

  const Tiling tl = choose_tiling(n_out, n_tok, w_row, pool.size());
  pool.parallel_for(tl.n_row_tiles * tl.n_tok_tiles, 1, [&](int64_t b, int64_t e, int) {
    for (int64_t tile = b; tile < e; ++tile) {
      // Token tiles vary fastest: neighbouring tiles share weight rows.
      const int64_t r0 = (tile / tl.n_tok_tiles) * tl.rows, r1 = std::min(n_out, r0 + tl.rows);
      const int64_t t0 = (tile % tl.n_tok_tiles) * tl.toks, t1 = std::min(n_tok, t0 + tl.toks);
      if (dot_tile) {
        dot_tile(wb + size_t(r0) * w_row, w_row, r1 - r0, act + size_t(t0) * act_row, act_row,
                 t1 - t0, n_in, y + t0 * y_stride + r0, y_stride);
        continue;
      }
      for (int64_t r = r0; r < r1; ++r) {
        const uint8_t* wr = wb + size_t(r) * w_row;
        for (int64_t t = t0; t < t1; ++t) y[t * y_stride + r] = dot(wr, act + t * act_row, n_in);
      }
    }
  });
}

}  // namespace silica

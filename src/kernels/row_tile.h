// Dot tiles that unpack one weight row once for up to kRowTileTokens tokens, for any ISA. A
// kernel K gives its Block and Act (vec_dot_type) layouts, kElems per block, and
//   template <int T> static void micro(const Block* x, const Act* const (&y)[T], int64_t nb,
//                                      float* out, int64_t ys)  // out[t * ys] = dot(x, y[t])
// whose T = 1 case is the vec_dot; every token's arithmetic is that case's, so a pair's result
// does not depend on its tile. Internal linkage: each ISA file instantiates its own kernels.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "kernels/kernel_tables.h"

// Row-tile kernels unroll their token and chunk loops: a rolled loop over T keeps the T
// accumulators in memory, which costs more than the products themselves.
#ifndef SILICA_UNROLL
#define SILICA_UNROLL _Pragma("GCC unroll 16")
#endif

namespace {

constexpr int kRowTileTokens = 4;

template <class K>
float row_vec_dot(const void* a, const void* b, int64_t n) {
  const typename K::Act* y[1] = {static_cast<const typename K::Act*>(b)};
  float out;
  K::template micro<1>(static_cast<const typename K::Block*>(a), y, n / K::kElems, &out, 0);
  return out;
}

template <class K, int T>
void row_tile_call(const typename K::Block* x, const uint8_t* a, size_t as, int64_t nb, float* y,
                   int64_t ys) {
  const typename K::Act* b[T];
  for (int t = 0; t < T; ++t) b[t] = reinterpret_cast<const typename K::Act*>(a + t * as);
  K::template micro<T>(x, b, nb, y, ys);
}

template <class K>
void row_tile(const void* w, size_t ws, int64_t n_rows, const void* a, size_t as, int64_t n_tok,
              int64_t n, float* y, int64_t ys) {
  using Fn = void (*)(const typename K::Block*, const uint8_t*, size_t, int64_t, float*, int64_t);
  static constexpr Fn kFns[kRowTileTokens] = {&row_tile_call<K, 1>, &row_tile_call<K, 2>,
                                              &row_tile_call<K, 3>, &row_tile_call<K, 4>};
  const auto* ab = static_cast<const uint8_t*>(a);
  for (int64_t r = 0; r < n_rows; ++r) {
    const auto* x =
        reinterpret_cast<const typename K::Block*>(static_cast<const uint8_t*>(w) + r * ws);
    for (int64_t t = 0; t < n_tok; t += kRowTileTokens) {
      const int tt = int(std::min<int64_t>(kRowTileTokens, n_tok - t));
      kFns[tt - 1](x, ab + t * as, as, n / K::kElems, y + t * ys + r, ys);
    }
  }
}

// Decode calls (1-2 tokens) stream their weight rows from DRAM once: each block asks for the
// bytes kRowPrefetchAhead further on, a line or two a block, so the misses overlap the work.
constexpr int kRowPrefetchAhead = 2048;
template <int T, int kBytes>
inline void row_prefetch(const void* block) {
  if constexpr (T <= 2)
    for (int line = 0; line < kBytes; line += 64)
      __builtin_prefetch(static_cast<const char*>(block) + kRowPrefetchAhead + line, 0, 3);
}

// K's vec_dot and dot tile in the table's entry for t.
template <class K>
void set_row_kernels(silica::kernels_internal::KernelTable& table, silica::DType t) {
  silica::kernels_internal::entry(table, t).vec_dot = &row_vec_dot<K>;
  silica::kernels_internal::entry(table, t).dot_tile = &row_tile<K>;
}

}  // namespace

// Software prefetch for the packed tiles that stream a matrix from DRAM (decode), shared by the
// AVX2 and AVX-512 tiles.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/packed.h"

namespace silica::kernels_internal {

// The lines of [p + ahead, p + ahead + bytes). kHint: an int, as clang's headers define the
// hints (GCC's are the enum _mm_hint).
template <int kHint = int(_MM_HINT_T0)>
inline void prefetch_lines(const uint8_t* p, size_t bytes, size_t ahead) {
  for (size_t line = 0; line < bytes; line += 64)
    _mm_prefetch(reinterpret_cast<const char*>(p + ahead + line),
                 static_cast<decltype(_MM_HINT_T0)>(kHint));
}

// Step i of kSteps of prefetching the kBytes at p: a line or two per step, so that a decode's
// prefetches are spread through the work. Issued all at once, they fill the core's miss buffers
// and the instructions behind them wait in the reorder buffer, so DRAM and the arithmetic take
// turns (AVX2 Q4_K decode tile on Zen 3: packed_stream one core 8.4 -> 12.1 GB/s, two cores
// 15.0 -> 17.5; median of 9-12, interleaved; further ahead than one super-block was no better).
template <size_t kBytes, int kSteps>
[[gnu::always_inline]] inline void spread_prefetch(const uint8_t* p, int i) {
  constexpr int kLines = int(kBytes / 64);
  for (int line = kLines * i / kSteps; line < kLines * (i + 1) / kSteps; ++line)
    _mm_prefetch(reinterpret_cast<const char*>(p + 64 * line), _MM_HINT_T0);
}

// How far ahead a prompt's Q4_0 / Q8_0 tiles prefetch into L2 (prefetcht1): L2 tracks more
// misses than L1, so more lines are in flight. The decode tiles of the 16-row layouts prefetch
// nothing: each group is one stream in address order (kernels/packed.h), which the hardware
// prefetcher follows better than software prefetch did (Zen 4, one core: q4_0 18.7 with it, 26.3
// without; q6_K 24.6 -> 26.6; q4_K 24 -> 27). The AVX2 K-quant tiles (Zen 3) keep
// spread_prefetch.
constexpr size_t kStreamAheadBytes = 16384;

// A Q4_0 / Q8_0 tile of more than 2 tokens at block b: the pair that starts there, on into L2.
// Without it, packed_matmul64 (two cores, Zen 4) ran 11% (q4_0) to 26% (q8_0) slower: the first
// token pass over a tile streams from DRAM at the prompt tile's slower pace, and there the
// hardware prefetcher did not keep ahead.
template <int64_t kValueBytes>
[[gnu::always_inline]] inline void q0_prefetch_pair(const uint8_t* g, int64_t b) {
  if (b % 2 == 0)
    prefetch_lines<int(_MM_HINT_T1)>(g + q0_pair_at(b, kValueBytes), q0_pair_bytes(kValueBytes),
                                     kStreamAheadBytes);
}

}  // namespace silica::kernels_internal

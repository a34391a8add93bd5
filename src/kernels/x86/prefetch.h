// Software prefetch for the packed tiles that stream a matrix from DRAM (decode), shared by the
// AVX2 and AVX-512 tiles.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace silica::kernels_internal {

// The lines of [p + ahead, p + ahead + bytes).
inline void prefetch_lines(const uint8_t* p, size_t bytes, size_t ahead) {
  for (size_t line = 0; line < bytes; line += 64)
    _mm_prefetch(reinterpret_cast<const char*>(p + ahead + line), _MM_HINT_T0);
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

}  // namespace silica::kernels_internal

// For kernel calls of more than 2 tokens, an empty asm that takes a running sum in a register:
// the sums of a block are then added in program order instead of reassociated into a tree whose
// partial products GCC spills to the stack (packed_matmul64 one core: Q4_0 16.5 -> 12.7 ms, Q8_0
// 22.5 -> 20.9, median of 15, interleaved; the q2_K / q3_K / q5_K row tiles: 55 spills -> none,
// llvm-mca znver3 49-56 instead of 66-69 cycles a super-block and 4 tokens). The 1-2 token
// (decode) calls are faster left to GCC (3-6%).
#pragma once

#include <immintrin.h>

namespace silica::kernels_internal {

template <int T>
[[gnu::always_inline]] inline void keep_in_register(__m256i& v) {
  if constexpr (T > 2) __asm__("" : "+x"(v));
}

}  // namespace silica::kernels_internal

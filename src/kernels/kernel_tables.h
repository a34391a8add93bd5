// Internal to kernels/: the per-ISA kernel tables and the functions that fill them. Each ISA file
// (x86/avx2_*.cc, x86/avx512_*.cc, arm/neon_*.cc) overrides the entries it has SIMD code for.
#pragma once

#include <array>
#include <cstdint>

#include "kernels/kernels.h"
#include "kernels/packed.h"

namespace silica::kernels_internal {

// Indexed by the GGUF type id (DType's value); ids above the largest known type are unused.
constexpr int kNumTypeIds = 32;
using KernelTable = std::array<TypeKernels, kNumTypeIds>;

inline TypeKernels& entry(KernelTable& table, DType t) {
  return table[uint32_t(t)];
}

// An fp16 / bf16 activation row widened to floats (exact): the act_prep of the tiles that read
// f32 activations against 16-bit weights (packed F16 / BF16, the AVX2 row dots).
template <float (*kToF32)(uint16_t)>
void widen_half_row(const void* a, void* out, int64_t n) {
  const auto* in = static_cast<const uint16_t*>(a);
  auto* o = static_cast<float*>(out);
  for (int64_t i = 0; i < n; ++i) o[i] = kToF32(in[i]);
}

// Fills every known type with the scalar twins from tensor/reference.h.
void fill_scalar_kernels(KernelTable& table);

#if defined(SILICA_HAVE_X86)
void fill_avx2_kernels(KernelTable& table);
void fill_avx512_kernels(KernelTable& table);
// The q8_0 / q8_K activation quantizers (x86/avx512_convert.cc); after fill_avx512_kernels.
void fill_avx512_convert(KernelTable& table);
// dot(a, b) of two bf16 rows through vdpbf16ps (x86/avx512bf16_dot.cc): only where the CPU has
// AVX512_BF16, the one extension the other AVX-512 files are built without.
float dot_bf16_avx512bf16(const void* a, const void* b, int64_t n);
// Multi-row x multi-token tiles and their 1 x 1 vec_dots (x86/avx512_tiles.cc); after the above.
void fill_avx512_tiles(KernelTable& table);
// The AVX2 tile over packed groups of type t (x86/avx2_packed.cc), or null.
PackedTileFn avx2_packed_tile(DType t);
int avx2_packed_tile_tokens(DType t);
// The VNNI tile over packed groups of type t (x86/avx512_packed.cc), or null.
PackedTileFn avx512_packed_tile(DType t);
int avx512_packed_tile_tokens(DType t);
// The AMX tile over packed Q8_0 / Q4_0 / Q4_K / Q6_K groups (x86/amx_packed.cc), or null without
// AMX (or without the OS's permission to use it); it hands leftover tokens to the VNNI tile.
PackedTileFn amx_packed_tile(DType t);
int amx_packed_tile_tokens();
#endif
#if defined(SILICA_HAVE_NEON)
// dotprod: whether the int8 dots may use SDOT (ARMv8.2 FEAT_DotProd).
void fill_neon_kernels(KernelTable& table, bool dotprod);
// q2_K, q3_K, q4_1, q5_0, q5_1 and q8_1 (arm/neon_more_quants.cc); after the above.
void fill_neon_more_kernels(KernelTable& table, bool dotprod);
// The SDOT / FMLA tile over packed groups of type t (arm/neon_packed.cc), or null; only for cores
// with FEAT_DotProd.
PackedTileFn neon_packed_tile(DType t);
int neon_packed_tile_tokens();
#endif

}  // namespace silica::kernels_internal

// Scalar reference conversions and dot products for every supported type: the "scalar twin"
// every SIMD kernel in kernels/ is tested against. Clear before fast.
#pragma once

#include <cstdint>

#include "tensor/dtype.h"

namespace silica {

// n must be a multiple of the type's block size. Calling these with a type for which
// has_reference(t) is false is a programming error: they report it on stderr and abort.
bool has_reference(DType t);

// Dequantize a row of type t into n floats.
void dequantize_row_ref(DType t, const void* src, float* dst, int64_t n);

// Quantize n floats into a row of type t (every weight type, the activation types Q8_0, Q8_1,
// Q8_K, and F32/F16/BF16). Activation types round exactly as GGUF's reference does, so
// activations quantized here equal llama.cpp's bit for bit.
void quantize_row_ref(DType t, const float* src, void* dst, int64_t n);

// Dot product of a row `a` of type t with a row `b` of dtype_traits(t)->vec_dot_type.
float vec_dot_ref(DType t, const void* a, const void* b, int64_t n);

}  // namespace silica

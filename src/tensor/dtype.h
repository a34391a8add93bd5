// Tensor element types. Numeric ids are GGUF's (ggml_type), so files move both ways.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace silica {

enum class DType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kBF16 = 30,
};

struct DTypeTraits {
  DType type;
  const char* name;       // as GGUF tools print it: "f32", "q4_K", ...
  int64_t block_size;     // elements per block (1 for plain types)
  size_t type_size;       // bytes per block
  bool quantized;         // a block format (not a plain scalar)
  DType vec_dot_type;     // what activations are converted to for a dot with this type
};

// Traits of a supported type, or nullptr for an id silica does not know.
const DTypeTraits* dtype_traits(DType t);
const DTypeTraits* dtype_traits_from_id(uint32_t id);
std::optional<DType> dtype_from_name(std::string_view name);  // case-insensitive "q4_k"
const char* dtype_name(DType t);

// Bytes needed for a row of n elements; n must be a multiple of the block size.
size_t dtype_row_size(DType t, int64_t n);

}  // namespace silica

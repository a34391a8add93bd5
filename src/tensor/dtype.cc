// The table of supported tensor types.
#include "tensor/dtype.h"

#include <cctype>

#include "tensor/blocks.h"

namespace silica {
namespace {

constexpr DTypeTraits kTraits[] = {
    {DType::kF32, "f32", 1, 4, false, DType::kF32},
    {DType::kF16, "f16", 1, 2, false, DType::kF16},
    {DType::kBF16, "bf16", 1, 2, false, DType::kBF16},
    {DType::kQ4_0, "q4_0", kQK4_0, sizeof(BlockQ4_0), true, DType::kQ8_0},
    {DType::kQ4_1, "q4_1", kQK4_1, sizeof(BlockQ4_1), true, DType::kQ8_1},
    {DType::kQ5_0, "q5_0", kQK5_0, sizeof(BlockQ5_0), true, DType::kQ8_0},
    {DType::kQ5_1, "q5_1", kQK5_1, sizeof(BlockQ5_1), true, DType::kQ8_1},
    {DType::kQ8_0, "q8_0", kQK8_0, sizeof(BlockQ8_0), true, DType::kQ8_0},
    {DType::kQ8_1, "q8_1", kQK8_1, sizeof(BlockQ8_1), true, DType::kQ8_1},
    {DType::kQ2_K, "q2_K", kQK_K, sizeof(BlockQ2_K), true, DType::kQ8_K},
    {DType::kQ3_K, "q3_K", kQK_K, sizeof(BlockQ3_K), true, DType::kQ8_K},
    {DType::kQ4_K, "q4_K", kQK_K, sizeof(BlockQ4_K), true, DType::kQ8_K},
    {DType::kQ5_K, "q5_K", kQK_K, sizeof(BlockQ5_K), true, DType::kQ8_K},
    {DType::kQ6_K, "q6_K", kQK_K, sizeof(BlockQ6_K), true, DType::kQ8_K},
    {DType::kQ8_K, "q8_K", kQK_K, sizeof(BlockQ8_K), true, DType::kQ8_K},
    {DType::kI8, "i8", 1, 1, false, DType::kI8},
    {DType::kI16, "i16", 1, 2, false, DType::kI16},
    {DType::kI32, "i32", 1, 4, false, DType::kI32},
};

}  // namespace

const DTypeTraits* dtype_traits(DType t) {
  for (const auto& tr : kTraits)
    if (tr.type == t) return &tr;
  return nullptr;
}

const DTypeTraits* dtype_traits_from_id(uint32_t id) { return dtype_traits(DType(id)); }

const char* dtype_name(DType t) {
  const DTypeTraits* tr = dtype_traits(t);
  return tr ? tr->name : "unknown";
}

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& tr : kTraits) {
    std::string_view n = tr.name;
    if (n.size() != name.size()) continue;
    bool eq = true;
    for (size_t i = 0; i < n.size() && eq; ++i)
      eq = std::tolower(static_cast<unsigned char>(n[i])) ==
           std::tolower(static_cast<unsigned char>(name[i]));
    if (eq) return tr.type;
  }
  return std::nullopt;
}

size_t dtype_row_size(DType t, int64_t n) {
  const DTypeTraits* tr = dtype_traits(t);
  return size_t(n / tr->block_size) * tr->type_size;
}

}  // namespace silica

// The per-ISA kernel tables: scalar twins from tensor/reference.h everywhere, overridden by the
// SIMD kernels each ISA file provides. Built once, on first use.
#include <algorithm>
#include <array>
#include <vector>

#include "kernels/kernel_tables.h"
#include "tensor/reference.h"

namespace silica {
namespace kernels_internal {
namespace {

template <DType T>
float ref_vec_dot(const void* a, const void* b, int64_t n) {
  return vec_dot_ref(T, a, b, n);
}
template <DType T>
void ref_from_float(const float* x, void* y, int64_t n) {
  quantize_row_ref(T, x, y, n);
}
template <DType T>
void ref_to_float(const void* x, float* y, int64_t n) {
  dequantize_row_ref(T, x, y, n);
}

// Types that are weights (the left side of a dot) and also convertible both ways.
template <DType T>
void set_weight(KernelTable& table) {
  entry(table, T) = {&ref_vec_dot<T>, &ref_from_float<T>, &ref_to_float<T>};
}
// Activation-only types: GGUF defines no dot with them on the left.
template <DType T>
void set_activation(KernelTable& table) {
  entry(table, T) = {nullptr, &ref_from_float<T>, &ref_to_float<T>};
}

}  // namespace

void fill_scalar_kernels(KernelTable& table) {
  set_weight<DType::kF32>(table);
  set_weight<DType::kF16>(table);
  set_weight<DType::kBF16>(table);
  set_weight<DType::kQ4_0>(table);
  set_weight<DType::kQ4_1>(table);
  set_weight<DType::kQ5_0>(table);
  set_weight<DType::kQ5_1>(table);
  set_weight<DType::kQ8_0>(table);
  set_weight<DType::kQ2_K>(table);
  set_weight<DType::kQ3_K>(table);
  set_weight<DType::kQ4_K>(table);
  set_weight<DType::kQ5_K>(table);
  set_weight<DType::kQ6_K>(table);
  set_activation<DType::kQ8_1>(table);
  set_activation<DType::kQ8_K>(table);
}

}  // namespace kernels_internal

const TypeKernels& type_kernels(DType t, Isa isa) {
  using kernels_internal::KernelTable;
  static const std::array<KernelTable, 4> tables = [] {
    std::array<KernelTable, 4> out{};
    for (KernelTable& table : out) kernels_internal::fill_scalar_kernels(table);
#if defined(SILICA_HAVE_X86)
    // The fill functions are compiled with their ISA's flags and may use its instructions
    // themselves (the sanitizer build's do): call them only where the CPU has that ISA.
    const std::vector<Isa> isas = available_isas();
    const auto has = [&](Isa i) { return std::find(isas.begin(), isas.end(), i) != isas.end(); };
    if (has(Isa::kAvx2)) kernels_internal::fill_avx2_kernels(out[int(Isa::kAvx2)]);
    if (has(Isa::kAvx512)) {
      kernels_internal::fill_avx512_kernels(out[int(Isa::kAvx512)]);
      kernels_internal::fill_avx512_tiles(out[int(Isa::kAvx512)]);
    }
#endif
#if defined(SILICA_HAVE_NEON)
    kernels_internal::fill_neon_kernels(out[int(Isa::kNeon)], cpu_features().dotprod);
    kernels_internal::fill_neon_more_kernels(out[int(Isa::kNeon)], cpu_features().dotprod);
#endif
    return out;
  }();
  static const TypeKernels kNone{};
  const uint32_t id = uint32_t(t);
  if (id >= uint32_t(kernels_internal::kNumTypeIds) || int(isa) < 0 || int(isa) >= 4) return kNone;
  return tables[int(isa)][id];
}

}  // namespace silica

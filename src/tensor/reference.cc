// Dispatch of the scalar reference routines by type, and the plain types F32 / F16 / BF16.
#include "tensor/reference.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "base/half.h"
#include "tensor/reference_internal.h"

namespace silica {
namespace {

void dequantize_f32(const void* src, float* dst, int64_t n) {
  std::memcpy(dst, src, size_t(n) * sizeof(float));
}
void dequantize_f16(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_f32(x[i]);
}
void dequantize_bf16(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(x[i]);
}
void quantize_f32(const float* src, void* dst, int64_t n) {
  std::memcpy(dst, src, size_t(n) * sizeof(float));
}
void quantize_f16(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) y[i] = f32_to_fp16(src[i]);
}
void quantize_bf16(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) y[i] = f32_to_bf16(src[i]);
}

// Plain dots: each product in fp32, summed in double so the reference is not the noisy one.
float vec_dot_f32(const void* a, const void* b, int64_t n) {
  const auto* x = static_cast<const float*>(a);
  const auto* y = static_cast<const float*>(b);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += double(x[i] * y[i]);
  return float(sum);
}
float vec_dot_f16(const void* a, const void* b, int64_t n) {
  const auto* x = static_cast<const uint16_t*>(a);
  const auto* y = static_cast<const uint16_t*>(b);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += double(fp16_to_f32(x[i]) * fp16_to_f32(y[i]));
  return float(sum);
}
float vec_dot_bf16(const void* a, const void* b, int64_t n) {
  const auto* x = static_cast<const uint16_t*>(a);
  const auto* y = static_cast<const uint16_t*>(b);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += double(bf16_to_f32(x[i]) * bf16_to_f32(y[i]));
  return float(sum);
}

struct RefFns {
  DType type;
  ref::DequantFn dequantize;
  ref::QuantFn quantize;
  ref::DotFn vec_dot;
};

constexpr RefFns kRefFns[] = {
    {DType::kF32, dequantize_f32, quantize_f32, vec_dot_f32},
    {DType::kF16, dequantize_f16, quantize_f16, vec_dot_f16},
    {DType::kBF16, dequantize_bf16, quantize_bf16, vec_dot_bf16},
    {DType::kQ4_0, ref::dequantize_q4_0, ref::quantize_q4_0, ref::vec_dot_q4_0},
    {DType::kQ4_1, ref::dequantize_q4_1, ref::quantize_q4_1, ref::vec_dot_q4_1},
    {DType::kQ5_0, ref::dequantize_q5_0, ref::quantize_q5_0, ref::vec_dot_q5_0},
    {DType::kQ5_1, ref::dequantize_q5_1, ref::quantize_q5_1, ref::vec_dot_q5_1},
    {DType::kQ8_0, ref::dequantize_q8_0, ref::quantize_q8_0, ref::vec_dot_q8_0},
    {DType::kQ8_1, ref::dequantize_q8_1, ref::quantize_q8_1, ref::vec_dot_q8_1},
    {DType::kQ2_K, ref::dequantize_q2_k, ref::quantize_q2_k, ref::vec_dot_q2_k},
    {DType::kQ3_K, ref::dequantize_q3_k, ref::quantize_q3_k, ref::vec_dot_q3_k},
    {DType::kQ4_K, ref::dequantize_q4_k, ref::quantize_q4_k, ref::vec_dot_q4_k},
    {DType::kQ5_K, ref::dequantize_q5_k, ref::quantize_q5_k, ref::vec_dot_q5_k},
    {DType::kQ6_K, ref::dequantize_q6_k, ref::quantize_q6_k, ref::vec_dot_q6_k},
    {DType::kQ8_K, ref::dequantize_q8_k, ref::quantize_q8_k, ref::vec_dot_q8_k},
};

const RefFns* find(DType t) {
  for (const auto& f : kRefFns)
    if (f.type == t) return &f;
  return nullptr;
}

// A type without a reference is a caller bug (has_reference says which exist), not bad data.
const RefFns& require(DType t, const char* op) {
  const RefFns* f = find(t);
  if (!f) {
    std::fprintf(stderr, "silica: %s: no reference implementation for type %s (id %u)\n", op,
                 dtype_name(t), unsigned(t));
    std::abort();
  }
  return *f;
}

}  // namespace

bool has_reference(DType t) {
  return find(t) != nullptr;
}

void dequantize_row_ref(DType t, const void* src, float* dst, int64_t n) {
  require(t, "dequantize_row_ref").dequantize(src, dst, n);
}

void quantize_row_ref(DType t, const float* src, void* dst, int64_t n) {
  require(t, "quantize_row_ref").quantize(src, dst, n);
}

float vec_dot_ref(DType t, const void* a, const void* b, int64_t n) {
  return require(t, "vec_dot_ref").vec_dot(a, b, n);
}

}  // namespace silica

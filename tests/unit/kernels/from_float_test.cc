// Every ISA's from_float for the activation types produces the reference's bytes exactly.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>

#include "kernel_test_util.h"

namespace silica {
namespace {

using test::label;

void expect_same_bytes(Isa isa, DType t, const std::vector<float>& x, const char* what) {
  const int64_t n = int64_t(x.size());
  const auto want = test::quantize(t, x);
  std::vector<uint8_t> got(want.size(), 0xAB);
  type_kernels(t, isa).from_float(x.data(), got.data(), n);
  size_t first_diff = want.size();
  for (size_t i = 0; i < want.size() && first_diff == want.size(); ++i)
    if (want[i] != got[i]) first_diff = i;
  EXPECT_EQ(first_diff, want.size())
      << label(isa, t) << " " << what << " n=" << n << ": first differing byte " << first_diff;
}

const DType kActivationTypes[] = {DType::kQ8_0, DType::kQ8_1, DType::kQ8_K, DType::kF16,
                                  DType::kBF16};

TEST(FromFloat, RandomRowsMatchReferenceBytes) {
  for (Isa isa : available_isas())
    for (DType t : kActivationTypes)
      for (int64_t n : {int64_t(256), int64_t(2048 + 256), int64_t(4096)})
        expect_same_bytes(isa, t, test::random_floats(n, uint32_t(n) + 3), "random");
}

// Exact halves after scaling: q8_0 rounds them away from zero (roundf), q8_K to even.
TEST(FromFloat, RoundingTiesMatchReference) {
  std::vector<float> x(256);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(int(i % 64) - 32) + 0.5f;
  for (size_t b = 0; b < x.size(); b += 32) x[b] = 127.0f;    // q8_0: d = 1, x * id exact
  for (size_t b = 0; b < x.size(); b += 256) x[b] = -127.0f;  // q8_K: iscale = 1
  for (Isa isa : available_isas())
    for (DType t : kActivationTypes) expect_same_bytes(isa, t, x, "ties");
}

// Zero blocks, subnormals, and values that overflow fp16.
TEST(FromFloat, SpecialValuesMatchReference) {
  std::vector<float> x(512, 0.0f);
  for (int i = 256; i < 512; ++i) x[i] = (i % 2 ? 1.0f : -1.0f) * 1e-40f * float(i);
  x[300] = 70000.0f;
  x[301] = -1e30f;
  x[302] = std::numeric_limits<float>::infinity();
  x[303] = 65519.0f;
  x[304] = 6e-8f;
  for (Isa isa : available_isas()) {
    for (DType t : {DType::kF16, DType::kBF16}) expect_same_bytes(isa, t, x, "special");
    // The quantized types see only finite rows; a zero block must give d = 0 and q = 0.
    std::vector<float> q(x.begin(), x.begin() + 256);
    for (DType t : {DType::kQ8_0, DType::kQ8_1, DType::kQ8_K})
      expect_same_bytes(isa, t, q, "zeros");
  }
}

TEST(ToFloat, HalfTypesRoundTrip) {
  const auto x = test::random_floats(1000, 11);
  for (Isa isa : available_isas()) {
    for (DType t : {DType::kF16, DType::kBF16}) {
      const auto bytes = test::quantize(t, x);
      std::vector<float> want(x.size()), got(x.size());
      dequantize_row_ref(t, bytes.data(), want.data(), int64_t(x.size()));
      type_kernels(t, isa).to_float(bytes.data(), got.data(), int64_t(x.size()));
      EXPECT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float)))
          << label(isa, t);
    }
  }
}

}  // namespace
}  // namespace silica

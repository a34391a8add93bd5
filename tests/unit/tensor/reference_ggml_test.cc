// Bit-exact checks against ggml itself (the pinned peer's libggml-base.so): dequantization of
// random blocks for every type, activation quantizers byte for byte, and weight quantizer
// quality no worse than ggml's reference quantizers.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "base/half.h"
#include "ggml_peer.h"
#include "quant_test_util.h"
#include "tensor/blocks.h"
#include "tensor/dtype.h"
#include "tensor/reference.h"

namespace silica {
namespace {

using testing::Dist;
using testing::GgmlPeer;

constexpr int kRandomBlocks = 4096;  // per type, for the dequantization comparison
constexpr int64_t kQuantRow = 4096;  // elements per row for the quantizer comparisons

class GgmlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { peer_ = new GgmlPeer(); }
  static void TearDownTestSuite() {
    delete peer_;
    peer_ = nullptr;
  }
  void SetUp() override {
    if (peer_->ok()) return;
    if (GgmlPeer::required()) GTEST_FAIL() << "SILICA_REQUIRE_PEERS=1 but " << peer_->error();
    GTEST_SKIP() << peer_->error();
  }
  static const testing::GgmlTypeTraits& traits(DType t) {
    const testing::GgmlTypeTraits* tr = peer_->traits(uint32_t(t));
    EXPECT_NE(tr, nullptr) << dtype_name(t);
    return *tr;
  }
  using GgmlQuantizeFn = void (*)(const float*, void*, int64_t);
  static GgmlQuantizeFn ggml_reference_quantizer(DType t);
  using GgmlDequantizeFn = void (*)(const void*, float*, int64_t);
  static GgmlDequantizeFn ggml_dequantizer(DType t);
  static GgmlPeer* peer_;
};
GgmlPeer* GgmlTest::peer_ = nullptr;

// A random fp16 that is finite: any sign, exponent (subnormals and zero included) and mantissa.
uint16_t random_finite_fp16(std::mt19937& rng) {
  for (;;) {
    const auto h = uint16_t(rng());
    if (((h >> 10) & 0x1f) != 0x1f) return h;
  }
}

void set_fp16(uint8_t* block, size_t offset, std::mt19937& rng) {
  const uint16_t h = random_finite_fp16(rng);
  std::memcpy(block + offset, &h, 2);
}

// Random bytes everywhere, then finite values in the scale fields (random bytes there would
// make inf / nan scales, whose products are not worth comparing).
std::vector<uint8_t> random_blocks(DType t, int n_blocks, uint32_t seed) {
  const size_t size = dtype_traits(t)->type_size;
  std::vector<uint8_t> data(size * n_blocks);
  std::mt19937 rng(seed);
  for (auto& b : data) b = uint8_t(rng());
  for (int i = 0; i < n_blocks; ++i) {
    uint8_t* b = data.data() + i * size;
    switch (t) {
      case DType::kQ4_1:
      case DType::kQ5_1:
      case DType::kQ8_1:
      case DType::kQ4_K:
      case DType::kQ5_K:
        set_fp16(b, 2, rng);
        [[fallthrough]];
      case DType::kQ4_0:
      case DType::kQ5_0:
      case DType::kQ8_0:
        set_fp16(b, 0, rng);
        break;
      case DType::kQ2_K:
        set_fp16(b, offsetof(BlockQ2_K, d), rng);
        set_fp16(b, offsetof(BlockQ2_K, dmin), rng);
        break;
      case DType::kQ3_K:
        set_fp16(b, offsetof(BlockQ3_K, d), rng);
        break;
      case DType::kQ6_K:
        set_fp16(b, offsetof(BlockQ6_K, d), rng);
        break;
      case DType::kQ8_K: {
        const float d =
            std::ldexp(float(rng() % 1000 + 1), -int(rng() % 30)) * (rng() & 1 ? 1.0f : -1.0f);
        std::memcpy(b, &d, 4);
        break;
      }
      default:
        break;
    }
  }
  return data;
}

// Bitwise float comparison: -0 vs +0 and nan payloads count as differences.
int64_t first_bit_difference(const std::vector<float>& a, const std::vector<float>& b) {
  for (size_t i = 0; i < a.size(); ++i)
    if (f32_bits(a[i]) != f32_bits(b[i])) return int64_t(i);
  return -1;
}

TEST_F(GgmlTest, TraitsMatchBlockLayouts) {
  for (DType t : testing::all_reference_types()) {
    const auto& tr = traits(t);
    EXPECT_STREQ(tr.type_name, dtype_name(t));
    EXPECT_EQ(tr.blck_size, dtype_traits(t)->block_size) << dtype_name(t);
    EXPECT_EQ(tr.type_size, dtype_traits(t)->type_size) << dtype_name(t);
    EXPECT_EQ(tr.is_quantized, dtype_traits(t)->quantized) << dtype_name(t);
  }
}

TEST_F(GgmlTest, DequantizeRandomBlocksIsBitExact) {
  for (DType t : testing::all_reference_types()) {
    if (!dtype_traits(t)->quantized) continue;
    const auto dequantize_ggml = ggml_dequantizer(t);
    if (t == DType::kQ8_1) {  // an activation-only type: ggml has no to_float for it
      EXPECT_EQ(dequantize_ggml, nullptr) << "ggml now dequantizes q8_1: compare it here";
      continue;
    }
    ASSERT_NE(dequantize_ggml, nullptr) << dtype_name(t);
    for (uint32_t seed : {1u, 2u}) {
      const auto blocks = random_blocks(t, kRandomBlocks, seed);
      const int64_t n = kRandomBlocks * dtype_traits(t)->block_size;
      std::vector<float> ours(n), theirs(n);
      dequantize_row_ref(t, blocks.data(), ours.data(), n);
      dequantize_ggml(blocks.data(), theirs.data(), n);
      const int64_t i = first_bit_difference(ours, theirs);
      EXPECT_EQ(i, -1) << dtype_name(t) << " seed " << seed << " element " << i << ": ours "
                       << (i >= 0 ? ours[i] : 0) << " ggml " << (i >= 0 ? theirs[i] : 0);
    }
  }
}

// Every 16-bit pattern of f16 and bf16, nan and inf included.
TEST_F(GgmlTest, DequantizeEveryHalfIsBitExact) {
  std::vector<uint16_t> all(1 << 16);
  for (size_t i = 0; i < all.size(); ++i) all[i] = uint16_t(i);
  for (DType t : {DType::kF16, DType::kBF16}) {
    const auto& tr = traits(t);
    ASSERT_NE(tr.to_float, nullptr) << dtype_name(t);
    std::vector<float> ours(all.size()), theirs(all.size());
    dequantize_row_ref(t, all.data(), ours.data(), int64_t(all.size()));
    tr.to_float(all.data(), theirs.data(), int64_t(all.size()));
    const int64_t i = first_bit_difference(ours, theirs);
    EXPECT_EQ(i, -1) << dtype_name(t) << " pattern " << i;
  }
}

// Rows for the activation quantizers: random data at several magnitudes, zero blocks, and
// exact ties (values k + 0.5 at scale 1) where roundf and round-to-even differ.
std::vector<std::vector<float>> activation_rows() {
  std::vector<std::vector<float>> rows;
  for (Dist dist : {Dist::kNormal, Dist::kUniform, Dist::kShiftedNormal}) {
    for (float scale : {1e-6f, 1e-2f, 1.0f, 3e3f}) {
      auto x = testing::random_row(dist, 7, kQuantRow);
      for (auto& v : x) v *= scale;
      rows.push_back(x);
    }
  }
  std::vector<float> ties(kQuantRow, 0.0f);  // first 256 elements stay zero: zero blocks
  for (int64_t i = kQK_K; i < kQuantRow; ++i) ties[i] = float(i % 254 - 127) + 0.5f;
  for (int64_t i = kQK_K; i < kQuantRow; i += 32) ties[i] = (i / 32) % 2 ? 127.0f : -127.0f;
  rows.push_back(ties);
  return rows;
}

// ggml's base traits leave to_float and from_float_ref empty for q8_K (they live with the CPU
// backend's traits), but libggml-base exports the functions under their ggml-quants.h names.
GgmlTest::GgmlDequantizeFn GgmlTest::ggml_dequantizer(DType t) {
  const auto* tr = peer_->traits(uint32_t(t));
  if (tr && tr->to_float) return tr->to_float;
  const std::string name = std::string("dequantize_row_") + dtype_name(t);
  return reinterpret_cast<GgmlDequantizeFn>(peer_->symbol(name.c_str()));
}

GgmlTest::GgmlQuantizeFn GgmlTest::ggml_reference_quantizer(DType t) {
  const auto* tr = peer_->traits(uint32_t(t));
  if (tr && tr->from_float_ref) return tr->from_float_ref;
  const std::string name = std::string("quantize_row_") + dtype_name(t) + "_ref";
  return reinterpret_cast<GgmlQuantizeFn>(peer_->symbol(name.c_str()));
}

TEST_F(GgmlTest, ActivationQuantizersAreByteExact) {
  const auto rows = activation_rows();
  for (DType t : {DType::kQ8_0, DType::kQ8_1, DType::kQ8_K}) {
    const auto quantize_ggml = ggml_reference_quantizer(t);
    ASSERT_NE(quantize_ggml, nullptr) << dtype_name(t);
    for (size_t r = 0; r < rows.size(); ++r) {
      const auto ours = testing::quantize(t, rows[r]);
      std::vector<uint8_t> theirs(ours.size());
      quantize_ggml(rows[r].data(), theirs.data(), kQuantRow);
      size_t i = 0;
      while (i < ours.size() && ours[i] == theirs[i]) ++i;
      EXPECT_EQ(i, ours.size()) << dtype_name(t) << " row " << r << ": first differing byte " << i
                                << " (block " << i / dtype_traits(t)->type_size << ")";
    }
  }
}

double relative_rms_error(const std::vector<float>& x, const std::vector<float>& y) {
  double err = 0, ref = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    err += (double(y[i]) - x[i]) * (double(y[i]) - x[i]);
    ref += double(x[i]) * x[i];
  }
  return std::sqrt(err / ref);
}

// Our weight quantizers may encode differently from ggml's, but must not be worse than its
// reference quantizers by more than this factor on the relative RMS error.
constexpr double kQualityVsGgml = 1.02;

TEST_F(GgmlTest, WeightQuantizersAreAsGoodAsGgmlReference) {
  for (DType t : {DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ8_0,
                  DType::kQ2_K, DType::kQ3_K, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
    const auto& tr = traits(t);
    ASSERT_NE(tr.from_float_ref, nullptr) << dtype_name(t);
    for (Dist dist : {Dist::kNormal, Dist::kUniform, Dist::kShiftedNormal}) {
      const auto x = testing::random_row(dist, 11, kQuantRow);
      const auto ours = testing::dequantize(t, testing::quantize(t, x), kQuantRow);
      std::vector<uint8_t> q(dtype_row_size(t, kQuantRow));
      tr.from_float_ref(x.data(), q.data(), kQuantRow);
      const auto theirs = testing::dequantize(t, q, kQuantRow);
      const double e_ours = relative_rms_error(x, ours), e_theirs = relative_rms_error(x, theirs);
      std::printf("[ measured ] %s %s: ours %.5f ggml %.5f\n", dtype_name(t),
                  testing::dist_name(dist), e_ours, e_theirs);
      EXPECT_LE(e_ours, e_theirs * kQualityVsGgml)
          << dtype_name(t) << " " << testing::dist_name(dist);
    }
  }
}

}  // namespace
}  // namespace silica

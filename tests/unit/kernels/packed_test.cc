// Packed (row-interleaved) matrices: packing loses nothing (rows read back equal the file's rows
// dequantized), the scalar twin of the packed tile is close to the reference dot, every ISA's
// packed tile equals the twin bit for bit, and a token's result depends on nothing but its own
// activations (batch size, thread count, tiling).
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "base/mapped_file.h"
#include "kernel_test_util.h"
#include "kernels/packed.h"

namespace silica {
namespace {

constexpr int64_t kNOut = 67;  // a partial last group
constexpr int64_t kYPad = 3;   // y row stride = kNOut + kYPad; padding must stay untouched
constexpr float kPadValue = -4321.0f;

const DType kPackedTypes[] = {DType::kQ4_0, DType::kQ8_0, DType::kQ4_K,
                              DType::kQ6_K, DType::kF16,  DType::kBF16};

struct Problem {
  int64_t n_in;
  std::vector<uint8_t> w;  // [kNOut] rows of type t
  std::vector<float> x;    // [n_tok, n_in]
};

Problem make_problem(DType t, int64_t n_in, int64_t n_tok) {
  Problem p{n_in, {}, {}};
  const size_t row = dtype_row_size(t, n_in);
  p.w.resize(row * kNOut);
  for (int64_t o = 0; o < kNOut; ++o) {
    const auto wf = test::random_floats(n_in, uint32_t(500 + o));
    quantize_row_ref(t, wf.data(), p.w.data() + o * row, n_in);
  }
  p.x = test::random_floats(n_in * n_tok, uint32_t(31 + n_tok));
  return p;
}

ThreadPool& pool_of(int threads) {
  static ThreadPool p1(1), p2(2), p3(3);
  return threads == 1 ? p1 : threads == 2 ? p2 : p3;
}

std::vector<float> run(const PackedMatrix& m, const float* x, int64_t n_tok, int threads) {
  MatmulScratch scratch;
  const int64_t stride = kNOut + kYPad;
  std::vector<float> y(stride * n_tok, kPadValue);
  matmul_packed(m, x, n_tok, y.data(), stride, pool_of(threads), scratch);
  return y;
}

// Wider than kPackSliceCols: packed as 3 column slices of unequal widths (20 Q4_K / Q6_K
// super-blocks as 6, 7, 7; 160 blocks of 32 as 53, 53, 54).
constexpr int64_t kWideNIn = 5120;

// The slices of m: whole blocks, at most kPackSliceCols wide, at most a block apart, covering
// [0, n_in) in order, each n_groups() groups of the packing's size for its width.
void expect_slices(const PackedMatrix& m, int64_t want_slices, int64_t block, const char* label) {
  EXPECT_EQ(m.n_slices(), want_slices) << label;
  int64_t narrowest = m.n_in(), widest = 0;
  size_t bytes = 0;
  for (int64_t s = 0; s < m.n_slices(); ++s) {
    const int64_t cols = m.slice_cols(s);
    EXPECT_EQ(m.slice_begin(s) % block, 0) << label << " slice " << s;
    EXPECT_EQ(cols % block, 0) << label << " slice " << s;
    EXPECT_LE(cols, kPackSliceCols) << label << " slice " << s;
    narrowest = std::min(narrowest, cols);
    widest = std::max(widest, cols);
    EXPECT_EQ(m.group_bytes(s), m.kernels().group_bytes(cols)) << label << " slice " << s;
    EXPECT_EQ(m.group(0, s), m.group(0) + bytes) << label << " slice " << s;
    bytes += size_t(m.n_groups()) * m.group_bytes(s);
  }
  EXPECT_EQ(m.slice_begin(0), 0) << label;
  EXPECT_EQ(m.slice_begin(m.n_slices()), m.n_in()) << label;
  EXPECT_LE(widest - narrowest, block) << label;
  EXPECT_EQ(m.bytes(), bytes) << label;
}

TEST(Packed, AWideMatrixIsPackedAsColumnSlices) {
  for (DType t : kPackedTypes) {
    const int64_t block = t == DType::kQ4_K || t == DType::kQ6_K ? 256 : 32;
    const Problem p = make_problem(t, kWideNIn, 1);
    auto m = PackedMatrix::pack(p.w.data(), t, kNOut, p.n_in, nullptr, packed_reference_kernels(t));
    ASSERT_TRUE(m) << dtype_name(t);
    expect_slices(*m, 3, block, dtype_name(t));
    auto narrow = PackedMatrix::pack(p.w.data(), t, kNOut, kPackSliceCols, nullptr,
                                     packed_reference_kernels(t));
    expect_slices(*narrow, 1, block, dtype_name(t));
  }
  // Widths that split into no equal slices of whole blocks: 67 blocks of 32, and Llama 2 7B's
  // ffn_down in Q4_K (11008 = 43 super-blocks, a prime).
  const Problem odd = make_problem(DType::kQ8_0, 67 * 32, 1);
  auto m = PackedMatrix::pack(odd.w.data(), DType::kQ8_0, kNOut, odd.n_in, nullptr,
                              packed_reference_kernels(DType::kQ8_0));
  ASSERT_TRUE(m);
  expect_slices(*m, 2, 32, "q8_0 x 2144");
  const Problem llama2 = make_problem(DType::kQ4_K, 11008, 1);
  m = PackedMatrix::pack(llama2.w.data(), DType::kQ4_K, kNOut, llama2.n_in, nullptr,
                         packed_reference_kernels(DType::kQ4_K));
  ASSERT_TRUE(m);
  expect_slices(*m, 6, 256, "q4_K x 11008");
}

TEST(Packed, RowsReadBackAsTheFileRows) {
  for (DType t : kPackedTypes) {
    for (int64_t n_in : {int64_t(256), kWideNIn}) {
      const Problem p = make_problem(t, n_in, 1);
      auto m =
          PackedMatrix::pack(p.w.data(), t, kNOut, p.n_in, nullptr, packed_reference_kernels(t));
      ASSERT_TRUE(m) << dtype_name(t);
      std::vector<float> want(p.n_in), got(p.n_in);
      for (int64_t r = 0; r < kNOut; ++r) {
        dequantize_row_ref(t, p.w.data() + r * dtype_row_size(t, p.n_in), want.data(), p.n_in);
        m->row_to_float(r, got.data());
        ASSERT_EQ(want, got) << dtype_name(t) << " row " << r << " of " << n_in;
      }
    }
  }
}

// Q4_0 / Q8_0 groups hold their blocks in pairs: an odd count (800 = 25 blocks) leaves the last
// pair half empty, and every implementation must read the right half, as the rows read back.
TEST(Packed, AnOddNumberOfQ0BlocksReadsBackAndEqualsTheTwin) {
  for (DType t : {DType::kQ4_0, DType::kQ8_0}) {
    const int64_t n_in = 800, n_tok = 13;
    const Problem p = make_problem(t, n_in, n_tok);
    auto ref = PackedMatrix::pack(p.w.data(), t, kNOut, n_in, nullptr, packed_reference_kernels(t));
    ASSERT_TRUE(ref) << dtype_name(t);
    std::vector<float> want(n_in), got(n_in);
    for (int64_t r = 0; r < kNOut; ++r) {
      dequantize_row_ref(t, p.w.data() + r * dtype_row_size(t, n_in), want.data(), n_in);
      ref->row_to_float(r, got.data());
      ASSERT_EQ(want, got) << dtype_name(t) << " row " << r;
    }
    const auto y_ref = run(*ref, p.x.data(), n_tok, 1);
    for (const PackedKernels* k : packed_kernel_variants(t)) {
      auto simd = PackedMatrix::pack(p.w.data(), t, kNOut, n_in, &pool_of(2), k);
      ASSERT_TRUE(simd);
      for (int64_t n : {int64_t(1), n_tok}) {
        const auto y = run(*simd, p.x.data(), n, 2);
        ASSERT_EQ(0, std::memcmp(y_ref.data(), y.data(), y.size() * sizeof(float)))
            << dtype_name(t) << " " << n << " tokens";
      }
    }
  }
}

#ifdef __linux__
// Resident bytes of the mapping that holds p (the "Rss:" of its /proc/self/smaps entry).
int64_t resident_bytes_of_mapping(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  const auto addr = reinterpret_cast<uintptr_t>(p);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find(':') > line.find(' ')) {
      inside = addr >= lo && addr < hi;
    } else if (inside && line.rfind("Rss:", 0) == 0) {
      return std::stoll(line.substr(4)) * 1024;
    }
  }
  return -1;
}

// Packing a matrix of a file mapping with release_source drops its pages from this process as
// it goes (a load's peak holds no second copy of a large matrix) and loses nothing: the rows
// read back equal the file's rows, which fault back in from the file.
TEST(Packed, ReleasingTheSourceWhilePackingDropsItsPagesAndLosesNothing) {
  const DType t = DType::kQ8_0;
  const int64_t n_in = 1024, n_out = 4096;  // 4.25 MiB: 16 stretches of 16 groups
  const size_t row = dtype_row_size(t, n_in);
  std::vector<uint8_t> w(row * n_out);
  for (int64_t o = 0; o < n_out; ++o) {
    const auto wf = test::random_floats(n_in, uint32_t(900 + o));
    quantize_row_ref(t, wf.data(), w.data() + o * row, n_in);
  }
  const std::string path =
      (std::filesystem::temp_directory_path() / ("silica_release_" + std::to_string(getpid())))
          .string();
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(w.data()), w.size());
  auto file = MappedFile::open(path);
  std::filesystem::remove(path);  // the mapping keeps it alive
  ASSERT_TRUE(file) << file.message();
  ASSERT_EQ(0, std::memcmp(file->data(), w.data(), w.size()));  // every page now resident
  const int64_t before = resident_bytes_of_mapping(file->data());
  ASSERT_GE(before, int64_t(w.size()) * 9 / 10);

  auto m = PackedMatrix::pack(file->data(), t, n_out, n_in, &pool_of(2),
                              packed_reference_kernels(t), /*release_source=*/true);
  ASSERT_TRUE(m);
  // Only pages shared by two stretches may stay (two a stretch at most).
  EXPECT_LE(resident_bytes_of_mapping(file->data()), int64_t(w.size()) / 10);
  std::vector<float> want(n_in), got(n_in);
  for (int64_t r = 0; r < n_out; r += 7) {
    dequantize_row_ref(t, file->data() + r * row, want.data(), n_in);
    m->row_to_float(r, got.data());
    ASSERT_EQ(want, got) << "row " << r;
  }
  EXPECT_EQ(0, std::memcmp(file->data(), w.data(), w.size()));
}
#endif

TEST(Packed, RefusesWhatItCannotPack) {
  const Problem p = make_problem(DType::kQ4_0, 256, 1);
  EXPECT_FALSE(PackedMatrix::pack(p.w.data(), DType::kQ4_K, kNOut, 256, nullptr,
                                  packed_reference_kernels(DType::kQ4_0)));
  EXPECT_FALSE(PackedMatrix::pack(p.w.data(), DType::kQ4_K, kNOut, 96, nullptr,
                                  packed_reference_kernels(DType::kQ4_K)));
  EXPECT_FALSE(packed_reference_kernels(DType::kQ5_K));
  EXPECT_FALSE(packed_kernels(DType::kQ4_0, Isa::kScalar));
}

// y (run() of p's rows packed) against the reference dot of the file's rows with vec_dot_type
// activations; the padding past kNOut untouched.
void expect_close_to_reference_dot(DType t, const Problem& p, const std::vector<float>& y,
                                   int64_t n_tok, const std::string& label) {
  const int64_t n_in = p.n_in;
  const size_t w_row = dtype_row_size(t, n_in);
  for (int64_t tok = 0; tok < n_tok; ++tok) {
    const std::vector<float> xt(p.x.begin() + tok * n_in, p.x.begin() + (tok + 1) * n_in);
    const DType vt = dtype_traits(t)->vec_dot_type;
    const auto a = test::quantize(vt, xt);
    for (int64_t r = 0; r < kNOut; ++r) {
      const uint8_t* wr = p.w.data() + r * w_row;
      const double want = vec_dot_ref(t, wr, a.data(), n_in);
      const double scale = test::abs_dot_scale(t, wr, vt, a.data(), n_in);
      EXPECT_NEAR(y[tok * (kNOut + kYPad) + r], want, test::tolerance_for(t) * scale)
          << label << " token " << tok << " row " << r;
    }
    for (int64_t r = kNOut; r < kNOut + kYPad; ++r)
      EXPECT_EQ(y[tok * (kNOut + kYPad) + r], kPadValue);
  }
}

// The twin against the reference dot of the file's rows with q8_0 activations.
TEST(Packed, ReferenceTileIsCloseToTheReferenceDot) {
  for (DType t : kPackedTypes) {
    for (int64_t n_in : {int64_t(512), kWideNIn}) {
      const int64_t n_tok = 5;
      const Problem p = make_problem(t, n_in, n_tok);
      auto m = PackedMatrix::pack(p.w.data(), t, kNOut, n_in, nullptr, packed_reference_kernels(t));
      const auto y = run(*m, p.x.data(), n_tok, 1);
      expect_close_to_reference_dot(t, p, y, n_tok,
                                    dtype_name(t) + std::string(" ") + std::to_string(n_in));
    }
  }
}

[[maybe_unused]] bool has_isa(Isa isa) {
  const std::vector<Isa> isas = available_isas();
  return std::find(isas.begin(), isas.end(), isa) != isas.end();
}

// Where an ISA keeps F16 in rows (Zen 4, AVX2 cores), a wide matrix is copied as column slices of
// plain rows: only a wide one, read back whole, close to the reference dot, and a token's result
// the same bits in any batch and on any thread count.
TEST(Packed, WideF16RowsAreSlicedWhereTheIsaKeepsRows) {
  const DType t = DType::kF16;
  int checked = 0;
  for (Isa isa : available_isas()) {
    const PackedKernels* k = sliced_rows_kernels(t, isa);
    if (!k) continue;
    const std::string label = std::string("sliced f16 rows, ") + isa_name(isa);
    const int64_t n_tok = 70;
    const Problem narrow = make_problem(t, kPackSliceCols, 1);
    EXPECT_FALSE(PackedMatrix::pack(narrow.w.data(), t, kNOut, kPackSliceCols, nullptr, k))
        << label << ": a matrix that is not sliced stays in the file's rows";
    const Problem p = make_problem(t, kWideNIn, n_tok);
    auto m = PackedMatrix::pack(p.w.data(), t, kNOut, kWideNIn, &pool_of(2), k);
    ASSERT_TRUE(m) << label;
    expect_slices(*m, 3, 32, label.c_str());
    std::vector<float> want_row(kWideNIn), got_row(kWideNIn);
    for (int64_t r : {int64_t(0), int64_t(17), kNOut - 1}) {
      dequantize_row_ref(t, p.w.data() + r * dtype_row_size(t, kWideNIn), want_row.data(),
                         kWideNIn);
      m->row_to_float(r, got_row.data());
      ASSERT_EQ(want_row, got_row) << label << " row " << r;
    }
    const auto want = run(*m, p.x.data(), n_tok, 1);
    expect_close_to_reference_dot(t, p, want, n_tok, label);
    for (int threads : {2, 3}) {
      const auto got = run(*m, p.x.data(), n_tok, threads);
      ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float)))
          << label << " threads " << threads;
    }
    const int64_t stride = kNOut + kYPad, t0 = 17;
    for (int64_t n : {1, 2, 3, 9, 13}) {
      const auto got = run(*m, p.x.data() + t0 * kWideNIn, n, 2);
      ASSERT_EQ(0, std::memcmp(want.data() + t0 * stride, got.data(), n * stride * 4))
          << label << " batch of " << n;
    }
    ++checked;
  }
#if defined(SILICA_HAVE_X86)
  // The loader gets them where F16 has no interleaved packing of its own.
  if (has_isa(Isa::kAvx2)) {
    EXPECT_EQ(packed_kernels(t, Isa::kAvx2), sliced_rows_kernels(t, Isa::kAvx2));
  }
  if (has_isa(Isa::kAvx512) && cpu_features().avx512_split) {
    EXPECT_EQ(packed_kernels(t, Isa::kAvx512), sliced_rows_kernels(t, Isa::kAvx512));
  }
  EXPECT_EQ(checked, int(has_isa(Isa::kAvx2)) + int(has_isa(Isa::kAvx512)));
#else
  EXPECT_EQ(checked, 0);
#endif
}

// Every implementation (AVX2, AVX-512 VNNI, AMX where the CPU has them; NEON) against the twin.
TEST(Packed, EveryIsaEqualsTheTwinForAnyBatchAndThreads) {
  int checked = 0;
  for (DType t : kPackedTypes) {
    const std::vector<const PackedKernels*> variants = packed_kernel_variants(t);
    for (size_t vi = 0; vi < variants.size(); ++vi) {
      const PackedKernels* k = variants[vi];
      const std::string label = std::string(dtype_name(t)) + " variant " + std::to_string(vi) +
                                " (" + std::to_string(k->tile_tokens) + " tokens a call)";
      for (int64_t n_in : {int64_t(256), int64_t(2048), int64_t(768), kWideNIn}) {
        const int64_t n_tok = 70;  // several token tiles and a partial microkernel
        const Problem p = make_problem(t, n_in, n_tok);
        auto ref =
            PackedMatrix::pack(p.w.data(), t, kNOut, n_in, nullptr, packed_reference_kernels(t));
        auto simd = PackedMatrix::pack(p.w.data(), t, kNOut, n_in, &pool_of(2), k);
        ASSERT_TRUE(ref && simd);
        const auto want = run(*ref, p.x.data(), n_tok, 1);
        for (int threads : {1, 2, 3}) {
          const auto got = run(*simd, p.x.data(), n_tok, threads);
          ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float)))
              << label << " n_in " << n_in << " threads " << threads;
        }
        // A token alone, or in a small batch, gives the same bits as inside the big batch.
        const int64_t stride = kNOut + kYPad;
        // 13, 14, 21, 22: the 1- and 2-token microkernels as the tail of a bigger call.
        for (int64_t n : {1, 2, 3, 9, 13, 14, 16, 17, 21, 22}) {
          const int64_t t0 = 17;
          const auto got = run(*simd, p.x.data() + t0 * n_in, n, 2);
          ASSERT_EQ(0, std::memcmp(want.data() + t0 * stride, got.data(), n * stride * 4))
              << label << " batch of " << n;
        }
        ++checked;
      }
    }
  }
#if defined(SILICA_HAVE_X86)
  // Every type has an AVX-512 tile; Q4_0 / Q8_0 / Q4_K / Q6_K an AVX2 tile and an AMX tile too (F16
  // / BF16 stay unpacked on AVX2 cores); 4 sizes each. A silently missing implementation fails
  // here.
  const int types = int(std::size(kPackedTypes));
  const int amx = has_isa(Isa::kAvx512) && cpu_features().amx_int8 &&
                  packed_kernel_variants(DType::kQ8_0).size() > 2;
  EXPECT_EQ(checked, (4 * has_isa(Isa::kAvx2) + types * has_isa(Isa::kAvx512) + 4 * amx) * 4);
#endif
#if defined(__aarch64__)
  // With SDOT: a NEON tile for every type.
  if (cpu_features().dotprod) {
    EXPECT_EQ(checked, int(std::size(kPackedTypes)) * 4);
  }
#endif
}

// Raw bytes instead of a quantizer's output: Q8_0 weights of -128, Q6_K scales of -128, every
// nibble and 6-bit scale and min, against activations at +-127: where int16 sums could saturate,
// it shows. The fp16 scales are set to 1 so that every result is finite.
TEST(Packed, EveryIsaEqualsTheTwinOnExtremeBytes) {
  const DType types[] = {DType::kQ4_0, DType::kQ8_0, DType::kQ4_K, DType::kQ6_K};
  for (DType t : types) {
    const int64_t n_in = 512, n_tok = 9;
    const size_t row = dtype_row_size(t, n_in),
                 block = dtype_row_size(t, t == DType::kQ4_0 || t == DType::kQ8_0 ? 32 : 256);
    std::vector<uint8_t> w(row * kNOut);
    std::mt19937 rng(77);
    for (uint8_t& b : w) b = uint8_t(rng());
    if (t == DType::kQ8_0)  // a row of -128 only (its scale is set below)
      std::fill(w.begin() + 5 * row, w.begin() + 6 * row, uint8_t(0x80));
    const uint16_t one = 0x3C00;
    for (size_t at = 0; at < w.size(); at += block) {
      const size_t d_at = t == DType::kQ6_K ? block - 2 : 0;
      std::memcpy(&w[at + d_at], &one, 2);
      if (t == DType::kQ4_K) std::memcpy(&w[at + 2], &one, 2);  // dmin
    }
    std::vector<float> x(n_in * n_tok);
    for (size_t i = 0; i < x.size(); ++i) x[i] = rng() % 2 ? 1.0f : -1.0f;  // q8 +-127
    auto ref = PackedMatrix::pack(w.data(), t, kNOut, n_in, nullptr, packed_reference_kernels(t));
    ASSERT_TRUE(ref);
    const auto want = run(*ref, x.data(), n_tok, 1);
    for (const PackedKernels* k : packed_kernel_variants(t)) {
      auto simd = PackedMatrix::pack(w.data(), t, kNOut, n_in, nullptr, k);
      ASSERT_TRUE(simd);
      const auto got = run(*simd, x.data(), n_tok, 2);
      ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float)))
          << dtype_name(t) << " (" << k->tile_tokens << " tokens a call)";
    }
  }
}

// Q, K and V (gate and up) in one call: each result the bits of its matrix alone, whatever the
// tokens and threads; the padding between rows untouched.
TEST(Packed, SharedInputGivesEachMatrixItsOwnResult) {
  const int64_t n_in = 512, stride = kNOut + kYPad;
  const int64_t rows[] = {kNOut, 40, 16};  // three matrices over the same input
  for (DType t : kPackedTypes) {
    const PackedKernels* k = packed_kernels(t);
    if (!k || k->only_sliced) k = packed_reference_kernels(t);  // 512 wide: no slices
    for (int64_t n_tok : {1, 9, 70}) {
      const Problem p = make_problem(t, n_in, n_tok);
      const size_t row = dtype_row_size(t, n_in);
      std::unique_ptr<PackedMatrix> m[3];
      for (int i = 0; i < 3; ++i) {
        m[i] = PackedMatrix::pack(p.w.data() + size_t(i) * 5 * row, t, rows[i], n_in, nullptr, k);
        ASSERT_TRUE(m[i]);
        ASSERT_TRUE(shares_activations(*m[0], *m[i]));
      }
      for (int threads : {1, 2, 3}) {
        std::vector<float> ys[3];
        PackedProduct prods[3];
        for (int i = 0; i < 3; ++i) {
          ys[i].assign(stride * n_tok, kPadValue);
          prods[i] = {m[i].get(), ys[i].data(), stride};
        }
        MatmulScratch scratch;
        matmul_packed_shared(prods, 3, p.x.data(), n_tok, pool_of(threads), scratch);
        for (int i = 0; i < 3; ++i) {
          std::vector<float> alone(stride * n_tok, kPadValue);
          matmul_packed(*m[i], p.x.data(), n_tok, alone.data(), stride, pool_of(threads), scratch);
          ASSERT_EQ(0, std::memcmp(alone.data(), ys[i].data(), alone.size() * sizeof(float)))
              << dtype_name(t) << " matrix " << i << " n_tok " << n_tok << " threads " << threads;
          for (int64_t r = 0; r < n_tok; ++r)
            for (int64_t o = rows[i]; o < stride; ++o)
              ASSERT_EQ(ys[i][r * stride + o], kPadValue) << dtype_name(t) << " matrix " << i;
        }
      }
    }
  }
  // Different activations (Q4_K reads prepared q8_K rows, Q6_K the plain ones) do not share.
  const Problem pk = make_problem(DType::kQ4_K, 256, 1), p6 = make_problem(DType::kQ6_K, 256, 1);
  auto a = PackedMatrix::pack(pk.w.data(), DType::kQ4_K, kNOut, 256, nullptr,
                              packed_reference_kernels(DType::kQ4_K));
  auto b = PackedMatrix::pack(p6.w.data(), DType::kQ6_K, kNOut, 256, nullptr,
                              packed_reference_kernels(DType::kQ6_K));
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(shares_activations(*a, *b));
  auto c = PackedMatrix::pack(pk.w.data(), DType::kQ4_K, kNOut / 2, 512, nullptr,
                              packed_reference_kernels(DType::kQ4_K));
  ASSERT_TRUE(c);
  EXPECT_FALSE(shares_activations(*a, *c));  // other n_in
}

// A prologue (RMSNorm, SwiGLU) made inside the dispatch gives the bits of making the rows first
// with the same op: one token (every thread makes the row for itself) and batches, any threads.
TEST(Packed, ARowPrologueEqualsMakingTheRowsFirst) {
  const int64_t n_in = 512, stride = kNOut + kYPad;
  const auto norm_w = test::random_floats(n_in, 77);
  for (DType t : {DType::kQ4_0, DType::kQ4_K, DType::kF16}) {
    for (int64_t n_tok : {1, 5}) {
      const Problem p = make_problem(t, n_in, n_tok);
      const auto up = test::random_floats(n_in * n_tok, 78);
      const PackedKernels* k = packed_kernels(t);
      if (!k || k->only_sliced) k = packed_reference_kernels(t);  // 512 wide: no slices
      auto m = PackedMatrix::pack(p.w.data(), t, kNOut, n_in, nullptr, k);
      ASSERT_TRUE(m) << dtype_name(t);
      const RowPrologue pros[] = {RowPrologue::rms_norm(norm_w.data(), 1e-5f),
                                  RowPrologue::swiglu(up.data())};
      for (const RowPrologue& pro : pros) {
        std::vector<float> made(p.x.size());
        for (int64_t r = 0; r < n_tok; ++r)
          make_row(pro, p.x.data(), r, n_in, made.data() + r * n_in);
        ASSERT_NE(0, std::memcmp(made.data(), p.x.data(), made.size() * sizeof(float)));
        for (int threads : {1, 2, 3}) {
          const std::vector<float> want = run(*m, made.data(), n_tok, threads);
          std::vector<float> got(stride * n_tok, kPadValue);
          MatmulScratch scratch;
          const PackedProduct prod{m.get(), got.data(), stride};
          matmul_packed_shared(&prod, 1, p.x.data(), n_tok, pool_of(threads), scratch, pro);
          ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float)))
              << dtype_name(t) << " prologue " << int(pro.kind) << " n_tok " << n_tok << " threads "
              << threads;
        }
      }
    }
  }
}

}  // namespace
}  // namespace silica

// The narrow interface of the CPU kernels: per-type row conversion and dot products, chosen at
// run time from the CPU's features, and the multi-threaded matrix products built on them.
// A GPU backend would sit beside this interface, not inside it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/thread_pool.h"
#include "tensor/dtype.h"

namespace silica {

enum class Isa { kScalar = 0, kAvx2 = 1, kAvx512 = 2, kNeon = 3 };
const char* isa_name(Isa isa);

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false, bmi2 = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512vnni = false, avx512bf16 = false;
  bool amx_int8 = false;  // AMX tiles with int8 dot products, and the OS saves their state
  // AVX-512 whose 512-bit operations run as two 256-bit halves (AMD Zen 4): some kernels choose
  // differently there (F16 stays unpacked: kernels/packed.cc; attention: kernels/ops.cc).
  bool avx512_split = false;
  bool neon = false, dotprod = false;
};
const CpuFeatures& cpu_features();

// Every ISA built into this binary and usable on this CPU (always includes kScalar).
std::vector<Isa> available_isas();
// The best available ISA; SILICA_ISA=scalar|avx2|avx512|neon in the environment caps it.
Isa best_isa();

// y = dot(row a of type t, row b of vec_dot_type(t)), n elements.
using VecDotFn = float (*)(const void* a, const void* b, int64_t n);
// Convert n floats into a row of some type.
using FromFloatFn = void (*)(const float* x, void* y, int64_t n);
// Convert a row of some type into n floats.
using ToFloatFn = void (*)(const void* x, float* y, int64_t n);

// A block of dots: y[t * y_stride + r] = vec_dot(w row r, a row t, n) for r < n_rows,
// t < n_tok, bit-identical to vec_dot on every pair whatever n_rows and n_tok (see matmul).
//   w: [n_rows] rows of w_stride bytes, a: [n_tok] rows of a_stride bytes (vec_dot_type)
using DotTileFn = void (*)(const void* w, size_t w_stride, int64_t n_rows, const void* a,
                           size_t a_stride, int64_t n_tok, int64_t n, float* y, int64_t y_stride);

// Converts n elements of a vec_dot_type row (n a multiple of kActPrepUnit, or the whole row)
// into the dot tile's own activation layout.
using ActPrepFn = void (*)(const void* a, void* out, int64_t n);
// Bytes that n elements take in that layout (a multiple of kActPrepAlign for whole rows).
using ActPrepSizeFn = size_t (*)(int64_t n);
constexpr int64_t kActPrepUnit = 256;
constexpr size_t kActPrepAlign = 64;
// p rounded up to the next kActPrepAlign boundary (a buffer for prepared rows keeps
// kActPrepAlign spare bytes for it).
inline uint8_t* align_act_prep(uint8_t* p) {
  const uintptr_t u = reinterpret_cast<uintptr_t>(p);
  return p + (kActPrepAlign - u % kActPrepAlign) % kActPrepAlign;
}

struct TypeKernels {
  VecDotFn vec_dot = nullptr;  // null if t cannot be the left side of a dot
  FromFloatFn from_float = nullptr;
  ToFloatFn to_float = nullptr;
  DotTileFn dot_tile = nullptr;  // null: matmul calls vec_dot per element
  // Optional: when set, dot_tile's a rows are act_prep's output (kActPrepAlign-aligned), not
  // vec_dot_type rows, so that work shared by all weight rows is done once per token.
  ActPrepFn act_prep = nullptr;
  ActPrepSizeFn act_prep_size = nullptr;
};

// Kernels for type t on the given ISA (falls back to the scalar twin where the ISA has none).
const TypeKernels& type_kernels(DType t, Isa isa);
inline const TypeKernels& type_kernels(DType t) {
  return type_kernels(t, best_isa());
}

// One thread's run of a matmul's tiles, [front, back) in one word (front in the low half):
// its owner takes tiles from the front, the other threads from the back, and as both are
// read-modify-writes of the one word, no tile is ever handed out twice.
struct alignas(64) TileRun {
  std::atomic<uint64_t> front_back{0};
};

// Scratch memory for matmul: activations converted to the weight's vec_dot_type (and to the
// tile's layout). Reused across calls so that no allocation happens per token.
struct MatmulScratch {
  std::vector<uint8_t> bytes;       // [n_tok] vec_dot_type rows
  std::vector<uint8_t> prep;        // [n_tok] act_prep rows, from a kActPrepAlign boundary on
  std::unique_ptr<TileRun[]> runs;  // one a thread, allocated on first use
  int n_runs = 0;
  // A slot a thread (a prologue's made row; a decode's own converted row), grown by the caller
  // before a dispatch: a thread that joins only a later step still finds its slot allocated.
  std::vector<uint8_t> per_thread;
};

// y[t, o] = sum_i w[o, i] * x[t, i]  for t < n_tok, o < n_out.
//   w: [n_out, n_in] rows of type wt (row stride dtype_row_size(wt, n_in))
//   x: [n_tok, n_in] float, y: [n_tok, n_out] float (row stride y_stride, >= n_out)
// Activations are converted once to vec_dot_type(wt); work is split over the pool's threads.
void matmul(const void* w, DType wt, int64_t n_out, int64_t n_in, const float* x, int64_t n_tok,
            float* y, int64_t y_stride, ThreadPool& pool, MatmulScratch& scratch,
            Isa isa = best_isa());

}  // namespace silica

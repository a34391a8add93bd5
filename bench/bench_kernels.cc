// Kernel micro-benchmarks: matvec (decode) in GB/s of weight bytes read, matmul (prompt) in
// GFLOP/s, per weight type at 2048x2048 and 8192x2048, on the best ISA (SILICA_ISA caps it)
// with SILICA_THREADS threads (default: all hardware threads). Wall time: the work runs on the
// pool's threads, so the calling thread's CPU time would say nothing; the CPU column is the whole
// process's CPU time, steadier than wall time on a shared machine (A/B compare that one).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

#include "base/half.h"
#include "base/large_alloc.h"
#include "cli/bench_machine.h"
#include "kernels/attention.h"
#include "kernels/kernels.h"
#include "kernels/packed.h"

namespace silica {
namespace {

constexpr DType kTypes[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ8_0, DType::kQ4_0,
                            DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ2_K, DType::kQ3_K,
                            DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};
constexpr int64_t kPromptTokens = 64;

ThreadPool& bench_pool() {
  static ThreadPool pool([] {
    const char* env = std::getenv("SILICA_THREADS");
    return env ? std::atoi(env) : ThreadPool::default_threads();
  }());
  return pool;
}

std::vector<float> random_floats(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = normal(rng);
  return v;
}

// Weights are converted with the kernels' own from_float where a type has one, else left as
// random bytes: speed does not depend on the values, and k-quant scales stay finite either way.
std::vector<uint8_t> make_weights(DType t, int64_t n_out, int64_t n_in) {
  std::vector<uint8_t> w(dtype_row_size(t, n_in) * n_out);
  const FromFloatFn from = type_kernels(t).from_float;
  const size_t row_bytes = dtype_row_size(t, n_in);
  if (from) {
    // Every row is the same row quantized once (the K-quant searches took minutes per process).
    const auto row = random_floats(n_in, 1);
    from(row.data(), w.data(), n_in);
    for (int64_t o = 1; o < n_out; ++o)
      std::copy_n(w.data(), row_bytes, w.data() + size_t(o) * row_bytes);
  } else {
    std::mt19937 rng(2);
    for (auto& byte : w) byte = uint8_t(rng());
  }
  return w;
}

void run(benchmark::State& state, DType t, int64_t n_out, int64_t n_in, int64_t n_tok) {
  const auto w = make_weights(t, n_out, n_in);
  const auto x = random_floats(n_in * n_tok, 3);
  std::vector<float> y(n_out * n_tok);
  MatmulScratch scratch;
  for (auto _ : state) {
    matmul(w.data(), t, n_out, n_in, x.data(), n_tok, y.data(), n_out, bench_pool(), scratch);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(w.size()));
  state.counters["FLOP/s"] = benchmark::Counter(double(2 * n_out * n_in * n_tok),
                                                benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(isa_name(best_isa())) +
                 " threads=" + std::to_string(bench_pool().size()));
}

// Decode as a model sees it: each matvec reads a matrix that is not in any cache. Copies of one
// 8192x2048 matrix, kStreamBytes in all (far beyond L3), are used in turn; bytes/s is then the
// weight read rate a token gets, prefetching and all.
constexpr size_t kStreamBytes = size_t(256) << 20;

void run_stream(benchmark::State& state, DType t) {
  const int64_t n_out = 8192, n_in = 2048;
  const auto one = make_weights(t, n_out, n_in);
  const size_t n_mats = std::max<size_t>(2, kStreamBytes / one.size());
  std::vector<uint8_t> w(one.size() * n_mats);
  for (size_t m = 0; m < n_mats; ++m) std::copy(one.begin(), one.end(), w.begin() + m * one.size());
  const auto x = random_floats(n_in, 3);
  std::vector<float> y(n_out);
  MatmulScratch scratch;
  size_t m = 0;
  for (auto _ : state) {
    matmul(w.data() + m * one.size(), t, n_out, n_in, x.data(), 1, y.data(), n_out, bench_pool(),
           scratch);
    benchmark::DoNotOptimize(y.data());
    m = (m + 1) % n_mats;
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(one.size()));
  state.SetLabel(std::string(isa_name(best_isa())) +
                 " threads=" + std::to_string(bench_pool().size()));
}

// The same products over the matrix repacked as the model loader does (types with a packed
// layout on this ISA only).
void run_packed(benchmark::State& state, DType t, int64_t n_out, int64_t n_in, int64_t n_tok) {
  const auto w = make_weights(t, n_out, n_in);
  auto packed = PackedMatrix::pack(w.data(), t, n_out, n_in, &bench_pool(), packed_kernels(t));
  if (!packed) {
    state.SkipWithError("not packed at this width (kept in the file's rows)");
    return;
  }
  const auto x = random_floats(n_in * n_tok, 3);
  std::vector<float> y(n_out * n_tok);
  MatmulScratch scratch;
  for (auto _ : state) {
    matmul_packed(*packed, x.data(), n_tok, y.data(), n_out, bench_pool(), scratch);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(packed->bytes()));
  state.counters["FLOP/s"] = benchmark::Counter(double(2 * n_out * n_in * n_tok),
                                                benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(isa_name(best_isa())) +
                 " threads=" + std::to_string(bench_pool().size()));
}

// Decode over packed matrices as the loader holds them (huge pages): kStreamBytes of packed
// copies of one n_out x n_in matrix used in turn, one token each (8192x2048 is Llama 3.2 1B's
// gate / up, 2048x8192 its down, whose activation row is four times longer); bytes/s is the weight
// read rate a decode step gets from DRAM (compare with `silica bench`'s read bandwidth probe).
void run_packed_stream(benchmark::State& state, DType t, int64_t n_out, int64_t n_in) {
  const auto w = make_weights(t, n_out, n_in);
  std::vector<std::unique_ptr<PackedMatrix>> mats;
  size_t total = 0;
  while (total < kStreamBytes || mats.size() < 2) {
    mats.push_back(PackedMatrix::pack(w.data(), t, n_out, n_in, &bench_pool(), packed_kernels(t)));
    if (!mats.back()) {
      state.SkipWithError("not packed at this width (kept in the file's rows)");
      return;
    }
    total += mats.back()->bytes();
  }
  const auto x = random_floats(n_in, 3);
  std::vector<float> y(n_out);
  MatmulScratch scratch;
  size_t m = 0;
  for (auto _ : state) {
    matmul_packed(*mats[m], x.data(), 1, y.data(), n_out, bench_pool(), scratch);
    benchmark::DoNotOptimize(y.data());
    m = (m + 1) % mats.size();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(mats[0]->bytes()));
  state.SetLabel(std::string(isa_name(best_isa())) +
                 " threads=" + std::to_string(bench_pool().size()));
}

// The bound packed_stream is measured against: `silica bench`'s read probe (plain loads, the
// faster of a read with a software prefetch and one without) over kStreamBytes of huge-page
// memory. packed_stream / read_stream in one run is the fraction of the bound a decode tile
// reaches.
void run_read_stream(benchmark::State& state) {
  auto* p = static_cast<uint8_t*>(alloc_large(kStreamBytes));
  if (!p) {
    state.SkipWithError("out of memory");
    return;
  }
  for (size_t i = 0; i < kStreamBytes; i += 4096) p[i] = uint8_t(i >> 12);
  for (auto _ : state) {
    const double gbps = measure_span_read_gbps(bench_pool(), {MemorySpan{p, kStreamBytes}});
    state.SetIterationTime(double(kStreamBytes) / (gbps * 1e9));
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(kStreamBytes));
  state.SetLabel("threads=" + std::to_string(bench_pool().size()));
  free_large(p);
}

// One KV head's attention for a decode step at depth n_kv, single-threaded: Llama 3.2 1B's shape
// (4 query heads a KV head, head size 64), so the grouped scores and values kernels alone.
void run_attention(benchmark::State& state, int64_t n_kv, int64_t hd, int n_q) {
  const auto q = random_floats(n_q * hd, 4);
  const auto kf = random_floats(n_kv * hd, 5), vf = random_floats(n_kv * hd, 6);
  std::vector<uint16_t> k(kf.size()), v(vf.size());
  for (size_t i = 0; i < kf.size(); ++i) k[i] = f32_to_fp16(kf[i]), v[i] = f32_to_fp16(vf[i]);
  std::vector<float> scores(size_t(n_q * n_kv)), out(size_t(n_q * hd));
  std::vector<uint16_t> probs(scores.size()), q16(size_t(n_q * hd));
  const AttentionScratch scratch{scores.data(), probs.data(), q16.data()};
  for (auto _ : state) {
    attend_group_f16(q.data(), hd, n_q, k.data(), v.data(), n_kv, hd, 0.125f, out.data(), hd,
                     scratch);
    benchmark::DoNotOptimize(out.data());
  }
  // K and V bytes read per call.
  state.SetBytesProcessed(int64_t(state.iterations()) * 2 * n_kv * hd * 2);
  state.SetLabel(isa_name(best_isa()));
}

// A decode's activation row converted for a packed type's tiles, on the calling thread: the
// vec_dot type's from_float, then act_prep into the tile's layout (kernels/matmul.cc; every
// thread of a decode does this once per matmul). 8192 is Llama 3.2 1B's ffn_down input.
void run_act_convert(benchmark::State& state, DType t, int64_t n) {
  const PackedKernels* k = packed_kernels(t);
  const FromFloatFn from = type_kernels(k->act_type).from_float;
  const auto x = random_floats(n, 7);
  std::vector<uint8_t> q(dtype_row_size(k->act_type, n));
  std::vector<uint8_t> p(k->act_prep ? k->act_prep_size(n) + kActPrepAlign : 0);
  uint8_t* pa = align_act_prep(p.data());
  for (auto _ : state) {
    from(x.data(), q.data(), n);
    if (k->act_prep) k->act_prep(q.data(), pa, n);
    benchmark::DoNotOptimize(pa);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * n * int64_t(sizeof(float)));
  state.SetLabel(std::string(dtype_name(k->act_type)) + (k->act_prep ? " + prep" : ""));
}

void register_all() {
  for (DType t : kTypes)
    if (packed_kernels(t))
      benchmark::RegisterBenchmark(("act_convert/" + std::string(dtype_name(t)) + "/8192").c_str(),
                                   [=](benchmark::State& s) { run_act_convert(s, t, 8192); })
          ->Unit(benchmark::kMicrosecond);
  for (int64_t n_kv : {int64_t(512), int64_t(4096)})
    benchmark::RegisterBenchmark(("attention/hd64x4/kv" + std::to_string(n_kv)).c_str(),
                                 [=](benchmark::State& s) { run_attention(s, n_kv, 64, 4); })
        ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("read_stream", run_read_stream)
      ->Unit(benchmark::kMicrosecond)
      ->UseManualTime();
  for (DType t : kTypes) {
    if (!packed_kernels(t)) continue;
    // Llama 3.2 1B's ffn_gate / ffn_down, and Llama 2 7B's ffn_down (11008 = 43 Q4_K blocks).
    for (auto [n_out, n_in] :
         {std::pair<int64_t, int64_t>{8192, 2048}, {2048, 8192}, {4096, 11008}}) {
      const std::string name = "packed_stream/" + std::string(dtype_name(t)) + "/" +
                               std::to_string(n_out) + "x" + std::to_string(n_in);
      benchmark::RegisterBenchmark(
          name.c_str(), [=](benchmark::State& s) { run_packed_stream(s, t, n_out, n_in); })
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime()
          ->MeasureProcessCPUTime();
    }
  }
  for (DType t : kTypes) {
    if (!packed_kernels(t)) continue;
    for (int64_t n_tok : {int64_t(1), int64_t(2), int64_t(8), kPromptTokens}) {
      const std::string name =
          "packed_matmul" + std::to_string(n_tok) + "/" + dtype_name(t) + "/8192x2048";
      benchmark::RegisterBenchmark(
          name.c_str(), [=](benchmark::State& s) { run_packed(s, t, 8192, 2048, n_tok); })
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime()
          ->MeasureProcessCPUTime();
    }
    // One token over a matrix that stays in L2 (under 300 KB): the kernel's compute rate alone,
    // the ceiling a decode's DRAM stream (packed_stream) can reach at best.
    benchmark::RegisterBenchmark(
        ("packed_matmul1/" + std::string(dtype_name(t)) + "/256x1024").c_str(),
        [=](benchmark::State& s) { run_packed(s, t, 256, 1024, 1); })
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime()
        ->MeasureProcessCPUTime();
  }
  for (DType t : kTypes)
    benchmark::RegisterBenchmark(("matvec_stream/" + std::string(dtype_name(t))).c_str(),
                                 [=](benchmark::State& s) { run_stream(s, t); })
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime()
        ->MeasureProcessCPUTime();
  for (DType t : kTypes) {
    for (int64_t n_out : {int64_t(2048), int64_t(8192)}) {
      const std::string shape = std::to_string(n_out) + "x2048";
      benchmark::RegisterBenchmark(("matvec/" + std::string(dtype_name(t)) + "/" + shape).c_str(),
                                   [=](benchmark::State& s) { run(s, t, n_out, 2048, 1); })
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime()
          ->MeasureProcessCPUTime();
      benchmark::RegisterBenchmark(
          ("matmul" + std::to_string(kPromptTokens) + "/" + dtype_name(t) + "/" + shape).c_str(),
          [=](benchmark::State& s) { run(s, t, n_out, 2048, kPromptTokens); })
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime()
          ->MeasureProcessCPUTime();
    }
  }
}

}  // namespace
}  // namespace silica

int main(int argc, char** argv) {
  silica::register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

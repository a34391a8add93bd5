// Sampler cost per token over a Llama 3 sized vocabulary (128256 logits): greedy, Ollama's
// default chain (top_k 40 through the top-k pass), and the same chain with top_k off (a
// candidate for every token, then penalties, top-p and min-p over all of them).
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "sample/sampler.h"

namespace silica {
namespace {

constexpr int32_t kVocab = 128256;

std::vector<float> random_logits() {
  std::vector<float> v(kVocab);
  std::mt19937 rng(1);
  std::normal_distribution<float> d(0.0f, 3.0f);
  for (float& x : v) x = d(rng);
  return v;
}

void run(benchmark::State& state, float temperature, int top_k) {
  const std::vector<float> logits = random_logits();
  SamplerParams p;  // Ollama's defaults otherwise
  p.temperature = temperature;
  p.top_k = top_k;
  p.top_p = 0.9f;
  p.min_p = 0.0f;
  p.repeat_penalty = 1.1f;
  p.repeat_last_n = 64;
  p.seed = 1;
  Sampler s(p, kVocab);
  for (auto _ : state) {
    const int32_t id = s.sample(logits.data());
    s.accept(id);
    benchmark::DoNotOptimize(id);
  }
  state.SetItemsProcessed(state.iterations());
}

void sample_greedy(benchmark::State& state) { run(state, 0.0f, 40); }
void sample_top_k_40(benchmark::State& state) { run(state, 0.8f, 40); }
void sample_top_k_off(benchmark::State& state) { run(state, 0.8f, 0); }
BENCHMARK(sample_greedy)->Unit(benchmark::kMicrosecond);
BENCHMARK(sample_top_k_40)->Unit(benchmark::kMicrosecond);
BENCHMARK(sample_top_k_off)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace silica

BENCHMARK_MAIN();

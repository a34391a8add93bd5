// `silica bench` results: one row per engine, model, thread count and test, and their output as
// a markdown table (like llama-bench), a JSON array and an SVG bar chart.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace silica {

inline constexpr double kNotMeasured = NAN;

struct BenchRow {
  std::string engine;      // "silica" or "llama.cpp"
  std::string model;       // path as given
  std::string type;        // dominant weight type, upper case ("Q4_0", "Q4_K", "F16")
  int64_t size_bytes = 0;  // all tensors in the file
  int threads = 0;
  std::string test;  // "pp512", "tg128": named from -p / -n ("tg128 @ d4096" with a depth)
  int64_t n_tokens = 0;
  int64_t depth = 0;                   // tokens in the context before the test
  std::vector<double> tokens_per_s;    // [reps], the warm-up round not included
  double ttft_ms = kNotMeasured;       // pp rows: prompt eval + first greedy token, mean of reps
  double load_ms = kNotMeasured;       // warm: the file in the page cache (median of reps)
  double load_cold_ms = kNotMeasured;  // the file read from the disk (dropped from the cache)
  std::vector<double> load_samples_ms, load_cold_samples_ms;  // each rep's, in order
  int64_t peak_rss_bytes = 0;                                 // 0: not measured
  int64_t runtime_rss_bytes = 0;               // llama.cpp: node's own resident size before loading
  double bandwidth_gbps = kNotMeasured;        // tg rows: mean of both engines' probes
  std::vector<double> bandwidth_samples_gbps;  // tg rows: this engine's probe of each counted rep
  double bytes_per_token = kNotMeasured;       // tg rows: weight and K/V bytes read per token

  double mean() const;
  double stddev() const;  // sample standard deviation (n - 1); 0 for one rep
  // Generation speed if every weight byte came at the measured bandwidth; NaN where it does
  // not apply.
  double bound_tokens_per_s() const;
  // The fraction of the bound reached: the median over reps of each rep's speed over the bound
  // its own probes give (the host's bandwidth moves within a run, so the pairing is steadier
  // than the mean speed over the mean bound); the latter where no per-rep probes were kept.
  double reached() const;
};

// The median of v; kNotMeasured when v is empty.
double median_of(std::vector<double> v);

// Markdown: the speed table, silica and llama.cpp side by side with the ratio when both ran,
// then one line per model and thread count with load time, TTFT, peak RSS and bandwidth bound.
std::string bench_markdown(const std::vector<BenchRow>& rows);

// One object per row; figures that were not measured are left out.
nlohmann::json bench_json(const std::vector<BenchRow>& rows);

// A self-contained SVG: one panel per test, bars grouped by model and thread count, one bar
// (class "bar") per row with its value and a ±sd whisker; then a load panel, one bar (class
// "load-bar") per engine, model and kind of load (warm, and cold where measured), in seconds.
std::string bench_svg(const std::vector<BenchRow>& rows);

}  // namespace silica

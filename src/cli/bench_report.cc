// Table, JSON and SVG output of `silica bench` (hand-written SVG: no plotting library needed).
#include "cli/bench_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <utility>

namespace silica {
namespace {

constexpr const char* kEngineSilica = "silica";
constexpr const char* kEngineLlama = "llama.cpp";

std::string human_size(double bytes) {
  if (bytes >= double(1 << 30)) return fmt::format("{:.2f} GiB", bytes / double(1 << 30));
  if (bytes >= double(1 << 20)) return fmt::format("{:.1f} MiB", bytes / double(1 << 20));
  return fmt::format("{:.1f} KiB", bytes / 1024.0);
}

std::string base_name(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

// The llama.cpp row measured beside `r` (same model, threads and test), or null.
const BenchRow* peer_of(const std::vector<BenchRow>& rows, const BenchRow& r) {
  for (const auto& o : rows)
    if (o.engine == kEngineLlama && o.model == r.model && o.threads == r.threads &&
        o.test == r.test)
      return &o;
  return nullptr;
}

bool has_llama(const std::vector<BenchRow>& rows) {
  return std::any_of(rows.begin(), rows.end(),
                     [](const auto& r) { return r.engine == kEngineLlama; });
}

std::string speed(const BenchRow& r) {
  return fmt::format("{:.2f} ± {:.2f}", r.mean(), r.stddev());
}

std::string ms_pair(double silica, const BenchRow* llama, double BenchRow::*field) {
  std::string s = fmt::format("{:.0f} ms", silica);
  if (llama && std::isfinite(llama->*field))
    s += fmt::format(" (llama.cpp {:.0f} ms)", llama->*field);
  return s;
}

// "load 120 ms, cold 900 ms (llama.cpp 340 ms, cold 1100 ms)": cold where it was measured.
std::string load_text(const BenchRow& r, const BenchRow* llama) {
  auto one = [](const BenchRow& x) {
    std::string s = fmt::format("{:.0f} ms", x.load_ms);
    if (std::isfinite(x.load_cold_ms)) s += fmt::format(", cold {:.0f} ms", x.load_cold_ms);
    return s;
  };
  std::string s = "load " + one(r);
  if (llama && std::isfinite(llama->load_ms)) s += " (llama.cpp " + one(*llama) + ")";
  return s;
}

// "load ... (see load_text); TTFT pp512 ...; peak RSS ...; bandwidth ..." for one
// (model, threads), from its silica rows.
std::string figures_line(const std::vector<BenchRow>& rows, const BenchRow& first) {
  std::vector<std::string> parts;
  for (const auto& r : rows) {
    if (r.engine != kEngineSilica || r.model != first.model || r.threads != first.threads) continue;
    const BenchRow* l = peer_of(rows, r);
    if (parts.empty()) {
      parts.push_back(load_text(r, l));
      std::string rss = "peak RSS " + human_size(double(r.peak_rss_bytes));
      if (l && l->peak_rss_bytes > 0)
        rss += fmt::format(" (llama.cpp {}, of which node before loading {})",
                           human_size(double(l->peak_rss_bytes)),
                           human_size(double(l->runtime_rss_bytes)));
      parts.push_back(rss);
    }
    if (std::isfinite(r.ttft_ms))
      parts.push_back("TTFT " + r.test + " " + ms_pair(r.ttft_ms, l, &BenchRow::ttft_ms));
    const double bound = r.bound_tokens_per_s();
    if (std::isfinite(bound)) {
      std::string b = fmt::format(
          "read bandwidth {:.1f} GB/s, {} read per token (weights, K/V): {} bound {:.1f} t/s, "
          "reached "
          "{:.2f}",
          r.bandwidth_gbps, human_size(r.bytes_per_token), r.test, bound, r.reached());
      if (l) b += fmt::format(" (llama.cpp {:.2f})", l->reached());
      parts.push_back(b);
    }
  }
  std::string line = fmt::format("- {}, {} thread{}: ", base_name(first.model), first.threads,
                                 first.threads == 1 ? "" : "s");
  for (size_t i = 0; i < parts.size(); ++i) line += (i ? "; " : "") + parts[i];
  return line + "\n";
}

}  // namespace

double BenchRow::mean() const {
  if (tokens_per_s.empty()) return kNotMeasured;
  double s = 0;
  for (double v : tokens_per_s) s += v;
  return s / double(tokens_per_s.size());
}

double median_of(std::vector<double> v) {
  if (v.empty()) return kNotMeasured;
  std::sort(v.begin(), v.end());
  const size_t h = v.size() / 2;
  return v.size() % 2 ? v[h] : (v[h - 1] + v[h]) / 2;
}

double BenchRow::reached() const {
  const size_t n = tokens_per_s.size();
  if (n == 0 || bandwidth_samples_gbps.size() != n || !(bytes_per_token > 0))
    return mean() / bound_tokens_per_s();
  std::vector<double> f(n);
  for (size_t i = 0; i < n; ++i)
    f[i] = tokens_per_s[i] * bytes_per_token / (bandwidth_samples_gbps[i] * 1e9);
  return median_of(std::move(f));
}

double BenchRow::stddev() const {
  const size_t n = tokens_per_s.size();
  if (n < 2) return 0.0;
  const double m = mean();
  double ss = 0;
  for (double v : tokens_per_s) ss += (v - m) * (v - m);
  return std::sqrt(ss / double(n - 1));
}

double BenchRow::bound_tokens_per_s() const {
  if (!(bandwidth_gbps > 0) || !(bytes_per_token > 0)) return kNotMeasured;
  return bandwidth_gbps * 1e9 / bytes_per_token;
}

std::string bench_markdown(const std::vector<BenchRow>& rows) {
  const bool vs = has_llama(rows);
  std::string out =
      vs ? "| model | type | size | threads | test | silica t/s | llama.cpp t/s | ratio |\n"
           "|---|---|---:|---:|---|---:|---:|---:|\n"
         : "| model | type | size | threads | test | t/s |\n|---|---|---:|---:|---|---:|\n";
  for (const auto& r : rows) {
    if (r.engine != kEngineSilica) continue;
    out += fmt::format("| {} | {} | {} | {} | {} | {} |", base_name(r.model), r.type,
                       human_size(double(r.size_bytes)), r.threads, r.test, speed(r));
    if (vs) {
      const BenchRow* l = peer_of(rows, r);
      out += l ? fmt::format(" {} | {:.2f} |", speed(*l), r.mean() / l->mean()) : " - | - |";
    }
    out += "\n";
  }
  out += "\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    if (r.engine != kEngineSilica) continue;
    bool seen = false;  // one line per (model, threads): at its first silica row
    for (size_t j = 0; j < i && !seen; ++j)
      seen = rows[j].engine == kEngineSilica && rows[j].model == r.model &&
             rows[j].threads == r.threads;
    if (!seen) out += figures_line(rows, r);
  }
  return out;
}

nlohmann::json bench_json(const std::vector<BenchRow>& rows) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& r : rows) {
    nlohmann::json j{
        {"engine", r.engine},         {"model", r.model},         {"type", r.type},
        {"size_bytes", r.size_bytes}, {"threads", r.threads},     {"test", r.test},
        {"n_tokens", r.n_tokens},     {"depth", r.depth},         {"tokens_per_s", r.mean()},
        {"stddev", r.stddev()},       {"samples", r.tokens_per_s}};
    auto put = [&](const char* key, double v) {
      if (std::isfinite(v)) j[key] = v;
    };
    put("ttft_ms", r.ttft_ms);
    put("load_ms", r.load_ms);
    put("load_cold_ms", r.load_cold_ms);
    if (!r.load_samples_ms.empty()) j["load_samples_ms"] = r.load_samples_ms;
    if (!r.load_cold_samples_ms.empty()) j["load_cold_samples_ms"] = r.load_cold_samples_ms;
    if (r.peak_rss_bytes > 0) j["peak_rss_bytes"] = r.peak_rss_bytes;
    if (r.runtime_rss_bytes > 0) j["runtime_rss_bytes"] = r.runtime_rss_bytes;
    put("bandwidth_gbps", r.bandwidth_gbps);
    put("bytes_per_token", r.bytes_per_token);
    put("bound_tokens_per_s", r.bound_tokens_per_s());
    put("bound_fraction", r.reached());
    if (!r.bandwidth_samples_gbps.empty()) j["bandwidth_samples_gbps"] = r.bandwidth_samples_gbps;
    if (r.engine == kEngineSilica)
      if (const BenchRow* l = peer_of(rows, r)) put("ratio_vs_llamacpp", r.mean() / l->mean());
    arr.push_back(std::move(j));
  }
  return arr;
}

}  // namespace silica

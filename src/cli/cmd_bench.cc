// `silica bench MODEL`: prompt-processing and generation speed, as llama-bench measures them
// (pp: one prompt of N tokens in batches; tg: N tokens one at a time on an empty context).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <memory>

#include "base/timer.h"
#include "cli/commands.h"
#include "engine/session.h"

namespace silica {
namespace {

struct BenchOptions {
  std::string model;
  int64_t n_prompt = 512;
  int64_t n_gen = 128;
  int threads = 0;
  int reps = 3;
  int64_t batch = 512;
  bool json = false;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0.0 : (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]));
}

void bench(const BenchOptions& o) {
  auto lm = load_model_with_tokenizer(o.model);
  if (!lm) fail(lm.message());
  const ModelHParams& hp = lm->model->hparams();
  ForwardOptions fo;
  fo.n_ctx = std::max<int64_t>(o.n_prompt, o.n_gen) + 1;
  fo.n_batch = std::max<int64_t>(1, std::min(o.batch, o.n_prompt));
  fo.n_threads = o.threads;
  auto s = Session::create(*lm, fo);
  if (!s) fail(s.message());
  Session& session = **s;
  // Deterministic token ids spread over the vocabulary (the content does not change the cost).
  std::vector<int32_t> prompt(size_t(o.n_prompt));
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (auto& t : prompt) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    t = int32_t(x % uint64_t(hp.n_vocab));
  }
  std::vector<double> pp, tg;
  for (int r = 0; r < o.reps + 1; ++r) {  // round 0 warms caches and is not counted
    if (o.n_prompt > 0) {
      session.reset();
      const int64_t t0 = now_ns();
      if (auto st = session.eval(prompt); !st.ok()) fail(st.message());
      if (r > 0) pp.push_back(double(o.n_prompt) * 1e9 / double(now_ns() - t0));
    }
    if (o.n_gen > 0) {
      session.reset();
      const int64_t t0 = now_ns();
      for (int64_t i = 0; i < o.n_gen; ++i)
        if (auto st = session.eval({prompt.empty() ? 1 : prompt[size_t(i) % prompt.size()]});
            !st.ok())
          fail(st.message());
      if (r > 0) tg.push_back(double(o.n_gen) * 1e9 / double(now_ns() - t0));
    }
  }
  const int threads = session.state().pool().size();
  if (o.json) {
    nlohmann::json j{{"model", o.model},
                     {"type", lm->model->dominant_type()},
                     {"threads", threads},
                     {"n_prompt", o.n_prompt},
                     {"n_gen", o.n_gen},
                     {"pp_tokens_per_s", median(pp)},
                     {"tg_tokens_per_s", median(tg)},
                     {"pp_runs", pp},
                     {"tg_runs", tg},
                     {"load_ms", double(lm->load_ns) / 1e6},
                     {"weight_bytes", lm->model->weight_bytes()}};
    fmt::print("{}\n", j.dump());
    return;
  }
  fmt::print("| model | type | threads | test | tokens/s (median of {}) |\n|---|---|---|---|---|\n",
             o.reps);
  if (o.n_prompt > 0)
    fmt::print("| {} | {} | {} | pp{} | {:.2f} |\n", o.model, lm->model->dominant_type(), threads,
               o.n_prompt, median(pp));
  if (o.n_gen > 0)
    fmt::print("| {} | {} | {} | tg{} | {:.2f} |\n", o.model, lm->model->dominant_type(), threads,
               o.n_gen, median(tg));
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure prompt processing and generation speed");
  cmd->add_option("model", o->model, "Path to a GGUF model file")->required();
  cmd->add_option("-p,--n-prompt", o->n_prompt, "Prompt tokens (pp test; 0: skip)")
      ->capture_default_str();
  cmd->add_option("-n,--n-gen", o->n_gen, "Generated tokens (tg test; 0: skip)")
      ->capture_default_str();
  cmd->add_option("-t,--threads", o->threads, "CPU threads (default: all cores)");
  cmd->add_option("-r,--reps", o->reps, "Repetitions; the median is reported")
      ->capture_default_str();
  cmd->add_option("-b,--batch", o->batch, "Prompt tokens per forward step")->capture_default_str();
  cmd->add_flag("--json", o->json, "Print one JSON object instead of a table");
  cmd->callback([o] { bench(*o); });
}

}  // namespace silica

// `silica run MODEL -p PROMPT`: stream the continuation of a prompt.
#include <cstdio>
#include <memory>

#include "base/thread_pool.h"
#include "cli/commands.h"
#include "store/store.h"
#include "engine/session.h"

namespace silica {
namespace {

struct RunOptions {
  std::string model;
  std::string prompt;
  int64_t n_predict = 128;
  SamplerParams sampling;
  int threads = 0;
  int64_t ctx = 4096;
  int64_t batch = 512;
  bool special = false;
  bool no_bos = false;
};

void run(const RunOptions& o) {
  auto model_path = resolve_model_path(o.model);  // a file path, or a name in the store
  if (!model_path) fail(model_path.message());
  auto lm = load_model_with_tokenizer(*model_path);
  if (!lm) fail(lm.message());
  ForwardOptions fo;
  fo.n_ctx = o.ctx;
  fo.n_batch = o.batch;
  fo.n_threads = o.threads;
  auto session = Session::create(*lm, fo);
  if (!session) fail(session.message());
  std::vector<int32_t> tokens = lm->tokenizer->encode(o.prompt, !o.no_bos, o.special);
  if (tokens.empty()) fail("the prompt is empty: pass some text with -p");
  GenerateParams gp;
  gp.n_predict = o.n_predict;
  gp.sampling = o.sampling;
  auto stats = (*session)->generate(tokens, gp, [](std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return true;
  });
  if (!stats) fail(stats.message());
  std::fflush(stdout);
  auto tps = [](int64_t n, int64_t ns) { return ns > 0 ? double(n) * 1e9 / double(ns) : 0.0; };
  std::fprintf(stderr,
               "\n\nprompt: %lld tokens, %.2f tokens/s | generated: %lld tokens, %.2f tokens/s | "
               "load: %.0f ms | threads: %d | stop: %s\n",
               (long long)stats->n_prompt, tps(stats->n_prompt, stats->prompt_ns),
               (long long)stats->n_generated, tps(stats->n_generated, stats->generate_ns),
               double(lm->load_ns) / 1e6, (*session)->state().pool().size(),
               stats->done_reason.c_str());
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand(
      "run", "Generate a continuation of a prompt and stream it to stdout (statistics on stderr)");
  cmd->add_option("model", o->model, "A GGUF model file or a model name from the store")->required();
  cmd->add_option("-p,--prompt", o->prompt, "The prompt text (not echoed)")->required();
  cmd->add_option("-n,--n-predict", o->n_predict, "Tokens to generate (-1: until end of text)")
      ->capture_default_str();
  cmd->add_option("--temp", o->sampling.temperature, "Temperature; 0 means greedy")
      ->capture_default_str();
  cmd->add_option("--top-k", o->sampling.top_k, "Keep the K most likely tokens (0: off)")
      ->capture_default_str();
  cmd->add_option("--top-p", o->sampling.top_p, "Nucleus sampling threshold (1: off)")
      ->capture_default_str();
  cmd->add_option("--min-p", o->sampling.min_p, "Drop tokens below min-p x the top probability")
      ->capture_default_str();
  cmd->add_option("--repeat-penalty", o->sampling.repeat_penalty,
                  "Penalty for repeated tokens (1: off)")
      ->capture_default_str();
  cmd->add_option("--repeat-last-n", o->sampling.repeat_last_n,
                  "Window of the repeat penalties (-1: all)")
      ->capture_default_str();
  cmd->add_option("--presence-penalty", o->sampling.presence_penalty,
                  "Subtracted once per present token")
      ->capture_default_str();
  cmd->add_option("--frequency-penalty", o->sampling.frequency_penalty, "Subtracted per occurrence")
      ->capture_default_str();
  cmd->add_option("--seed", o->sampling.seed, "Random seed (same seed, same text)");
  cmd->add_option("-t,--threads", o->threads, "CPU threads (default: all cores)");
  cmd->add_option("-c,--ctx", o->ctx, "Context size in tokens")->capture_default_str();
  cmd->add_option("-b,--batch", o->batch, "Prompt tokens per forward step")->capture_default_str();
  cmd->add_flag("--special", o->special, "Parse special tokens such as <|eot_id|> in the prompt");
  cmd->add_flag("--no-bos", o->no_bos, "Do not add the beginning-of-sequence token");
  cmd->callback([o] { run(*o); });
}

}  // namespace silica

// `silica run MODEL [PROMPT...]`: as `ollama run`: no prompt starts the chat, words (or piped
// stdin) get one answer; `-p PROMPT` streams a raw continuation (no chat template).
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>

#include "cli/chat_command.h"
#include "cli/commands.h"
#include "store/model_layers.h"

namespace silica {
namespace {

struct RunOptions {
  ChatOptions chat;
  std::vector<std::string> words;  // the prompt after the model name
  std::string raw_prompt;          // -p
  int64_t batch = 512;
  bool special = false;
  bool no_bos = false;
};

void print_stats(const GenerateStats& st, const LoadedModel& lm, int threads) {
  auto tps = [](int64_t n, int64_t ns) { return ns > 0 ? double(n) * 1e9 / double(ns) : 0.0; };
  std::fprintf(stderr,
               "\n\nprompt: %lld tokens, %.2f tokens/s | generated: %lld tokens, %.2f tokens/s | "
               "load: %.0f ms | threads: %d | stop: %s\n",
               (long long)st.n_prompt, tps(st.n_prompt, st.prompt_ns), (long long)st.n_generated,
               tps(st.n_generated, st.generate_ns), double(lm.load_ns) / 1e6, threads,
               st.done_reason.c_str());
}

// -p: the prompt goes to the model as it is; a store model's PARAMETER values are defaults.
void run_raw(RunOptions o, const CLI::App& cmd) {
  ChatOptions& c = o.chat;
  auto layers = resolve_model_layers(c.model);  // a file path, or a name in the store
  if (!layers) fail(layers.message());
  if (cmd.count("--n-predict") == 0) c.gen.n_predict = 128;  // a continuation needs a bound
  apply_param_defaults(layers->params, cmd, c.gen, c.ctx, c.threads);
  auto lm = load_model_with_tokenizer(layers->model_path);
  if (!lm) fail(lm.message());
  ForwardOptions fo;
  fo.n_ctx = c.ctx;
  fo.n_batch = o.batch;
  fo.n_threads = c.threads;
  auto session = Session::create(*lm, fo);
  if (!session) fail(session.message());
  std::vector<int32_t> tokens = lm->tokenizer->encode(o.raw_prompt, !o.no_bos, o.special);
  if (tokens.empty()) fail("the prompt is empty: pass some text with -p");
  auto stats = (*session)->generate(tokens, c.gen, [](std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return true;
  });
  if (!stats) fail(stats.message());
  std::fflush(stdout);
  print_stats(*stats, *lm, (*session)->state().pool().size());
}

void run(RunOptions o, const CLI::App& cmd) {
  if (cmd.count("--prompt") > 0) return run_raw(std::move(o), cmd);
  // As ollama run: piped stdin comes first, then the words, joined by spaces.
  std::vector<std::string> parts;
  if (!isatty(STDIN_FILENO)) {
    std::string in((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    if (!in.empty()) parts.push_back(std::move(in));
  }
  for (const std::string& w : o.words) parts.push_back(w);
  if (!parts.empty()) {
    std::string prompt;
    for (const std::string& p : parts) prompt += (prompt.empty() ? "" : " ") + p;
    o.chat.once = std::move(prompt);
  } else if (!isatty(STDIN_FILENO)) {
    fail("nothing to answer: stdin was empty and no prompt was given");
  }
  run_chat(std::move(o.chat), cmd);
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  o->chat.gen.n_predict = -1;
  CLI::App* cmd = app.add_subcommand(
      "run",
      "Chat with a model (no prompt), answer a prompt once (words or piped stdin), or stream a "
      "raw continuation of -p PROMPT (statistics on stderr)");
  cmd->add_option("model", o->chat.model, "A GGUF model file or a model name from the store")
      ->required();
  cmd->add_option("text", o->words, "Prompt words: one answer through the chat template");
  cmd->add_option("-p,--prompt", o->raw_prompt, "Raw prompt text, no template (not echoed)");
  cmd->add_option("--system", o->chat.system, "System prompt (default: a store model's SYSTEM)");
  add_sampling_flags(*cmd, o->chat);
  cmd->add_option("-b,--batch", o->batch, "Prompt tokens per forward step")->capture_default_str();
  cmd->add_flag("--special", o->special, "Parse special tokens such as <|eot_id|> in the prompt");
  cmd->add_flag("--no-bos", o->no_bos, "Do not add the beginning-of-sequence token");
  cmd->add_flag("-v,--verbose", o->chat.verbose, "Print token statistics after each answer");
  cmd->callback([o, cmd] { run(*o, *cmd); });
}

}  // namespace silica

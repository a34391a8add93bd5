// `silica eval MODEL --tokens "..."`: developer command for comparisons with other runtimes:
// next-token logits after exactly the given tokens, and an optional greedy continuation, as JSON.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "engine/session.h"
#include "sample/stages.h"

namespace silica {
namespace {

struct EvalOptions {
  std::string model;
  std::string tokens;
  int64_t greedy = 0;
  int threads = 0;
  int64_t ctx = 512;
  int64_t batch = 512;
};

void eval(const EvalOptions& o) {
  std::vector<int32_t> tokens;
  std::istringstream in(o.tokens);
  for (long long t; in >> t;) tokens.push_back(int32_t(t));
  if (tokens.empty()) fail("--tokens needs at least one token id");
  auto lm = load_model_with_tokenizer(o.model);
  if (!lm) fail(lm.message());
  ForwardOptions fo;
  fo.n_ctx = o.ctx;
  fo.n_batch = o.batch;
  fo.n_threads = o.threads;
  auto s = Session::create(*lm, fo);
  if (!s) fail(s.message());
  Session& session = **s;
  if (auto st = session.eval(tokens); !st.ok()) fail(st.message());
  nlohmann::json out;
  out["n_vocab"] = lm->model->hparams().n_vocab;
  out["logits"] = session.last_logits();
  std::vector<int32_t> greedy;
  for (int64_t i = 0; i < o.greedy; ++i) {
    const int32_t id = argmax_logits(session.last_logits());
    greedy.push_back(id);
    if (i + 1 < o.greedy) {
      if (auto st = session.eval({id}); !st.ok()) fail(st.message());
    }
  }
  out["greedy"] = greedy;
  const std::string text = out.dump();
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* cmd = app.add_subcommand(
      "eval", "Developer: JSON next-token logits after given token ids (no BOS added)");
  cmd->group("Developer");
  cmd->add_option("model", o->model, "Path to a GGUF model file")->required();
  cmd->add_option("--tokens", o->tokens, "Space-separated token ids")->required();
  cmd->add_option("--greedy", o->greedy, "Also generate this many tokens greedily")
      ->capture_default_str();
  cmd->add_option("-t,--threads", o->threads, "CPU threads (default: one per physical core)");
  cmd->add_option("-c,--ctx", o->ctx, "Context size")->capture_default_str();
  cmd->add_option("-b,--batch", o->batch, "Tokens per forward step")->capture_default_str();
  cmd->callback([o] { eval(*o); });
}

}  // namespace silica

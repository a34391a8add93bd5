// The generate loop of one sequence.
#include "engine/session.h"

#include <algorithm>
#include <optional>

#include "base/timer.h"
#include "engine/text_streamer.h"
#include "model/vocab_loader.h"

namespace silica {

std::shared_ptr<const TokenTrie> LoadedModel::token_trie() const {
  std::lock_guard<std::mutex> lock(trie_cache_->mutex);
  if (!trie_cache_->trie) {
    std::vector<std::string> pieces(size_t(tokenizer->n_vocab()));
    for (int32_t i = 0; i < tokenizer->n_vocab(); ++i)
      pieces[size_t(i)] = tokenizer->token_to_piece(i);
    trie_cache_->trie = std::make_shared<TokenTrie>(pieces, tokenizer->vocab().eog_ids);
  }
  return trie_cache_->trie;
}

TokenPicker::TokenPicker(const LoadedModel& lm, const GenerateParams& params)
    : sampler_(params.sampling, int32_t(lm.model->hparams().n_vocab)) {
  if (params.grammar)
    grammar_ = std::make_unique<GrammarConstraint>(params.grammar, lm.token_trie());
}

int32_t TokenPicker::pick(const float* logits, int64_t budget) {
  if (!grammar_) {
    const int32_t id = sampler_.sample(logits);
    sampler_.accept(id);
    return id;
  }
  const int32_t id = sample_constrained(sampler_, *grammar_, logits, scratch_, budget);
  grammar_->accept(id);
  sampler_.accept(id);
  return id;
}

Expected<LoadedModel> load_model_with_tokenizer(const std::string& path) {
  const int64_t t0 = now_ns();
  // The tokenizer (a third of a warm load for a 128k vocabulary) needs only the file's
  // metadata: it is built on its own thread while the weights are repacked.
  std::optional<Expected<Tokenizer>> tok;
  LoadOptions opts;
  opts.alongside_repack = [&](const Model& m) {
    auto build = [&]() -> Expected<Tokenizer> {
      SILICA_ASSIGN_OR_RETURN(Vocab vocab, load_vocab(m));
      if (int64_t(vocab.tokens.size()) != m.hparams().n_vocab)
        return make_error("{}: the tokenizer has {} tokens but the embedding has {} rows", path,
                          vocab.tokens.size(), m.hparams().n_vocab);
      return Tokenizer::create(std::move(vocab));
    };
    try {  // an exception must not end the thread (and the program) uncaught
      tok = build();
    } catch (const std::exception& e) {
      tok = make_error("{}: building the tokenizer failed: {}", path, e.what());
    }
  };
  LoadedModel lm;
  SILICA_ASSIGN_OR_RETURN(lm.model, load_model(path, opts));
  if (!tok->ok()) return tok->error();
  lm.tokenizer = std::make_unique<Tokenizer>(std::move(**tok));
  lm.load_ns = now_ns() - t0;
  return lm;
}

Expected<std::unique_ptr<Session>> Session::create(const LoadedModel& lm, const ForwardOptions& o) {
  SILICA_ASSIGN_OR_RETURN(auto st, ForwardState::create(lm.model->hparams(), o));
  auto s = std::make_unique<Session>(lm, std::move(st));
  s->logits_.resize(size_t(lm.model->hparams().n_vocab));
  return s;
}

Status Session::eval(const std::vector<int32_t>& tokens) {
  const int64_t n_batch = st_->options().n_batch;
  const int64_t n_ctx = st_->options().n_ctx;
  if (n_past() + int64_t(tokens.size()) > n_ctx)
    return make_error("{} tokens do not fit in the context ({} used of {}): raise --ctx",
                      tokens.size(), n_past(), n_ctx);
  for (size_t i = 0; i < tokens.size(); i += size_t(n_batch)) {
    const size_t end = std::min(tokens.size(), i + size_t(n_batch));
    batch_.clear();
    const int64_t p0 = n_past();
    for (size_t j = i; j < end; ++j)
      batch_.add(tokens[j], int32_t(p0 + int64_t(j - i)), 0, j + 1 == tokens.size());
    SILICA_RETURN_IF_ERROR(lm_.model->forward(batch_, *st_, logits_.data()));
    history_.insert(history_.end(), tokens.begin() + int64_t(i), tokens.begin() + int64_t(end));
  }
  return {};
}

Expected<GenerateStats> Session::generate(const std::vector<int32_t>& prompt,
                                          const GenerateParams& params,
                                          const TextCallback& on_text) {
  GenerateStats stats;
  if (prompt.empty()) return make_error("the prompt is empty: give at least one token");
  const Tokenizer& tok = *lm_.tokenizer;
  TokenPicker picker(lm_, params);
  for (int32_t t : prompt) picker.accept_prompt(t);

  // Reuse the common prefix; the last prompt token is always evaluated for its logits.
  size_t common = 0;
  while (common < history_.size() && common < prompt.size() && history_[common] == prompt[common])
    ++common;
  common = std::min(common, prompt.size() - 1);
  st_->kv().truncate(0, int64_t(common));
  history_.resize(common);
  int64_t t0 = now_ns();
  SILICA_RETURN_IF_ERROR(
      eval(std::vector<int32_t>(prompt.begin() + int64_t(common), prompt.end())));
  stats.n_prompt = int64_t(prompt.size() - common);
  stats.n_cached = int64_t(common);
  stats.prompt_ns = now_ns() - t0;

  TextStreamer streamer(tok, params.stop);
  t0 = now_ns();
  const int64_t n_ctx = st_->options().n_ctx;
  stats.done_reason = "length";
  std::vector<int32_t> one(1);
  for (;;) {
    if (params.n_predict >= 0 && stats.n_generated >= params.n_predict) break;
    int64_t budget = n_ctx - n_past();
    if (params.n_predict >= 0) budget = std::min(budget, params.n_predict - stats.n_generated);
    const int32_t id = picker.pick(logits_.data(), budget);
    if (tok.is_eog(id)) {
      stats.done_reason = "stop";
      break;
    }
    stats.tokens.push_back(id);
    ++stats.n_generated;
    const std::string text = streamer.push(id);
    const bool go_on = text.empty() || on_text(text);
    if (streamer.stopped() || !go_on || picker.grammar_finished()) {
      stats.done_reason = "stop";
      break;
    }
    if (n_past() >= n_ctx) break;  // context full
    if (params.n_predict >= 0 && stats.n_generated >= params.n_predict) break;
    one[0] = id;
    SILICA_RETURN_IF_ERROR(eval(one));
  }
  if (const std::string rest = streamer.flush(); !rest.empty()) on_text(rest);
  stats.generate_ns = now_ns() - t0;
  return stats;
}

}  // namespace silica

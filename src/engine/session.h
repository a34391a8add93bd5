// A loaded model with its tokenizer, and the generate loop: prompt in batches, sample, stream
// text that never splits a UTF-8 character, stop at end-of-generation or a stop string.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/model.h"
#include "sample/grammar.h"
#include "sample/grammar_constraint.h"
#include "sample/sampler.h"
#include "tokenizer/tokenizer.h"

namespace silica {

struct LoadedModel {
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
  int64_t load_ns = 0;

  // The vocabulary as a byte trie for grammar-constrained sampling, built on first use
  // (thread-safe) and shared by every request.
  std::shared_ptr<const TokenTrie> token_trie() const;

 private:
  struct TrieCache {
    std::mutex mutex;
    std::shared_ptr<const TokenTrie> trie;
  };
  std::shared_ptr<TrieCache> trie_cache_ = std::make_shared<TrieCache>();
};

Expected<LoadedModel> load_model_with_tokenizer(const std::string& path);

struct GenerateParams {
  int64_t n_predict = -1;  // -1: until end of generation or a full context
  SamplerParams sampling;
  std::vector<std::string> stop;           // stop strings (not included in the output)
  std::shared_ptr<const Grammar> grammar;  // output must match it (JSON mode, schemas), or null
};

// Sampling of one sequence: the sampler chain plus an optional grammar constraint.
class TokenPicker {
 public:
  TokenPicker(const LoadedModel& lm, const GenerateParams& params);
  // logits: [n_vocab]; records the token for penalties and grammar. budget: the tokens that may
  // still be drawn, this one included (< 0: no limit), so a grammar's text ends in time.
  int32_t pick(const float* logits, int64_t budget = -1);
  void accept_prompt(int32_t token) { sampler_.accept(token); }
  // The grammar's text is complete and nothing may extend it: generation is over.
  bool grammar_finished() const { return grammar_ && grammar_->is_finished(); }

 private:
  Sampler sampler_;
  std::unique_ptr<GrammarConstraint> grammar_;
  std::vector<float> scratch_;  // [n_vocab] for the constraint
};

struct GenerateStats {
  int64_t n_prompt = 0;  // prompt tokens evaluated (after prefix reuse)
  int64_t n_cached = 0;  // prompt tokens reused from the cache
  int64_t n_generated = 0;
  int64_t prompt_ns = 0;
  int64_t generate_ns = 0;
  std::string done_reason;      // "stop" (end of generation or stop string) or "length"
  std::vector<int32_t> tokens;  // generated token ids
};

// Receives text as it is generated; return false to stop early.
using TextCallback = std::function<bool(std::string_view)>;

class Session {
 public:
  Session(const LoadedModel& lm, std::unique_ptr<ForwardState> st) : lm_(lm), st_(std::move(st)) {}
  static Expected<std::unique_ptr<Session>> create(const LoadedModel& lm, const ForwardOptions& o);

  // Evaluates tokens after what the session already holds; logits of the last token go to
  // last_logits() (prompt processing in batches of the context's n_batch).
  Status eval(const std::vector<int32_t>& tokens);
  const std::vector<float>& last_logits() const { return logits_; }  // [n_vocab]

  // Generates after `prompt_tokens`, the whole context: the part that starts like what the
  // session already holds is reused from the cache, the rest is evaluated.
  Expected<GenerateStats> generate(const std::vector<int32_t>& prompt_tokens,
                                   const GenerateParams& params, const TextCallback& on_text);

  int64_t n_past() const { return st_->kv().n_pos(0); }
  // Forgets every token from position n on: the next eval continues after the first n.
  void truncate(int64_t n) {
    st_->kv().truncate(0, n);
    history_.resize(std::min(history_.size(), size_t(std::max<int64_t>(n, 0))));
  }
  void reset() { truncate(0); }
  ForwardState& state() { return *st_; }
  const LoadedModel& model() const { return lm_; }

 private:
  const LoadedModel& lm_;
  std::unique_ptr<ForwardState> st_;
  Batch batch_;
  std::vector<float> logits_;     // [n_vocab]
  std::vector<int32_t> history_;  // tokens whose K/V the cache holds
};

}  // namespace silica

// The grammar sampler stage: masks every token whose text cannot continue a grammar match.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sample/grammar.h"
#include "sample/grammar_matcher.h"
#include "sample/sampler.h"
#include "sample/stages.h"

namespace silica {

// A byte trie of token texts, built once per vocabulary and shared by every constraint over it,
// so tokens with a common prefix share the matching work.
class TokenTrie {
 public:
  // pieces: [n_vocab] decoded token bytes (may be partial UTF-8). eog_ids are kept out of the
  // trie; empty pieces (control tokens) can never be allowed and are left out too.
  TokenTrie(std::span<const std::string> pieces, std::span<const int32_t> eog_ids);
  TokenTrie(const TokenTrie&) = delete;
  TokenTrie& operator=(const TokenTrie&) = delete;

  struct Node {
    uint32_t child_begin, child_end;  // children are nodes [child_begin, child_end)
    uint32_t tok_begin, tok_end;      // ids of tokens whose text ends here: [begin, end) in tokens
    uint8_t byte;                     // the byte leading into this node
  };
  int32_t n_vocab() const { return n_vocab_; }
  const std::vector<Node>& nodes() const { return nodes_; }  // node 0 is the root
  const std::vector<int32_t>& tokens() const { return tokens_; }
  const std::vector<int32_t>& eog_ids() const { return eog_; }
  bool is_eog(int32_t id) const { return eog_flag_[size_t(id)] != 0; }
  const std::string& piece(int32_t id) const { return pieces_[size_t(id)]; }

 private:
  void build(std::vector<int32_t>& ids, uint32_t node, size_t lo, size_t hi, size_t depth);

  int32_t n_vocab_;
  std::vector<std::string> pieces_;  // [n_vocab]
  std::vector<Node> nodes_;
  std::vector<int32_t> tokens_;
  std::vector<int32_t> eog_;
  std::vector<uint8_t> eog_flag_;  // [n_vocab]
};

// Partial UTF-8 between tokens: a byte-level token may end in the middle of a character.
struct Utf8Partial {
  uint32_t cp = 0;   // bits gathered so far
  uint8_t need = 0;  // continuation bytes still expected (0: at a character boundary)
  uint8_t len = 0;   // total length of the character being read
};

class GrammarConstraint {
 public:
  GrammarConstraint(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const TokenTrie> trie);
  // Convenience: builds the trie (about 100 ms for a 128k vocabulary; share one where possible).
  GrammarConstraint(std::shared_ptr<const Grammar> grammar, std::span<const std::string> pieces,
                    std::span<const int32_t> eog_ids);
  GrammarConstraint(const GrammarConstraint&) = delete;
  GrammarConstraint& operator=(const GrammarConstraint&) = delete;
  GrammarConstraint(GrammarConstraint&&) = default;
  GrammarConstraint& operator=(GrammarConstraint&&) = default;

  // Sets the logit of every candidate that cannot continue the text to -inf. EOG tokens survive
  // only when the text so far is a complete match.  (cands: [n])
  void apply(TokenCandidate* cands, size_t n);
  void apply_to_logits(float* logits);  // [n_vocab]
  // Whether one token may come next: a cheap check without masking the whole vocabulary.
  bool allows(int32_t token);
  // Advances over the token's text; false (state unchanged) if the grammar rejects it.
  bool accept(int32_t token);
  bool is_complete() const;  // a full match, not inside a UTF-8 character
  // A full match that no longer text can extend: nothing but the end may follow.
  bool is_finished() const { return is_complete() && !matcher_.can_continue(); }
  // Whether the text can still be completed if `token` comes next and at most `picks_after`
  // more tokens may be drawn after it (the end-of-generation token counts as one). It assumes
  // every byte has a token of its own, as byte-level BPE and byte-fallback SentencePiece have.
  bool fits(int32_t token, int64_t picks_after);
  int32_t n_vocab() const { return trie_->n_vocab(); }
  const GrammarMatcher& matcher() const { return matcher_; }
  void reset();
  // The allowed set for the current state: bit id set = allowed. Cached per state.
  const std::vector<uint64_t>& allowed_mask();  // [(n_vocab + 63) / 64]

  // Work done since construction, counted so tests can bound it without timing anything.
  struct Work {
    uint64_t masks_computed = 0;  // allowed_mask() calls the cache did not answer
    uint64_t trie_nodes = 0;      // trie nodes visited by mask walks
    uint64_t stack_steps = 0;     // grammar stacks advanced by one character (walks and checks)
  };
  const Work& work() const { return work_; }

 private:
  struct CacheEntry {
    std::vector<GrammarMatcher::StackId> key;  // sorted stacks, then the partial UTF-8 state
    std::vector<uint64_t> mask;
    uint64_t last_use = 0;
  };
  void compute_mask(std::vector<uint64_t>& mask);
  void walk(uint32_t node, size_t depth, Utf8Partial u, std::span<const uint32_t> set);
  bool advance(const std::string& piece, std::vector<uint32_t>& stacks, Utf8Partial& u);

  std::shared_ptr<const Grammar> grammar_;
  std::shared_ptr<const TokenTrie> trie_;
  GrammarMatcher matcher_;
  Utf8Partial partial_;
  std::vector<CacheEntry> cache_;
  uint64_t clock_ = 0;
  std::vector<std::vector<uint32_t>> depth_sets_;  // [max depth] scratch of the trie walk
  std::vector<uint64_t>* out_mask_ = nullptr;
  std::vector<uint32_t> tmp_a_, tmp_b_;
  Work work_;
};

// Draws a token the constraint allows. The unconstrained draw is kept when the constraint
// allows it (for plain temperature sampling this is exactly the masked distribution: a token
// is kept with p(t) or re-drawn with (1 - Z) p(t) / Z); otherwise the logits are masked and the
// sampler draws again. The caller still calls constraint.accept() on the result.
// With a budget (the tokens that may still be drawn, this one included; < 0: no limit), a token
// after which the text could not be completed in time is refused and another is drawn, so a
// model that knows nothing still closes its JSON before num_predict.
// scratch: [n_vocab] after the call.
int32_t sample_constrained(Sampler& sampler, GrammarConstraint& constraint, const float* logits,
                           std::vector<float>& scratch, int64_t budget = -1);

}  // namespace silica

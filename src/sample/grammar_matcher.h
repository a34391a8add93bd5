// Incremental grammar matching over Unicode code points: the set of live parse stacks.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sample/grammar.h"

namespace silica {

// A parse stack is a chain of frames (element positions to continue at), interned so that equal
// stacks have equal ids: the live set is a small set of ids, duplicates vanish, and the stacks
// that follow a leaf once it has matched a character are computed once and cached per leaf.
// Right recursion does not grow stacks (a reference in tail position pushes no return frame), so
// repetition inside a JSON string keeps the same stack ids character after character.
class GrammarMatcher {
 public:
  using StackId = uint32_t;
  static constexpr StackId kDone = 0;  // the empty stack: the start rule is fully matched

  explicit GrammarMatcher(std::shared_ptr<const Grammar> grammar);
  GrammarMatcher(const GrammarMatcher&) = delete;
  GrammarMatcher& operator=(const GrammarMatcher&) = delete;
  GrammarMatcher(GrammarMatcher&&) = default;
  GrammarMatcher& operator=(GrammarMatcher&&) = default;

  // Advances over one code point; false (state unchanged) if no live stack accepts it.
  bool accept_codepoint(uint32_t cp);
  // Advances over a whole UTF-8 string; false (state unchanged) if any code point is rejected
  // or the text is not valid UTF-8.
  bool accept_string(std::string_view utf8);
  bool is_complete() const;   // the text so far is a full match
  bool can_continue() const;  // some longer text may still match
  void reset();

  // The current set: leaf ids (top element is a character set) and possibly kDone. Unordered.
  std::span<const StackId> stacks() const { return stacks_; }
  void set_stacks(std::span<const StackId> s) { stacks_.assign(s.begin(), s.end()); }

  // Low level, for the token trie walk: `to` = the stacks after `cp` from `from` (kDone never
  // accepts anything). `to` must not alias `from`.
  void step(std::span<const StackId> from, uint32_t cp, std::vector<StackId>& to);
  // True if some stack in `from` may accept a code point in [lo, hi] (a partial UTF-8 prefix).
  bool may_accept_range(std::span<const StackId> from, uint32_t lo, uint32_t hi) const;
  const Grammar& grammar() const { return *g_; }
  size_t n_interned() const { return frames_.size(); }

  // The fewest bytes of text that complete a match from some stack in `set` (kUnreachable if
  // none can finish). Lets a sampler with a token budget keep the text completable in time.
  static constexpr uint32_t kUnreachable = 0x3FFFFFFFu;
  uint32_t min_completion_bytes(std::span<const StackId> set);

 private:
  struct Frame {
    StackId parent;
    uint32_t pos;  // element index to continue at
  };
  StackId intern(StackId parent, uint32_t pos);
  void expand(StackId s, std::vector<StackId>& out);
  void ensure_next(StackId leaf);
  bool fresh(StackId s);  // first visit in this stamp generation
  void compute_min_lengths();
  uint32_t stack_cost(StackId s);

  std::shared_ptr<const Grammar> g_;
  std::vector<Frame> frames_;  // [n_interned]
  std::unordered_map<uint64_t, StackId> index_;
  // Per interned leaf: the stacks after it matched one code point, as [begin, end) into pool_.
  std::vector<uint32_t> next_begin_, next_end_;  // [n_interned]
  std::vector<StackId> next_pool_;
  std::vector<uint32_t> stamp_;  // [n_interned] generation marks for de-duplication
  uint32_t generation_ = 0;
  std::vector<StackId> initial_, stacks_, scratch_;
  std::vector<uint32_t> rest_bytes_;  // [n_elems] fewest bytes from an element to its alt's end
  std::vector<uint32_t> cost_;        // [n_interned] memo of stack_cost, kNotComputed if unknown
};

}  // namespace silica

// Grammar matcher: interned parse stacks, expansion to leaves, cached per-leaf successors.
#include "sample/grammar_matcher.h"

#include <algorithm>

namespace silica {
namespace {

constexpr uint32_t kNotComputed = 0xFFFFFFFFu;

}  // namespace

GrammarMatcher::GrammarMatcher(std::shared_ptr<const Grammar> grammar) : g_(std::move(grammar)) {
  compute_min_lengths();
  cost_.push_back(0);
  frames_.push_back(Frame{kDone, kNotComputed});
  next_begin_.push_back(0);
  next_end_.push_back(0);
  stamp_.push_back(0);
  ++generation_;
  for (uint32_t alt : g_->rule_alts[g_->root]) {
    if (g_->elems[alt].op == GrammarOp::kEnd) {
      if (fresh(kDone)) initial_.push_back(kDone);
    } else {
      expand(intern(kDone, alt), initial_);
    }
  }
  stacks_ = initial_;
}

GrammarMatcher::StackId GrammarMatcher::intern(StackId parent, uint32_t pos) {
  const uint64_t key = (uint64_t(parent) << 32) | pos;
  auto [it, inserted] = index_.emplace(key, StackId(frames_.size()));
  if (inserted) {
    frames_.push_back(Frame{parent, pos});
    cost_.push_back(kNotComputed);
    next_begin_.push_back(kNotComputed);
    next_end_.push_back(kNotComputed);
    stamp_.push_back(0);
  }
  return it->second;
}

bool GrammarMatcher::fresh(StackId s) {
  if (stamp_[s] == generation_) return false;
  stamp_[s] = generation_;
  return true;
}

// Appends the leaves reachable from stack s without consuming input. Stacks already visited in
// this generation are skipped: their leaves are already in `out`.
void GrammarMatcher::expand(StackId s, std::vector<StackId>& out) {
  if (!fresh(s)) return;
  if (s == kDone) {
    out.push_back(kDone);
    return;
  }
  const Frame f = frames_[s];
  const GrammarElement& e = g_->elems[f.pos];
  if (e.op == GrammarOp::kChars) {
    out.push_back(s);
    return;
  }
  if (e.op == GrammarOp::kEnd) {
    expand(f.parent, out);
    return;
  }
  // A reference in tail position returns straight to the parent: no frame, no growth.
  const uint32_t ret = f.pos + 1;
  const StackId base = g_->elems[ret].op == GrammarOp::kEnd ? f.parent : intern(f.parent, ret);
  for (uint32_t alt : g_->rule_alts[e.ref]) {
    if (g_->elems[alt].op == GrammarOp::kEnd) {
      expand(base, out);
    } else {
      expand(intern(base, alt), out);
    }
  }
}

void GrammarMatcher::ensure_next(StackId leaf) {
  if (next_begin_[leaf] != kNotComputed) return;
  scratch_.clear();
  ++generation_;
  const Frame f = frames_[leaf];
  expand(intern(f.parent, f.pos + 1), scratch_);
  next_begin_[leaf] = uint32_t(next_pool_.size());
  next_pool_.insert(next_pool_.end(), scratch_.begin(), scratch_.end());
  next_end_[leaf] = uint32_t(next_pool_.size());
}

void GrammarMatcher::step(std::span<const StackId> from, uint32_t cp, std::vector<StackId>& to) {
  to.clear();
  for (StackId leaf : from) {
    if (leaf == kDone || !g_->matches(g_->elems[frames_[leaf].pos], cp)) continue;
    ensure_next(leaf);  // may grow the arrays: index them afresh below
  }
  ++generation_;
  for (StackId leaf : from) {
    if (leaf == kDone || !g_->matches(g_->elems[frames_[leaf].pos], cp)) continue;
    for (uint32_t i = next_begin_[leaf]; i < next_end_[leaf]; ++i) {
      const StackId s = next_pool_[i];
      if (fresh(s)) to.push_back(s);
    }
  }
}

bool GrammarMatcher::may_accept_range(std::span<const StackId> from, uint32_t lo,
                                      uint32_t hi) const {
  for (StackId leaf : from) {
    if (leaf != kDone && g_->may_match_range(g_->elems[frames_[leaf].pos], lo, hi)) return true;
  }
  return false;
}

bool GrammarMatcher::accept_codepoint(uint32_t cp) {
  std::vector<StackId> next;
  step(stacks_, cp, next);
  if (next.empty()) return false;
  stacks_ = std::move(next);
  return true;
}

bool GrammarMatcher::accept_string(std::string_view utf8) {
  std::vector<StackId> saved = stacks_;
  size_t i = 0;
  while (i < utf8.size()) {
    const auto b0 = uint8_t(utf8[i]);
    const int n = b0 < 0x80         ? 0
                  : (b0 >> 5) == 6  ? 1
                  : (b0 >> 4) == 14 ? 2
                  : (b0 >> 3) == 30 ? 3
                                    : -1;
    uint32_t cp = n == 0 ? b0 : n == 1 ? (b0 & 0x1F) : n == 2 ? (b0 & 0x0F) : (b0 & 0x07);
    bool ok = n >= 0 && i + size_t(n) < utf8.size();
    for (int k = 1; ok && k <= n; ++k) {
      const auto b = uint8_t(utf8[i + size_t(k)]);
      ok = (b >> 6) == 2;
      cp = (cp << 6) | (b & 0x3F);
    }
    if (!ok || !accept_codepoint(cp)) {
      stacks_ = std::move(saved);
      return false;
    }
    i += size_t(n) + 1;
  }
  return true;
}

bool GrammarMatcher::is_complete() const {
  for (StackId s : stacks_) {
    if (s == kDone) return true;
  }
  return false;
}

bool GrammarMatcher::can_continue() const {
  for (StackId s : stacks_) {
    if (s != kDone) return true;
  }
  return false;
}

void GrammarMatcher::reset() {
  stacks_ = initial_;
}

namespace {

uint32_t utf8_length(uint32_t cp) {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

// Bytes of the shortest code point a character element accepts (kUnreachable if none).
uint32_t min_char_bytes(const Grammar& g, const GrammarElement& e) {
  if (e.ascii[0] | e.ascii[1]) return 1;
  if (!e.negated) {
    uint32_t best = GrammarMatcher::kUnreachable;
    for (uint32_t i = e.range_begin; i < e.range_end; ++i)
      best = std::min(best, utf8_length(std::max<uint32_t>(g.ranges[i].lo, 0x80)));
    return best;
  }
  return 2;  // a negated set excluding all of ASCII: some two-byte character is left
}

uint32_t saturating_add(uint32_t a, uint32_t b) {
  return std::min(GrammarMatcher::kUnreachable, a + b);
}

}  // namespace

// Fewest bytes per rule by fixed-point iteration (rules may recurse), then per element the
// fewest bytes from it to the end of its alternative.
void GrammarMatcher::compute_min_lengths() {
  const Grammar& g = *g_;
  std::vector<uint32_t> rule_min(g.n_rules(), kUnreachable);
  auto elem_cost = [&](const GrammarElement& e) {
    return e.op == GrammarOp::kChars ? min_char_bytes(g, e) : rule_min[e.ref];
  };
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t r = 0; r < g.n_rules(); ++r) {
      for (uint32_t alt : g.rule_alts[r]) {
        uint32_t sum = 0;
        for (uint32_t i = alt; g.elems[i].op != GrammarOp::kEnd; ++i)
          sum = saturating_add(sum, elem_cost(g.elems[i]));
        if (sum < rule_min[r]) rule_min[r] = sum, changed = true;
      }
    }
  }
  rest_bytes_.assign(g.elems.size(), 0);
  for (size_t i = g.elems.size(); i-- > 0;) {
    const GrammarElement& e = g.elems[i];
    rest_bytes_[i] = e.op == GrammarOp::kEnd ? 0 : saturating_add(elem_cost(e), rest_bytes_[i + 1]);
  }
}

uint32_t GrammarMatcher::stack_cost(StackId s) {
  // Walk up to the first frame whose cost is known, then fill the memo on the way back down.
  std::vector<StackId> chain;
  while (cost_[s] == kNotComputed) {
    chain.push_back(s);
    s = frames_[s].parent;
  }
  uint32_t cost = cost_[s];
  for (size_t i = chain.size(); i-- > 0;) {
    cost = saturating_add(cost, rest_bytes_[frames_[chain[i]].pos]);
    cost_[chain[i]] = cost;
  }
  return cost;
}

uint32_t GrammarMatcher::min_completion_bytes(std::span<const StackId> set) {
  uint32_t best = kUnreachable;
  for (StackId s : set) best = std::min(best, stack_cost(s));
  return best;
}

}  // namespace silica

// Grammar matcher: interned parse stacks, expansion to leaves, cached per-leaf successors.
#include "sample/grammar_matcher.h"

namespace silica {
namespace {

constexpr uint32_t kNotComputed = 0xFFFFFFFFu;

}  // namespace

GrammarMatcher::GrammarMatcher(std::shared_ptr<const Grammar> grammar) : g_(std::move(grammar)) {
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

}  // namespace silica

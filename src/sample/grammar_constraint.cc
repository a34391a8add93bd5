// Grammar constraint: token trie, trie walk against the matcher, per-state mask cache.
#include "sample/grammar_constraint.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace silica {
namespace {

// Masks kept for recent states: inside a JSON string the state repeats token after token.
constexpr size_t kMaskCacheSize = 8;

enum class Utf8Step { kInvalid, kPartial, kComplete };

// Feeds one byte; on kComplete, cp is the finished code point and u is back at a boundary.
Utf8Step utf8_step(Utf8Partial& u, uint8_t b, uint32_t& cp) {
  if (u.need == 0) {
    if (b < 0x80) {
      cp = b;
      return Utf8Step::kComplete;
    }
    if (b >= 0xC2 && b <= 0xDF) {
      u = Utf8Partial{uint32_t(b & 0x1F), 1, 2};
    } else if (b >= 0xE0 && b <= 0xEF) {
      u = Utf8Partial{uint32_t(b & 0x0F), 2, 3};
    } else if (b >= 0xF0 && b <= 0xF4) {
      u = Utf8Partial{uint32_t(b & 0x07), 3, 4};
    } else {
      return Utf8Step::kInvalid;  // continuation byte without a lead, or C0/C1/F5+
    }
    return Utf8Step::kPartial;
  }
  if ((b >> 6) != 2) return Utf8Step::kInvalid;
  u.cp = (u.cp << 6) | (b & 0x3F);
  if (--u.need > 0) return Utf8Step::kPartial;
  cp = u.cp;
  const uint32_t min = u.len == 3 ? 0x800 : u.len == 4 ? 0x10000 : 0x80;
  u = Utf8Partial{};
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return Utf8Step::kInvalid;
  return Utf8Step::kComplete;
}

// Code points a partial sequence can still become: [lo, hi], without overlong forms (E0 80..
// and F0 80.. are not characters), values above U+10FFFF or surrogates. False if there are none.
bool partial_range(const Utf8Partial& u, uint32_t& lo, uint32_t& hi) {
  const uint32_t shift = 6u * u.need;
  lo = u.cp << shift;
  hi = lo | ((1u << shift) - 1);
  lo = std::max(lo, u.len == 3 ? 0x800u : u.len == 4 ? 0x10000u : 0x80u);
  hi = std::min(hi, 0x10FFFFu);
  return lo <= hi && !(lo >= 0xD800 && hi <= 0xDFFF);
}

bool has_live(std::span<const uint32_t> set) {
  for (uint32_t s : set) {
    if (s != GrammarMatcher::kDone) return true;
  }
  return false;
}

}  // namespace

TokenTrie::TokenTrie(std::span<const std::string> pieces, std::span<const int32_t> eog_ids)
    : n_vocab_(int32_t(pieces.size())),
      pieces_(pieces.begin(), pieces.end()),
      eog_flag_(pieces.size(), 0) {
  for (int32_t id : eog_ids) {
    if (id < 0 || id >= n_vocab_ || eog_flag_[size_t(id)]) continue;
    eog_flag_[size_t(id)] = 1;
    eog_.push_back(id);
  }
  std::vector<int32_t> ids;
  for (int32_t id = 0; id < n_vocab_; ++id) {
    if (!eog_flag_[size_t(id)] && !pieces_[size_t(id)].empty()) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end(),
            [&](int32_t a, int32_t b) { return pieces_[size_t(a)] < pieces_[size_t(b)]; });
  nodes_.push_back(Node{0, 0, 0, 0, 0});
  build(ids, 0, 0, ids.size(), 0);
}

// ids[lo, hi) share their first `depth` bytes; node is their common-prefix node.
void TokenTrie::build(std::vector<int32_t>& ids, uint32_t node, size_t lo, size_t hi,
                      size_t depth) {
  size_t i = lo;
  nodes_[node].tok_begin = uint32_t(tokens_.size());
  while (i < hi && pieces_[size_t(ids[i])].size() == depth) tokens_.push_back(ids[i++]);
  nodes_[node].tok_end = uint32_t(tokens_.size());
  std::vector<std::pair<size_t, size_t>> groups;  // [lo, hi) of ids per next byte
  while (i < hi) {
    const char b = pieces_[size_t(ids[i])][depth];
    size_t k = i;
    while (k < hi && pieces_[size_t(ids[k])][depth] == b) ++k;
    groups.emplace_back(i, k);
    i = k;
  }
  const auto first = uint32_t(nodes_.size());
  for (auto [glo, ghi] : groups) {
    nodes_.push_back(Node{0, 0, 0, 0, uint8_t(pieces_[size_t(ids[glo])][depth])});
  }
  nodes_[node].child_begin = first;
  nodes_[node].child_end = uint32_t(nodes_.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    build(ids, first + uint32_t(g), groups[g].first, groups[g].second, depth + 1);
  }
}

GrammarConstraint::GrammarConstraint(std::shared_ptr<const Grammar> grammar,
                                     std::shared_ptr<const TokenTrie> trie)
    : grammar_(grammar), trie_(std::move(trie)), matcher_(std::move(grammar)) {
  size_t max_len = 0;
  for (int32_t id = 0; id < trie_->n_vocab(); ++id) {
    max_len = std::max(max_len, trie_->piece(id).size());
  }
  depth_sets_.resize(max_len + 2);
}

GrammarConstraint::GrammarConstraint(std::shared_ptr<const Grammar> grammar,
                                     std::span<const std::string> pieces,
                                     std::span<const int32_t> eog_ids)
    : GrammarConstraint(std::move(grammar), std::make_shared<const TokenTrie>(pieces, eog_ids)) {}

void GrammarConstraint::walk(uint32_t node, size_t depth, Utf8Partial u,
                             std::span<const uint32_t> set) {
  const auto& nodes = trie_->nodes();
  const auto& tokens = trie_->tokens();
  std::vector<uint64_t>& mask = *out_mask_;
  for (uint32_t c = nodes[node].child_begin; c < nodes[node].child_end; ++c) {
    ++work_.trie_nodes;
    Utf8Partial u2 = u;
    uint32_t cp = 0;
    const Utf8Step r = utf8_step(u2, nodes[c].byte, cp);
    if (r == Utf8Step::kInvalid) continue;
    std::span<const uint32_t> next = set;
    if (r == Utf8Step::kComplete) {
      std::vector<uint32_t>& buf = depth_sets_[depth];
      work_.stack_steps += set.size();
      matcher_.step(set, cp, buf);
      if (buf.empty()) continue;
      next = buf;
    } else {
      uint32_t lo, hi;
      if (!partial_range(u2, lo, hi) || !matcher_.may_accept_range(set, lo, hi)) continue;
    }
    // Reaching this node means its text keeps a live parse (or completes the match at a
    // character boundary): every token ending here is allowed.
    for (uint32_t t = nodes[c].tok_begin; t < nodes[c].tok_end; ++t) {
      const auto id = uint32_t(tokens[t]);
      mask[id >> 6] |= uint64_t(1) << (id & 63);
    }
    if (nodes[c].child_begin < nodes[c].child_end && has_live(next)) {
      walk(c, depth + 1, u2, next);
    }
  }
}

void GrammarConstraint::compute_mask(std::vector<uint64_t>& mask) {
  ++work_.masks_computed;
  mask.assign((size_t(trie_->n_vocab()) + 63) / 64, 0);
  out_mask_ = &mask;
  tmp_a_.assign(matcher_.stacks().begin(), matcher_.stacks().end());
  if (has_live(tmp_a_)) walk(0, 0, partial_, tmp_a_);
  out_mask_ = nullptr;
  if (is_complete()) {
    for (int32_t id : trie_->eog_ids()) mask[size_t(id) >> 6] |= uint64_t(1) << (id & 63);
  }
}

const std::vector<uint64_t>& GrammarConstraint::allowed_mask() {
  std::vector<uint32_t> key(matcher_.stacks().begin(), matcher_.stacks().end());
  std::sort(key.begin(), key.end());
  key.push_back(partial_.cp);
  key.push_back(uint32_t(partial_.need) | (uint32_t(partial_.len) << 8));
  ++clock_;
  for (CacheEntry& e : cache_) {
    if (e.key == key) {
      e.last_use = clock_;
      return e.mask;
    }
  }
  CacheEntry* slot;
  if (cache_.size() < kMaskCacheSize) {
    slot = &cache_.emplace_back();
  } else {
    slot = &*std::min_element(
        cache_.begin(), cache_.end(),
        [](const CacheEntry& a, const CacheEntry& b) { return a.last_use < b.last_use; });
  }
  slot->key = std::move(key);
  slot->last_use = clock_;
  compute_mask(slot->mask);
  return slot->mask;
}

void GrammarConstraint::apply(TokenCandidate* cands, size_t n) {
  const std::vector<uint64_t>& mask = allowed_mask();
  const int32_t n_vocab = trie_->n_vocab();
  for (size_t i = 0; i < n; ++i) {
    const int32_t id = cands[i].id;
    if (id < 0 || id >= n_vocab || !((mask[size_t(id) >> 6] >> (id & 63)) & 1)) {
      cands[i].logit = -std::numeric_limits<float>::infinity();
    }
  }
}

void GrammarConstraint::apply_to_logits(float* logits) {
  const std::vector<uint64_t>& mask = allowed_mask();
  for (int32_t id = 0; id < trie_->n_vocab(); ++id) {
    if (!((mask[size_t(id) >> 6] >> (id & 63)) & 1)) {
      logits[id] = -std::numeric_limits<float>::infinity();
    }
  }
}

bool GrammarConstraint::advance(const std::string& piece, std::vector<uint32_t>& stacks,
                                Utf8Partial& u) {
  for (char ch : piece) {
    uint32_t cp = 0;
    const Utf8Step r = utf8_step(u, uint8_t(ch), cp);
    if (r == Utf8Step::kInvalid) return false;
    if (r == Utf8Step::kComplete) {
      work_.stack_steps += stacks.size();
      matcher_.step(stacks, cp, tmp_b_);
      if (tmp_b_.empty()) return false;
      stacks.swap(tmp_b_);
    } else {
      uint32_t lo, hi;
      if (!partial_range(u, lo, hi) || !matcher_.may_accept_range(stacks, lo, hi)) return false;
    }
  }
  return true;
}

bool GrammarConstraint::allows(int32_t token) {
  if (token < 0 || token >= trie_->n_vocab()) return false;
  if (trie_->is_eog(token)) return is_complete();
  const std::string& piece = trie_->piece(token);
  if (piece.empty()) return false;
  tmp_a_.assign(matcher_.stacks().begin(), matcher_.stacks().end());
  Utf8Partial u = partial_;
  return advance(piece, tmp_a_, u);
}

bool GrammarConstraint::accept(int32_t token) {
  if (!allows(token)) return false;
  if (trie_->is_eog(token)) return true;
  Utf8Partial u = partial_;
  tmp_a_.assign(matcher_.stacks().begin(), matcher_.stacks().end());
  advance(trie_->piece(token), tmp_a_, u);
  matcher_.set_stacks(tmp_a_);
  partial_ = u;
  return true;
}

bool GrammarConstraint::is_complete() const {
  return partial_.need == 0 && matcher_.is_complete();
}

void GrammarConstraint::reset() {
  matcher_.reset();
  partial_ = Utf8Partial{};
}

bool GrammarConstraint::fits(int32_t token, int64_t picks_after) {
  if (token < 0 || token >= trie_->n_vocab()) return false;
  if (trie_->is_eog(token)) return is_complete();
  tmp_a_.assign(matcher_.stacks().begin(), matcher_.stacks().end());
  Utf8Partial u = partial_;
  if (!advance(trie_->piece(token), tmp_a_, u)) return false;
  const int64_t rest = int64_t(matcher_.min_completion_bytes(tmp_a_)) + u.need;
  bool can_continue = false;
  for (GrammarMatcher::StackId st : tmp_a_)
    can_continue = can_continue || st != GrammarMatcher::kDone;
  if (rest == 0 && !can_continue) return true;  // finished: generation ends without another pick
  return rest + 1 <= picks_after;               // the rest, byte by byte, then the end token
}

namespace {

// Draws from the sampler this many times more before scanning every allowed token.
constexpr int kBudgetRedraws = 16;

// The highest-scoring allowed token that still fits the budget, or -1.
int32_t best_fitting(GrammarConstraint& c, const float* masked, int64_t picks_after) {
  int32_t best = -1;
  for (int32_t id = 0; id < c.n_vocab(); ++id) {
    if (masked[id] == -std::numeric_limits<float>::infinity()) continue;
    if ((best < 0 || masked[id] > masked[best]) && c.fits(id, picks_after)) best = id;
  }
  return best;
}

}  // namespace

int32_t sample_constrained(Sampler& sampler, GrammarConstraint& constraint, const float* logits,
                           std::vector<float>& scratch, int64_t budget) {
  int32_t t = sampler.sample(logits);
  const bool allowed = constraint.allows(t);
  if (allowed && (budget < 0 || constraint.fits(t, budget - 1))) return t;
  const std::vector<uint64_t>& mask = constraint.allowed_mask();
  bool any = false;
  for (uint64_t w : mask) any = any || w != 0;
  if (!any) return -1;  // nothing can continue: the grammar cannot be satisfied by this vocab
  scratch.assign(logits, logits + constraint.n_vocab());
  constraint.apply_to_logits(scratch.data());
  if (!allowed) t = sampler.sample(scratch.data());
  if (budget < 0) return t;
  constexpr float kBanned = -std::numeric_limits<float>::infinity();
  auto usable = [&](int32_t id) {
    return id >= 0 && id < constraint.n_vocab() && scratch[size_t(id)] != kBanned &&
           constraint.fits(id, budget - 1);
  };
  for (int i = 0; i < kBudgetRedraws; ++i) {
    if (usable(t)) return t;
    if (t >= 0 && t < constraint.n_vocab()) scratch[size_t(t)] = kBanned;
    t = sampler.sample(scratch.data());
  }
  if (usable(t)) return t;
  const int32_t best = best_fitting(constraint, scratch.data(), budget - 1);
  return best >= 0 ? best : t;  // no token fits: the budget was too small from the start
}

}  // namespace silica

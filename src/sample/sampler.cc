// Sampler chain, penalty history and seeding.
#include "sample/sampler.h"

#include <algorithm>
#include <chrono>
#include <random>

namespace silica {
namespace {

uint64_t random_seed() {
  std::random_device rd;
  const uint64_t device = (uint64_t(rd()) << 32) ^ rd();
  const uint64_t clock =
      uint64_t(std::chrono::high_resolution_clock::now().time_since_epoch().count());
  uint64_t seed = device ^ clock;
  // Never hand out the sentinel itself, so seed() can always be fed back to reproduce a run.
  if (seed == kRandomSeed) seed ^= 1;
  return seed;
}

}  // namespace

Status validate_sampler_params(const SamplerParams& p, int32_t n_vocab) {
  if (n_vocab <= 0) return make_error("sampler: n_vocab must be > 0, got {}", n_vocab);
  if (p.repeat_last_n < -1) {
    return make_error("sampler: repeat_last_n must be -1 (whole context), 0 (off) or > 0, got {}",
                      p.repeat_last_n);
  }
  if (!(p.repeat_penalty > 0.0f)) {
    return make_error("sampler: repeat_penalty must be > 0 (1 = off), got {}", p.repeat_penalty);
  }
  if (p.top_p != p.top_p || p.min_p != p.min_p || p.typical_p != p.typical_p ||
      p.temperature != p.temperature) {
    return make_error("sampler: temperature, top_p, min_p and typical_p must not be NaN");
  }
  return Status();
}

TokenHistory::TokenHistory(int last_n, int32_t n_vocab)
    : last_n_(last_n),
      ring_(last_n > 0 ? size_t(last_n) : 0),
      count_(last_n != 0 ? size_t(n_vocab) : 0, 0),
      slot_(last_n != 0 ? size_t(n_vocab) : 0, 0) {
  // At most last_n distinct tokens (or the vocabulary): push() never allocates.
  distinct_.reserve(last_n > 0 ? std::min<size_t>(size_t(last_n), count_.size()) : count_.size());
}

void TokenHistory::remove_one(int32_t token) {
  if (--count_[token] > 0) return;
  const int32_t last = distinct_.back();  // the token leaves distinct_: the last one takes its slot
  distinct_[size_t(slot_[token])] = last;
  slot_[last] = slot_[token];
  distinct_.pop_back();
}

void TokenHistory::push(int32_t token) {
  if (last_n_ == 0 || token < 0 || size_t(token) >= count_.size()) return;
  if (last_n_ > 0) {
    if (size_ == ring_.size()) {
      remove_one(ring_[head_]);  // the oldest token leaves the window
    } else {
      ++size_;
    }
    ring_[head_] = token;
    head_ = (head_ + 1) % ring_.size();
  }
  if (count_[token]++ == 0) {
    slot_[token] = int32_t(distinct_.size());
    distinct_.push_back(token);
  }
}

void TokenHistory::clear() {
  for (int32_t t : distinct_) count_[t] = 0;
  distinct_.clear();
  head_ = size_ = 0;
}

Sampler::Sampler(const SamplerParams& p, int32_t n_vocab)
    : params_(p),
      n_vocab_(n_vocab),
      seed_(p.seed == kRandomSeed ? random_seed() : p.seed),
      rng_(seed_),
      history_(p.repeat_last_n, n_vocab),
      candidates_(size_t(n_vocab)) {
  scratch_.reserve(size_t(n_vocab));
}

int32_t Sampler::sample(const float* logits) {
  const bool greedy = params_.temperature <= 0.0f;
  const int k = greedy ? 1 : params_.top_k;  // greedy is the top 1
  const bool penalize =
      history_.enabled() &&
      penalties_active(params_.repeat_penalty, params_.presence_penalty, params_.frequency_penalty);
  Candidates c;
  if (k > 0 && k < n_vocab_) {  // the common case, without a candidate for every token
    Penalties pen;
    if (penalize) {
      pen = {history_.counts(),      history_.distinct().data(), history_.distinct().size(),
             params_.repeat_penalty, params_.presence_penalty,   params_.frequency_penalty};
    }
    c = top_k_from_logits(logits, n_vocab_, k, pen, candidates_.data());
    if (greedy) return c.data[0].id;
  } else {
    c = candidates_from_logits(logits, n_vocab_, candidates_.data());
    if (penalize) {
      apply_penalties(c, history_.counts(), params_.repeat_penalty, params_.presence_penalty,
                      params_.frequency_penalty);
    }
    if (greedy) return pick_greedy(c);
    apply_top_k(c, params_.top_k);
  }
  apply_typical(c, params_.typical_p, scratch_);
  apply_top_p(c, params_.top_p);
  apply_min_p(c, params_.min_p);
  apply_temperature(c, params_.temperature);
  return pick_from_distribution(c, rng_.uniform());
}

void Sampler::accept(int32_t token) {
  history_.push(token);
}

void Sampler::reset() {
  history_.clear();
  rng_.reseed(seed_);
}

}  // namespace silica

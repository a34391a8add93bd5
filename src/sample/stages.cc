// Sampler stages over a candidate array; none of them allocates.
#include "sample/stages.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numeric>

namespace silica {
namespace {

// Above this many candidates top-p sorts a prefix at a time, since the nucleus is usually small.
constexpr size_t kTopPFullSortBelow = 1024;
constexpr size_t kTopPFirstPrefix = 256;

// candidate_before as a function object, which the standard algorithms inline (through the
// function pointer, a sort of 128k candidates spent two thirds of its time in calls).
constexpr auto kBefore = [](const TokenCandidate& a, const TokenCandidate& b) {
  return candidate_before(a, b);
};

// A NaN logit would break the sort order (and with it std::sort); it counts as impossible.
float logit_or_minus_inf(float x) {
  return std::isnan(x) ? -INFINITY : x;
}

float max_logit(const Candidates& c) {
  float m = -INFINITY;
  for (size_t i = 0; i < c.size; ++i) m = std::max(m, c.data[i].logit);
  return m;
}

}  // namespace

Candidates candidates_from_logits(const float* logits, int32_t n_vocab, TokenCandidate* buf) {
  for (int32_t i = 0; i < n_vocab; ++i)
    buf[i] = TokenCandidate{i, logit_or_minus_inf(logits[i]), 0.0f};
  return Candidates{buf, size_t(n_vocab), false};
}

void sort_candidates(Candidates& c) {
  if (c.sorted) return;
  std::sort(c.data, c.data + c.size, kBefore);
  c.sorted = true;
}

void softmax_candidates(Candidates& c) {
  if (c.size == 0) return;
  const float m = c.sorted ? c.data[0].logit : max_logit(c);
  double sum = 0.0;
  for (size_t i = 0; i < c.size; ++i) {
    c.data[i].p = std::exp(c.data[i].logit - m);
    sum += c.data[i].p;
  }
  const double inv = 1.0 / sum;
  for (size_t i = 0; i < c.size; ++i) c.data[i].p = float(c.data[i].p * inv);
}

void apply_penalties(Candidates& c, const int32_t* count, float repeat, float presence,
                     float frequency) {
  if (!penalties_active(repeat, presence, frequency)) return;
  for (size_t i = 0; i < c.size; ++i) {
    TokenCandidate& t = c.data[i];
    const int32_t n = count[t.id];
    if (n > 0) t.logit = penalized_logit(t.logit, n, repeat, presence, frequency);
  }
  c.sorted = false;
}

void apply_top_k(Candidates& c, int k) {
  if (k <= 0 || size_t(k) >= c.size) return;
  if (!c.sorted) std::partial_sort(c.data, c.data + k, c.data + c.size, kBefore);
  c.size = size_t(k);
  c.sorted = true;
}

Candidates top_k_from_logits(const float* logits, int32_t n_vocab, int k, const Penalties& pen,
                             TokenCandidate* buf) {
  assert(k >= 1 && k < n_vocab);
  // A heap ordered by candidate_before keeps the worst of the best k at buf[0].
  size_t n = 0;
  const size_t cap = size_t(k);
  auto offer = [&](int32_t id, float logit) {
    const TokenCandidate t{id, logit, 0.0f};
    if (n < cap) {
      buf[n++] = t;
      std::push_heap(buf, buf + n, kBefore);
    } else if (candidate_before(t, buf[0])) {
      std::pop_heap(buf, buf + n, kBefore);
      buf[n - 1] = t;
      std::push_heap(buf, buf + n, kBefore);
    }
  };
  const int32_t* count = pen.count;
  for (size_t j = 0; j < pen.n_ids; ++j) {
    const int32_t id = pen.ids[j];
    offer(id, penalized_logit(logit_or_minus_inf(logits[id]), count[id], pen.repeat, pen.presence,
                              pen.frequency));
  }
  auto offer_plain = [&](int32_t i) {
    if (!count || count[i] <= 0) offer(i, logit_or_minus_inf(logits[i]));
  };
  int32_t i = 0;
  for (; i < n_vocab && n < cap; ++i) offer_plain(i);
  constexpr int32_t kBlock = 16;
  while (i < n_vocab) {
    const int32_t end = std::min(n_vocab, i + kBlock);
    // >=, not >: a token equal to the worst but with a lower id (the penalized entered first)
    // wins its tie. NaN compares false, and counts as -inf: only a worst of -inf could lose to it.
    const float worst = buf[0].logit;
    if (end - i == kBlock && worst != -INFINITY) {
      int hit = 0;
      for (int32_t j = 0; j < kBlock; ++j) hit |= logits[i + j] >= worst;
      if (!hit) {
        i = end;
        continue;
      }
    }
    for (; i < end; ++i) offer_plain(i);
  }
  std::sort_heap(buf, buf + n, kBefore);
  return Candidates{buf, n, true};
}

int32_t argmax_logits(const float* logits, int32_t n_vocab) {
  if (n_vocab <= 1) return 0;
  TokenCandidate best;
  return top_k_from_logits(logits, n_vocab, 1, Penalties{}, &best).data[0].id;
}

void apply_typical(Candidates& c, float p, StageScratch& scratch) {
  if (p >= 1.0f || c.size <= 1) return;
  assert(scratch.score.size() >= c.size);
  softmax_candidates(c);
  double entropy = 0.0;
  for (size_t i = 0; i < c.size; ++i) {
    const float pi = c.data[i].p;
    if (pi > 0.0f) entropy -= double(pi) * std::log(double(pi));
  }
  // A zero probability has infinite surprise: it sorts last.
  for (size_t i = 0; i < c.size; ++i) {
    const float pi = c.data[i].p;
    scratch.score[i] = pi > 0.0f ? float(std::fabs(-std::log(double(pi)) - entropy)) : INFINITY;
  }
  uint32_t* order = scratch.order.data();
  std::iota(order, order + c.size, 0u);
  std::sort(order, order + c.size, [&](uint32_t a, uint32_t b) {
    const float sa = scratch.score[a], sb = scratch.score[b];
    return sa < sb || (sa == sb && c.data[a].id < c.data[b].id);
  });
  size_t keep = c.size;
  double cum = 0.0;
  for (size_t i = 0; i < c.size; ++i) {
    cum += c.data[order[i]].p;
    if (cum > p) {
      keep = i + 1;
      break;
    }
  }
  for (size_t i = 0; i < keep; ++i) scratch.saved[i] = c.data[order[i]];
  std::copy(scratch.saved.begin(), scratch.saved.begin() + keep, c.data);
  c.size = keep;
  c.sorted = false;
}

void apply_top_p(Candidates& c, float p) {
  if (p >= 1.0f || c.size <= 1) return;
  softmax_candidates(c);
  // Sort lazily: a prefix of the best at a time (nth_element picks them, each prefix twice the
  // last), until the cumulative probability reaches p. A strict total order has one sorted
  // sequence, so the kept set is the one a full sort gives.
  if (c.size <= kTopPFullSortBelow) sort_candidates(c);
  size_t sorted_upto = c.sorted ? c.size : 0, prefix = kTopPFirstPrefix;
  double cum = 0.0;
  size_t keep = c.size;
  for (size_t i = 0; i < c.size; ++i) {
    if (i == sorted_upto) {
      const size_t end = std::min(c.size, i + prefix);
      if (end < c.size) std::nth_element(c.data + i, c.data + end, c.data + c.size, kBefore);
      std::sort(c.data + i, c.data + end, kBefore);
      sorted_upto = end;
      prefix *= 2;
    }
    cum += c.data[i].p;
    if (cum >= p) {
      keep = i + 1;
      break;
    }
  }
  c.size = keep;
  c.sorted = true;
}

void apply_min_p(Candidates& c, float p) {
  if (p <= 0.0f || c.size <= 1) return;
  const float threshold = max_logit(c) + std::log(p);
  size_t kept = 0;
  // Stable compaction keeps the current order (and so the sorted flag) intact.
  for (size_t i = 0; i < c.size; ++i) {
    if (c.data[i].logit >= threshold) c.data[kept++] = c.data[i];
  }
  c.size = kept;  // the maximum always passes, so kept >= 1
}

void apply_temperature(Candidates& c, float t) {
  for (size_t i = 0; i < c.size; ++i) c.data[i].logit /= t;
}

int32_t pick_greedy(const Candidates& c) {
  assert(c.size > 0);
  const TokenCandidate* best = &c.data[0];
  for (size_t i = 1; i < c.size; ++i) {
    const TokenCandidate& t = c.data[i];
    if (t.logit > best->logit || (t.logit == best->logit && t.id < best->id)) best = &t;
  }
  return best->id;
}

int32_t pick_from_distribution(Candidates& c, double u) {
  assert(c.size > 0);
  const float m = max_logit(c);
  double total = 0.0;
  for (size_t i = 0; i < c.size; ++i) {
    c.data[i].p = float(std::exp(double(c.data[i].logit - m)));  // unnormalized weight
    total += c.data[i].p;
  }
  const double target = u * total;
  double cum = 0.0;
  for (size_t i = 0; i < c.size; ++i) {
    cum += c.data[i].p;
    if (cum > target) return c.data[i].id;
  }
  // Rounding can leave cum a hair below target when u is close to 1: take the last live token.
  for (size_t i = c.size; i-- > 0;) {
    if (c.data[i].p > 0.0f) return c.data[i].id;
  }
  return c.data[0].id;
}

}  // namespace silica

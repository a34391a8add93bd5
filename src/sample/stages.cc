// Sampler stages over a candidate array; none of them allocates.
#include "sample/stages.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numeric>

namespace silica {
namespace {

// Above this many candidates top-p first sorts only a prefix, since the nucleus is usually small.
constexpr size_t kTopPFullSortBelow = 1024;
constexpr size_t kTopPFirstPrefix = 256;

float max_logit(const Candidates& c) {
  float m = -INFINITY;
  for (size_t i = 0; i < c.size; ++i) m = std::max(m, c.data[i].logit);
  return m;
}

}  // namespace

Candidates candidates_from_logits(const float* logits, int32_t n_vocab, TokenCandidate* buf) {
  // A NaN logit would break the sort order (and with it std::sort); treat it as impossible.
  for (int32_t i = 0; i < n_vocab; ++i) {
    buf[i] = TokenCandidate{i, std::isnan(logits[i]) ? -INFINITY : logits[i], 0.0f};
  }
  return Candidates{buf, size_t(n_vocab), false};
}

void sort_candidates(Candidates& c) {
  if (c.sorted) return;
  std::sort(c.data, c.data + c.size, candidate_before);
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
  if (repeat == 1.0f && presence == 0.0f && frequency == 0.0f) return;
  for (size_t i = 0; i < c.size; ++i) {
    TokenCandidate& t = c.data[i];
    const int32_t n = count[t.id];
    if (n <= 0) continue;
    // Dividing a negative logit would raise it; multiplying pushes it down as intended.
    t.logit = t.logit <= 0.0f ? t.logit * repeat : t.logit / repeat;
    t.logit -= float(n) * frequency + presence;
  }
  c.sorted = false;
}

void apply_top_k(Candidates& c, int k) {
  if (k <= 0 || size_t(k) >= c.size) return;
  if (!c.sorted) std::partial_sort(c.data, c.data + k, c.data + c.size, candidate_before);
  c.size = size_t(k);
  c.sorted = true;
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
  // Sort lazily: a prefix first; the whole array only if the prefix does not reach p.
  size_t sorted_upto = c.size;
  if (!c.sorted && c.size > kTopPFullSortBelow) {
    sorted_upto = kTopPFirstPrefix;
    std::partial_sort(c.data, c.data + sorted_upto, c.data + c.size, candidate_before);
  } else {
    sort_candidates(c);
  }
  double cum = 0.0;
  size_t keep = c.size;
  for (size_t i = 0; i < c.size; ++i) {
    if (i == sorted_upto) {
      // The prefix is already in final order, so sorting the rest continues the same sequence.
      std::sort(c.data + i, c.data + c.size, candidate_before);
      sorted_upto = c.size;
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

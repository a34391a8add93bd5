// Sampler stages: small plain functions over a candidate array (penalties, top-k, typical, top-p,
// min-p, temperature, greedy, distribution draw). Semantics follow llama.cpp's documented samplers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace silica {

struct TokenCandidate {
  int32_t id;
  float logit;
  float p;  // probability; valid only right after softmax_candidates()
};

// A view of the surviving candidates: data[0, size) of a buffer the caller owns. Stages shrink
// size and may reorder; sorted means data is ordered by (logit desc, id asc).
struct Candidates {
  TokenCandidate* data = nullptr;  // [size]
  size_t size = 0;
  bool sorted = false;
};

// Preallocated work space for stages that need more than the candidate array (typical).
struct StageScratch {
  std::vector<float> score;           // [n_vocab]
  std::vector<uint32_t> order;        // [n_vocab]
  std::vector<TokenCandidate> saved;  // [n_vocab]
  void reserve(size_t n) {
    score.resize(n);
    order.resize(n);
    saved.resize(n);
  }
};

// Fills buf[0, n_vocab) with (id, logits[id]) in id order; NaN logits become -inf.  (logits, buf:
// [n_vocab])
Candidates candidates_from_logits(const float* logits, int32_t n_vocab, TokenCandidate* buf);

// The strict total order used by every sort: higher logit first, then lower id. A total order
// makes partial_sort / sort results identical on every standard library.
inline bool candidate_before(const TokenCandidate& a, const TokenCandidate& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}
void sort_candidates(Candidates& c);

// p = softmax(logit) over the current candidates (sum accumulated in double).
void softmax_candidates(Candidates& c);

// For each candidate whose token occurs count[id] > 0 times in the penalty window: the repeat
// penalty divides a positive logit and multiplies a non-positive one; then
// logit -= count * frequency + presence.  (count: [n_vocab])
void apply_penalties(Candidates& c, const int32_t* count, float repeat, float presence,
                     float frequency);

// Whether penalties with these values change any logit (apply_penalties is a no-op otherwise).
inline bool penalties_active(float repeat, float presence, float frequency) {
  return repeat != 1.0f || presence != 0.0f || frequency != 0.0f;
}

// The logit a token that occurs n > 0 times in the penalty window gets (apply_penalties' rule).
inline float penalized_logit(float logit, int32_t n, float repeat, float presence,
                             float frequency) {
  // Dividing a negative logit would raise it; multiplying pushes it down as intended.
  logit = logit <= 0.0f ? logit * repeat : logit / repeat;
  return logit - (float(n) * frequency + presence);
}

// Keeps the k highest logits (k <= 0 or k >= size: no-op). Leaves c sorted.
void apply_top_k(Candidates& c, int k);

// The penalties as apply_penalties takes them, plus the tokens they touch.
struct Penalties {
  const int32_t* count = nullptr;  // [n_vocab]; nullptr: no penalties
  const int32_t* ids = nullptr;    // every token with count > 0, each once
  size_t n_ids = 0;
  float repeat = 1.0f, presence = 0.0f, frequency = 0.0f;
};

// Exactly what candidates_from_logits, apply_penalties and apply_top_k(k) leave (1 <= k <
// n_vocab), at a fraction of their cost for a large vocabulary: they write a candidate for every
// token and touch each again per stage, while here the penalized tokens enter a heap of the k
// best first and one pass over the logits lets in only those that beat the heap's worst (a few
// hundred of 128k for k = 40). Vectorizable: the pass compares blocks of logits with the worst.
// (logits: [n_vocab], buf: [k] at least)
Candidates top_k_from_logits(const float* logits, int32_t n_vocab, int k, const Penalties& pen,
                             TokenCandidate* buf);

// The id of the highest logit, ties to the lowest id, NaN as -inf (greedy decoding without a
// sampler). (logits: [n_vocab], n_vocab >= 1)
int32_t argmax_logits(const float* logits, int32_t n_vocab);
inline int32_t argmax_logits(const std::vector<float>& logits) {
  return argmax_logits(logits.data(), int32_t(logits.size()));
}

// Locally typical sampling: keeps tokens whose -log p is closest to the entropy until their
// cumulative probability exceeds p (strictly), at least one. p >= 1: no-op.
void apply_typical(Candidates& c, float p, StageScratch& scratch);

// Keeps the smallest prefix (by probability) whose cumulative probability is >= p, at least one.
// p >= 1: no-op. Leaves c sorted.
void apply_top_p(Candidates& c, float p);

// Keeps tokens with p >= min_p * p_max, i.e. logit >= max_logit + log(min_p). p <= 0: no-op.
void apply_min_p(Candidates& c, float p);

// logit /= t  (t > 0).
void apply_temperature(Candidates& c, float t);

// Highest logit; ties go to the lowest id.
int32_t pick_greedy(const Candidates& c);

// Draws from softmax(logit) with u in [0, 1): the first candidate (in current order) whose
// cumulative weight exceeds u * total. Weights and sums in double for platform-stable results.
int32_t pick_from_distribution(Candidates& c, double u);

}  // namespace silica

// The sampler chain: penalties -> top-k -> typical -> top-p -> min-p -> temperature -> draw.
// All buffers are allocated once at construction; sample() and accept() never allocate.
#pragma once

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "sample/rng.h"
#include "sample/stages.h"

namespace silica {

struct SamplerParams {
  float temperature = 0.8f;  // <= 0: greedy
  int top_k = 40;            // <= 0: off
  float top_p = 0.95f;       // >= 1: off
  float min_p = 0.05f;       // <= 0: off
  float typical_p = 1.0f;    // >= 1: off (locally typical sampling)
  float repeat_penalty = 1.0f;
  int repeat_last_n = 64;  // 0: penalties off, -1: whole context (since reset)
  float presence_penalty = 0.0f, frequency_penalty = 0.0f;
  uint64_t seed = 0xFFFFFFFF;  // this exact value means "random seed from the clock/device"
};
inline constexpr uint64_t kRandomSeed = 0xFFFFFFFF;

// Checks ranges a user could get wrong (e.g. from an API request); the message names the field.
Status validate_sampler_params(const SamplerParams& p, int32_t n_vocab);

// Tokens seen in the penalty window: a ring of the last n tokens plus per-token counts.
class TokenHistory {
 public:
  TokenHistory(int last_n, int32_t n_vocab);
  void push(int32_t token);
  void clear();
  const int32_t* counts() const { return count_.data(); }  // [n_vocab]
  // The tokens with a count > 0, each once, in no particular order.
  const std::vector<int32_t>& distinct() const { return distinct_; }
  bool enabled() const { return last_n_ != 0; }

 private:
  void remove_one(int32_t token);

  int last_n_;
  std::vector<int32_t> ring_;      // [last_n] (empty for the whole-context mode)
  size_t head_ = 0, size_ = 0;     // next write slot, tokens held
  std::vector<int32_t> count_;     // [n_vocab]
  std::vector<int32_t> distinct_;  // the tokens with count_ > 0
  std::vector<int32_t> slot_;      // [n_vocab]: a counted token's index in distinct_
};

class Sampler {
 public:
  Sampler(const SamplerParams& p, int32_t n_vocab);
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;
  Sampler(Sampler&&) = default;
  Sampler& operator=(Sampler&&) = default;

  int32_t sample(const float* logits);  // logits: [n_vocab]
  void accept(int32_t token);           // records for penalties (prompt tokens too)
  void reset();                         // forgets history, restarts the random sequence
  uint64_t seed() const { return seed_; }
  const SamplerParams& params() const { return params_; }

 private:
  SamplerParams params_;
  int32_t n_vocab_;
  uint64_t seed_;
  Rng rng_;
  TokenHistory history_;
  std::vector<TokenCandidate> candidates_;  // [n_vocab]
  StageScratch scratch_;
};

}  // namespace silica

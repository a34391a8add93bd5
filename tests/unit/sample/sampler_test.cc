// The sampler chain end to end: greedy, seeds, distribution statistics, kept sets, penalties.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <vector>

#include "sample/sampler.h"

namespace silica {
namespace {

constexpr int kStatDraws = 20000;
// Per-token |empirical - softmax| bound: the largest standard error here is
// sqrt(0.25 / 20000) = 0.0035, so 0.015 is over 4 sigma for every token.
constexpr double kTolFrequency = 0.015;

SamplerParams plain_params(uint64_t seed) {
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.typical_p = 1.0f;
  p.seed = seed;
  return p;
}

std::vector<float> pseudo_random_logits(int n, uint64_t seed) {
  Rng r(seed);
  std::vector<float> l(static_cast<size_t>(n));
  for (float& v : l) v = float(r.uniform() * 8.0 - 4.0);
  return l;
}

std::vector<int32_t> draw_sequence(const SamplerParams& p, const std::vector<float>& logits,
                                   int n) {
  Sampler s(p, int32_t(logits.size()));
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) out.push_back(s.sample(logits.data()));
  return out;
}

TEST(Sampler, GreedyIsArgmaxWithLowestIdOnTies) {
  SamplerParams p;
  p.temperature = 0.0f;
  const std::vector<float> logits = {0.1f, 2.5f, -1.0f, 2.5f, 2.4f};
  Sampler s(p, 5);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(s.sample(logits.data()), 1);
}

TEST(Sampler, SameSeedSameSequenceDifferentSeedsDiffer) {
  const std::vector<float> logits = pseudo_random_logits(50, 3);
  const auto a = draw_sequence(plain_params(1234), logits, 200);
  const auto b = draw_sequence(plain_params(1234), logits, 200);
  const auto c = draw_sequence(plain_params(1235), logits, 200);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(Sampler, ResetReplaysTheSameSequence) {
  const std::vector<float> logits = pseudo_random_logits(50, 4);
  Sampler s(plain_params(99), 50);
  std::vector<int32_t> first, second;
  for (int i = 0; i < 50; ++i) first.push_back(s.sample(logits.data()));
  s.reset();
  for (int i = 0; i < 50; ++i) second.push_back(s.sample(logits.data()));
  EXPECT_EQ(first, second);
}

TEST(Sampler, RandomSeedIsReportedAndReproducible) {
  const std::vector<float> logits = pseudo_random_logits(50, 5);
  SamplerParams p = plain_params(kRandomSeed);
  Sampler s(p, 50);
  EXPECT_NE(s.seed(), kRandomSeed);
  std::vector<int32_t> a;
  for (int i = 0; i < 100; ++i) a.push_back(s.sample(logits.data()));
  EXPECT_EQ(a, draw_sequence(plain_params(s.seed()), logits, 100));
}

TEST(Sampler, FrequenciesMatchSoftmaxAtTemperatureOne) {
  const std::vector<float> logits = {1.0f, 2.0f, 0.5f, 3.0f, -1.0f, 2.2f};
  double z = 0.0;
  for (float l : logits) z += std::exp(double(l));
  std::vector<int> hits(logits.size(), 0);
  Sampler s(plain_params(2024), int32_t(logits.size()));
  for (int i = 0; i < kStatDraws; ++i) ++hits[size_t(s.sample(logits.data()))];
  for (size_t t = 0; t < logits.size(); ++t) {
    const double want = std::exp(double(logits[t])) / z;
    EXPECT_NEAR(double(hits[t]) / kStatDraws, want, kTolFrequency) << "token " << t;
  }
}

TEST(Sampler, TemperatureSharpensDistribution) {
  const std::vector<float> logits = {1.0f, 2.0f};
  SamplerParams p = plain_params(11);
  p.temperature = 0.5f;  // softmax([2, 4]) = [0.1192, 0.8808]
  Sampler s(p, 2);
  int ones = 0;
  for (int i = 0; i < kStatDraws; ++i) ones += s.sample(logits.data());
  EXPECT_NEAR(double(ones) / kStatDraws, 0.8807971, kTolFrequency);
}

// Brute-force kept sets, computed here independently of the stages.
std::vector<int32_t> ids_by_logit(const std::vector<float>& l) {
  std::vector<int32_t> ids(l.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::stable_sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) { return l[a] > l[b]; });
  return ids;
}

void expect_draws_within(const SamplerParams& p, const std::vector<float>& logits,
                         const std::set<int32_t>& kept) {
  Sampler s(p, int32_t(logits.size()));
  std::set<int32_t> seen;
  for (int i = 0; i < 3000; ++i) {
    const int32_t t = s.sample(logits.data());
    ASSERT_TRUE(kept.count(t)) << "token " << t << " is outside the kept set";
    seen.insert(t);
  }
  EXPECT_EQ(seen, kept);  // and every kept token shows up
}

TEST(Sampler, TopKNeverLeavesKeptSet) {
  const auto logits = pseudo_random_logits(200, 6);
  const auto order = ids_by_logit(logits);
  SamplerParams p = plain_params(1);
  p.top_k = 5;
  expect_draws_within(p, logits, std::set<int32_t>(order.begin(), order.begin() + 5));
}

TEST(Sampler, TopPNeverLeavesKeptSet) {
  const auto logits = pseudo_random_logits(200, 7);
  const auto order = ids_by_logit(logits);
  double z = 0.0;
  for (float l : logits) z += std::exp(double(l));
  std::set<int32_t> kept;
  double cum = 0.0;
  for (int32_t id : order) {
    kept.insert(id);
    cum += std::exp(double(logits[id])) / z;
    if (cum >= 0.3) break;
  }
  SamplerParams p = plain_params(2);
  p.top_p = 0.3f;
  expect_draws_within(p, logits, kept);
}

TEST(Sampler, MinPNeverLeavesKeptSet) {
  const auto logits = pseudo_random_logits(200, 8);
  const float max = *std::max_element(logits.begin(), logits.end());
  std::set<int32_t> kept;
  for (size_t i = 0; i < logits.size(); ++i) {
    if (std::exp(double(logits[i] - max)) >= 0.4) kept.insert(int32_t(i));
  }
  SamplerParams p = plain_params(3);
  p.min_p = 0.4f;
  expect_draws_within(p, logits, kept);
}

TEST(Sampler, CombinedTruncationStaysInsideEveryKeptSet) {
  // top-k 10, then top-p 0.8 over the renormalized ten, then min-p 0.1 over what is left.
  const auto logits = pseudo_random_logits(300, 9);
  const auto order = ids_by_logit(logits);
  const std::vector<int32_t> top10(order.begin(), order.begin() + 10);
  double z = 0.0;
  for (int32_t id : top10) z += std::exp(double(logits[id]));
  std::vector<int32_t> nucleus;
  double cum = 0.0;
  for (int32_t id : top10) {
    nucleus.push_back(id);
    cum += std::exp(double(logits[id])) / z;
    if (cum >= 0.8) break;
  }
  std::set<int32_t> kept;
  for (int32_t id : nucleus) {
    if (std::exp(double(logits[id] - logits[order[0]])) >= 0.1) kept.insert(id);
  }
  SamplerParams p = plain_params(4);
  p.top_k = 10;
  p.top_p = 0.8f;
  p.min_p = 0.1f;
  p.temperature = 1.5f;  // applied after truncation: must not change the kept set
  expect_draws_within(p, logits, kept);
}

TEST(Sampler, NanLogitsAreNeverSampled) {
  std::vector<float> logits = {NAN, 1.0f, NAN, 0.5f};
  Sampler s(plain_params(5), 4);
  for (int i = 0; i < 1000; ++i) {
    const int32_t t = s.sample(logits.data());
    ASSERT_TRUE(t == 1 || t == 3) << t;
  }
}

TEST(Sampler, RepeatPenaltyAppliesOnlyInsideWindow) {
  // Token 0 leads by a little; once penalized (2.0 / 1.5 = 1.33 < 1.9) greedy moves to token 1.
  const std::vector<float> logits = {2.0f, 1.9f, -5.0f};
  SamplerParams p;
  p.temperature = 0.0f;
  p.repeat_penalty = 1.5f;
  p.repeat_last_n = 2;
  Sampler s(p, 3);
  EXPECT_EQ(s.sample(logits.data()), 0);
  s.accept(0);
  EXPECT_EQ(s.sample(logits.data()), 1);
  s.accept(2);
  EXPECT_EQ(s.sample(logits.data()), 1);  // window [0, 2]
  s.accept(2);
  EXPECT_EQ(s.sample(logits.data()), 0);  // window [2, 2]: token 0 slid out
  s.reset();
  EXPECT_EQ(s.sample(logits.data()), 0);
}

// distinct() is what the top-k pass penalizes: exactly the tokens with a count, each once, as a
// window slides, repeats and empties, and after clear().
TEST(Sampler, HistoryDistinctIsTheCountedTokens) {
  for (int last_n : {1, 5, 64, -1}) {
    const int32_t n_vocab = 20;
    TokenHistory h(last_n, n_vocab);
    std::vector<int32_t> pushed;
    Rng r(uint64_t(last_n + 10));
    for (int step = 0; step < 400; ++step) {
      if (step == 250) {
        h.clear();
        pushed.clear();
      }
      const int32_t t = int32_t(r.uniform() * 8);  // few tokens: many repeats
      h.push(t);
      pushed.push_back(t);
      std::vector<int32_t> want(size_t(n_vocab), 0);
      const size_t from = last_n < 0 ? 0 : pushed.size() - std::min(pushed.size(), size_t(last_n));
      for (size_t i = from; i < pushed.size(); ++i) ++want[size_t(pushed[i])];
      std::set<int32_t> counted, listed(h.distinct().begin(), h.distinct().end());
      for (int32_t id = 0; id < n_vocab; ++id) {
        ASSERT_EQ(h.counts()[id], want[size_t(id)]) << "last_n " << last_n << " step " << step;
        if (want[size_t(id)] > 0) counted.insert(id);
      }
      ASSERT_EQ(listed.size(), h.distinct().size()) << "a token listed twice";
      ASSERT_EQ(listed, counted) << "last_n " << last_n << " step " << step;
    }
  }
}

TEST(Sampler, NegativeLogitsArePushedDownByRepeatPenalty) {
  // -1 * 3 = -3 < -2: token 0 loses to token 1 (a division would have raised it to -0.33).
  const std::vector<float> logits = {-1.0f, -2.0f};
  SamplerParams p;
  p.temperature = 0.0f;
  p.repeat_penalty = 3.0f;
  Sampler s(p, 2);
  s.accept(0);
  EXPECT_EQ(s.sample(logits.data()), 1);
}

TEST(Sampler, FrequencyAndPresencePenaltiesCount) {
  // logits 3, 2: token 0 seen twice -> 3 - (2 * 0.3 + 0.5) = 1.9 < 2.
  const std::vector<float> logits = {3.0f, 2.0f};
  SamplerParams p;
  p.temperature = 0.0f;
  p.presence_penalty = 0.5f;
  p.frequency_penalty = 0.3f;
  p.repeat_last_n = -1;  // whole context
  Sampler s(p, 2);
  s.accept(0);
  EXPECT_EQ(s.sample(logits.data()), 0);  // 3 - 0.8 = 2.2
  s.accept(0);
  EXPECT_EQ(s.sample(logits.data()), 1);  // 1.9
}

TEST(Sampler, PenaltiesOffWhenWindowIsZero) {
  const std::vector<float> logits = {2.0f, 1.9f};
  SamplerParams p;
  p.temperature = 0.0f;
  p.repeat_penalty = 10.0f;
  p.repeat_last_n = 0;
  Sampler s(p, 2);
  s.accept(0);
  EXPECT_EQ(s.sample(logits.data()), 0);
}

TEST(Sampler, ValidateNamesTheBadField) {
  SamplerParams p;
  p.repeat_last_n = -5;
  const Status st = validate_sampler_params(p, 10);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("repeat_last_n"), std::string::npos);
  EXPECT_TRUE(validate_sampler_params(SamplerParams{}, 10).ok());
  EXPECT_FALSE(validate_sampler_params(SamplerParams{}, 0).ok());
}

}  // namespace
}  // namespace silica

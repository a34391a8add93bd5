// Sampler stages on small hand-computed examples (probabilities worked out by hand / in Python).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <vector>

#include "sample/stages.h"

namespace silica {
namespace {

constexpr float kTolProb = 1e-6f;   // float softmax vs exact probabilities of order 0.01..1
constexpr float kTolLogit = 1e-6f;  // one or two float roundings of logits of order 1

struct Fixture {
  explicit Fixture(std::vector<float> l) : logits(std::move(l)), buf(logits.size()) {
    c = candidates_from_logits(logits.data(), int32_t(logits.size()), buf.data());
  }
  std::set<int32_t> ids() const {
    std::set<int32_t> s;
    for (size_t i = 0; i < c.size; ++i) s.insert(c.data[i].id);
    return s;
  }
  std::vector<float> logits;
  std::vector<TokenCandidate> buf;
  Candidates c;
};

// softmax([1, 2, 3, 4]) = [0.0320586, 0.0871443, 0.2368828, 0.6439143]
TEST(Stages, SoftmaxMatchesHandValues) {
  Fixture f({1, 2, 3, 4});
  softmax_candidates(f.c);
  const float want[] = {0.0320586f, 0.0871443f, 0.2368828f, 0.6439143f};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(f.c.data[i].p, want[i], kTolProb) << i;
}

TEST(Stages, TopKKeepsHighestLogitsSortedWithIdTieBreak) {
  Fixture f({0.5f, 3.0f, 1.0f, 3.0f, 2.0f});
  apply_top_k(f.c, 3);
  ASSERT_EQ(f.c.size, 3u);
  EXPECT_TRUE(f.c.sorted);
  EXPECT_EQ(f.c.data[0].id, 1);  // tie at 3.0: lower id first
  EXPECT_EQ(f.c.data[1].id, 3);
  EXPECT_EQ(f.c.data[2].id, 4);
}

TEST(Stages, TopKOffForZeroOrLargeK) {
  Fixture f({1, 2, 3});
  apply_top_k(f.c, 0);
  EXPECT_EQ(f.c.size, 3u);
  apply_top_k(f.c, 10);
  EXPECT_EQ(f.c.size, 3u);
}

TEST(Stages, TopPKeepsSmallestPrefixReachingP) {
  // Sorted probabilities 0.6439, 0.2369, 0.0871, 0.0321; cumulative 0.6439, 0.8808, 0.9679, 1.
  struct Case {
    float p;
    std::set<int32_t> want;
  } cases[] = {{0.5f, {3}}, {0.8f, {3, 2}}, {0.9f, {3, 2, 1}}, {0.99f, {3, 2, 1, 0}}, {0.01f, {3}}};
  for (const Case& k : cases) {
    Fixture f({1, 2, 3, 4});
    apply_top_p(f.c, k.p);
    EXPECT_EQ(f.ids(), k.want) << "p=" << k.p;
  }
}

TEST(Stages, TopPOnLargeVocabularyUsesLazySortCorrectly) {
  // 3000 equal logits but one: the nucleus needs more than the first sorted prefix.
  std::vector<float> logits(3000, 0.0f);
  logits[1234] = 1.0f;
  Fixture f(logits);
  apply_top_p(f.c, 0.5f);
  // p(1234) = e / (e + 2999); every other token 1 / (e + 2999). Count needed to reach 0.5.
  const double z = std::exp(1.0) + 2999.0;
  double cum = std::exp(1.0) / z;
  size_t want = 1;
  while (cum < 0.5) cum += 1.0 / z, ++want;
  ASSERT_EQ(f.c.size, want);
  EXPECT_EQ(f.c.data[0].id, 1234);
  for (size_t i = 2; i < f.c.size; ++i) EXPECT_LT(f.c.data[i - 1].id, f.c.data[i].id);
}

TEST(Stages, MinPKeepsTokensWithinFactorOfMax) {
  // p_max = 0.6439: min_p 0.1 -> threshold 0.0644 keeps ids 1..3; min_p 0.2 -> 0.1288 keeps 2, 3.
  Fixture a({1, 2, 3, 4});
  apply_min_p(a.c, 0.1f);
  EXPECT_EQ(a.ids(), (std::set<int32_t>{1, 2, 3}));
  Fixture b({1, 2, 3, 4});
  apply_min_p(b.c, 0.2f);
  EXPECT_EQ(b.ids(), (std::set<int32_t>{2, 3}));
  Fixture c({1, 2, 3, 4});
  apply_min_p(c.c, 0.0f);
  EXPECT_EQ(c.c.size, 4u);
}

TEST(Stages, TypicalKeepsTokensClosestToEntropy) {
  // H = 0.94754; |-log p - H| = [2.4927, 1.4927, 0.4927, 0.5073]: order ids 2, 3, 1, 0 with
  // cumulative 0.2369, 0.8808, 0.9679. The cut needs cum > p strictly.
  struct Case {
    float p;
    std::set<int32_t> want;
  } cases[] = {{0.2f, {2}}, {0.5f, {2, 3}}, {0.9f, {2, 3, 1}}, {0.99f, {2, 3, 1, 0}}};
  for (const Case& k : cases) {
    Fixture f({1, 2, 3, 4});
    StageScratch s;
    s.reserve(4);
    apply_typical(f.c, k.p, s);
    EXPECT_EQ(f.ids(), k.want) << "p=" << k.p;
  }
}

TEST(Stages, PenaltiesDividePositiveMultiplyNegativeThenSubtract) {
  Fixture f({2.0f, -1.0f, 3.0f, 0.5f});
  const int32_t count[] = {2, 1, 0, 3};
  apply_penalties(f.c, count, 2.0f, 0.5f, 0.25f);
  // id0: 2/2 - (2*0.25 + 0.5) = 0;  id1: -1*2 - (0.25 + 0.5) = -2.75;  id2 untouched;
  // id3: 0.5/2 - (0.75 + 0.5) = -1.
  EXPECT_NEAR(f.c.data[0].logit, 0.0f, kTolLogit);
  EXPECT_NEAR(f.c.data[1].logit, -2.75f, kTolLogit);
  EXPECT_EQ(f.c.data[2].logit, 3.0f);
  EXPECT_NEAR(f.c.data[3].logit, -1.0f, kTolLogit);
}

TEST(Stages, TemperatureDividesLogits) {
  Fixture f({1.0f, -2.0f});
  apply_temperature(f.c, 0.5f);
  EXPECT_EQ(f.c.data[0].logit, 2.0f);
  EXPECT_EQ(f.c.data[1].logit, -4.0f);
}

TEST(Stages, GreedyPicksMaxWithLowestIdOnTies) {
  Fixture f({1.0f, 5.0f, -3.0f, 5.0f});
  EXPECT_EQ(pick_greedy(f.c), 1);
  std::reverse(f.c.data, f.c.data + f.c.size);  // order must not matter
  EXPECT_EQ(pick_greedy(f.c), 1);
}

// Top-p sorts a prefix at a time; a full sort and a cumulative sum keep the same candidates in
// the same order, from a peaked distribution (a small nucleus) to a flat one (nearly all).
TEST(Stages, TopPPrefixSortsKeepWhatAFullSortKeeps) {
  std::mt19937 rng(3);
  for (int32_t n : {1500, 20000, 128256}) {
    for (float spread : {0.3f, 3.0f, 12.0f}) {
      std::normal_distribution<float> d(0.0f, spread);
      std::vector<float> logits(static_cast<size_t>(n));
      for (float& x : logits) x = std::round(d(rng) * 8.0f) / 8.0f;  // ties
      for (float p : {0.1f, 0.5f, 0.9f, 0.99f, 0.999999f}) {
        Fixture got(logits), want(logits);
        softmax_candidates(want.c);
        std::sort(want.c.data, want.c.data + want.c.size, candidate_before);
        double cum = 0.0;
        size_t keep = want.c.size;
        for (size_t i = 0; i < want.c.size; ++i)
          if ((cum += want.c.data[i].p) >= p) {
            keep = i + 1;
            break;
          }
        apply_top_p(got.c, p);
        ASSERT_TRUE(got.c.sorted);
        ASSERT_EQ(got.c.size, keep) << "n " << n << " spread " << spread << " p " << p;
        for (size_t i = 0; i < keep; ++i) ASSERT_EQ(got.c.data[i].id, want.c.data[i].id) << i;
      }
    }
  }
}

TEST(Stages, ArgmaxOfLogitsTakesTheLowestIdOfTheMaxAndNaNAsMinusInfinity) {
  EXPECT_EQ(argmax_logits(std::vector<float>{2.0f}), 0);
  EXPECT_EQ(argmax_logits(std::vector<float>{NAN, -2.0f, NAN}), 1);
  EXPECT_EQ(argmax_logits(std::vector<float>{-INFINITY, NAN}), 0);  // both -inf: the lower id
  std::vector<float> v(1000, -1.0f);  // the max in a later 16-wide block, tied
  v[700] = v[900] = 3.0f;
  v[5] = NAN;
  EXPECT_EQ(argmax_logits(v), 700);
  v[3] = 3.0f;
  EXPECT_EQ(argmax_logits(v), 3);
}

TEST(Stages, DrawWalksCumulativeDistribution) {
  // Weights [0.0321, 0.0871, 0.2369, 0.6439]; cumulative 0.0321, 0.1192, 0.3561, 1.
  struct Case {
    double u;
    int32_t want;
  } cases[] = {{0.0, 0},  {0.03, 0}, {0.04, 1}, {0.119, 1},
               {0.12, 2}, {0.35, 2}, {0.36, 3}, {0.999999, 3}};
  for (const Case& k : cases) {
    Fixture f({1, 2, 3, 4});
    EXPECT_EQ(pick_from_distribution(f.c, k.u), k.want) << "u=" << k.u;
  }
}

TEST(Stages, DrawNeverPicksZeroWeightToken) {
  Fixture f({0.0f, -INFINITY, 0.0f, -INFINITY});
  for (double u : {0.0, 0.49, 0.5, 0.9999999999}) {
    const int32_t t = pick_from_distribution(f.c, u);
    EXPECT_TRUE(t == 0 || t == 2) << "u=" << u;
  }
}

// top_k_from_logits against the stages it stands for, candidate for candidate: random logits with
// many ties (a few distinct values), NaN and +-inf (often, in some trials), penalized tokens spread
// over the vocabulary with penalties that keep the logits on the same integer levels (so that a
// penalized token ties a plain one with either id first, and a penalized -inf meets a plain NaN),
// every k from 1 to n - 1 on a small vocabulary and a few k on a large one.
TEST(Stages, TopKFromLogitsEqualsPenaltiesThenTopK) {
  {  // A block of 16 NaNs (-inf) ties a penalized -inf of a higher id: the lowest NaN wins.
    std::vector<float> logits(40, -INFINITY);
    logits[0] = logits[1] = 1.0f;
    std::fill(logits.begin() + 2, logits.begin() + 18, NAN);
    std::vector<int32_t> count(40, 0), ids = {30};
    count[30] = 1;
    std::vector<TokenCandidate> buf(40);
    const Candidates c =
        top_k_from_logits(logits.data(), 40, 3, {count.data(), ids.data(), 1, 1.1f}, buf.data());
    ASSERT_EQ(c.size, 3u);
    EXPECT_EQ(c.data[2].id, 2);
    EXPECT_EQ(c.data[2].logit, -INFINITY);
  }
  std::mt19937 rng(7);
  for (int trial = 0; trial < 600; ++trial) {
    const int32_t n = trial < 500 ? 2 + int32_t(rng() % 90) : 5000 + int32_t(rng() % 3000);
    const int levels = 1 + int(rng() % 9);              // few levels: many ties
    const uint32_t special = trial % 2 == 0 ? 100 : 8;  // NaN / -inf / +inf 1 in this
    std::vector<float> logits(static_cast<size_t>(n));
    for (float& x : logits) {
      const uint32_t r = rng() % special;
      x = r == 0                     ? NAN
          : r == 1                   ? -INFINITY
          : r == 2 && trial % 3 == 0 ? INFINITY
                                     : float(int(rng() % levels) - 3);
    }
    std::vector<int32_t> count(static_cast<size_t>(n), 0), ids;
    const bool penalize = trial % 5 != 0;
    if (penalize)
      for (int j = 0, m = int(rng() % uint32_t(n / 2 + 1)); j < m; ++j) {
        const int32_t id = int32_t(rng() % uint32_t(n));
        if (count[id]++ == 0) ids.push_back(id);
      }
    Penalties pen;
    if (penalize) {
      pen = trial % 3 == 0 ? Penalties{count.data(), ids.data(), ids.size(), 1.3f, 0.25f, 0.5f}
                           : Penalties{count.data(), ids.data(), ids.size(), 1.0f, 1.0f, 0.0f};
    }
    std::vector<int> ks;
    for (int k = 1; k < n; ++k) ks.push_back(k);
    if (n > 100) ks = {1, 2, 40, 64, n - 1};
    for (int k : ks) {
      std::vector<TokenCandidate> want_buf(static_cast<size_t>(n)), got_buf(static_cast<size_t>(n));
      Candidates want = candidates_from_logits(logits.data(), n, want_buf.data());
      if (penalize) apply_penalties(want, count.data(), pen.repeat, pen.presence, pen.frequency);
      apply_top_k(want, k);
      const Candidates got = top_k_from_logits(logits.data(), n, k, pen, got_buf.data());
      ASSERT_TRUE(got.sorted);
      ASSERT_EQ(got.size, want.size) << "n=" << n << " k=" << k;
      for (size_t i = 0; i < got.size; ++i) {
        ASSERT_EQ(got.data[i].id, want.data[i].id) << "trial " << trial << " k=" << k << " i=" << i;
        ASSERT_EQ(got.data[i].logit, want.data[i].logit) << "trial " << trial << " i=" << i;
      }
    }
  }
}

}  // namespace
}  // namespace silica

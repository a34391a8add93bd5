// Grammar constraint: the trie-walk mask equals a per-token reference, EOG only when complete,
// partial UTF-8 across tokens, and apply() over a candidate array.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "grammar_test_util.h"
#include "sample/grammar_constraint.h"
#include "sample/json_schema.h"

namespace silica {
namespace {

constexpr int kStepsChecked = 200;

std::shared_ptr<const Grammar> grammar_of(const std::string& text) {
  auto g = parse_grammar(text);
  EXPECT_TRUE(g.ok()) << g.message();
  return std::make_shared<const Grammar>(std::move(*g));
}

bool bit(const std::vector<uint64_t>& mask, int32_t id) {
  return (mask[size_t(id) >> 6] >> (id & 63)) & 1;
}

std::vector<std::string> mixed_vocab() {
  std::vector<std::string> v;
  for (int c = 0x20; c < 0x7F; ++c) v.push_back(std::string(1, char(c)));
  for (const char* p :
       {"\n",    "\n  ",     "{\"",    "\":",   "\",",      "\"}",  "true",
        "false", "null",     "12",     "0.5",   "-1",       "e+",   "\\u00e9",
        "\\\"",  "\xC3\xA9", "\xC3",   "\xA9",  "\xE2\x82", "\xAC", "\xE2\x82\xAC\"",
        "\x80",  "\xFF",     "ab\xC3", "\"\xC3"}) {
    v.push_back(p);
  }
  v.push_back("");  // control token
  v.push_back("");  // EOG
  return v;
}

// Reference for one token: a fresh matcher fed the whole text plus the token, for tokens that
// leave the text at a character boundary (the others are covered by allows()).
bool reference_allows(const std::shared_ptr<const Grammar>& g, const std::string& text,
                      const std::string& piece) {
  GrammarMatcher m(g);
  return m.accept_string(text + piece);
}

bool ends_on_boundary(const std::string& s) {
  // The last character is complete if no lead byte is waiting for continuation bytes.
  size_t i = s.size(), k = 0;
  while (i > 0 && (uint8_t(s[i - 1]) & 0xC0) == 0x80 && k < 4) --i, ++k;
  if (i == 0) return k == 0;
  const auto b = uint8_t(s[i - 1]);
  const size_t need = b < 0x80         ? 0
                      : (b >> 5) == 6  ? 1
                      : (b >> 4) == 14 ? 2
                      : (b >> 3) == 30 ? 3
                                       : 9;
  return need == k;
}

TEST(GrammarConstraint, MaskEqualsPerTokenReference) {
  auto gr = json_grammar();
  ASSERT_TRUE(gr.ok()) << gr.message();
  auto g = std::make_shared<const Grammar>(std::move(*gr));
  const std::vector<std::string> pieces = mixed_vocab();
  const int32_t eog = int32_t(pieces.size()) - 1, control = eog - 1;
  GrammarConstraint c(g, pieces, std::vector<int32_t>{eog});
  Rng rng(42);
  std::string text;
  for (int step = 0; step < kStepsChecked; ++step) {
    const std::vector<uint64_t> mask = c.allowed_mask();
    std::vector<int32_t> allowed;
    for (int32_t id = 0; id < c.n_vocab(); ++id) {
      ASSERT_EQ(bit(mask, id), c.allows(id)) << "token " << id << " after: " << text;
      if (id != eog && id != control && ends_on_boundary(text + pieces[size_t(id)])) {
        ASSERT_EQ(bit(mask, id), reference_allows(g, text, pieces[size_t(id)]))
            << "token '" << pieces[size_t(id)] << "' after: " << text;
      }
      if (bit(mask, id)) allowed.push_back(id);
    }
    EXPECT_FALSE(bit(mask, control));
    EXPECT_EQ(bit(mask, eog), c.is_complete());
    ASSERT_FALSE(allowed.empty()) << text;
    const int32_t t = allowed[size_t(rng.uniform() * double(allowed.size()))];
    if (t == eog) {
      c.reset();
      text.clear();
      continue;
    }
    ASSERT_TRUE(c.accept(t));
    text += pieces[size_t(t)];
  }
}

TEST(GrammarConstraint, PartialUtf8AcrossTokens) {
  auto g = grammar_of(R"(root ::= "é€" [a-z])");
  const std::vector<std::string> pieces = {"\xC3",
                                           "\xA9\xE2",
                                           "\x82",
                                           "\xAC",
                                           "\xC3\xA9",
                                           "a",
                                           "\xE2\x82\xAC",
                                           "\xAC"
                                           "b",
                                           "\xC4",
                                           ""};
  GrammarConstraint c(g, pieces, std::vector<int32_t>{9});
  EXPECT_TRUE(c.allows(0));
  EXPECT_TRUE(c.allows(4));
  EXPECT_FALSE(c.allows(8));  // U+0100.. cannot become é: pruned at the lead byte
  EXPECT_FALSE(c.allows(2));  // a continuation byte with no lead
  EXPECT_FALSE(c.allows(5));
  ASSERT_TRUE(c.accept(0));  // C3: inside é
  EXPECT_FALSE(c.is_complete());
  EXPECT_TRUE(c.allows(1));
  EXPECT_FALSE(c.allows(0));
  ASSERT_TRUE(c.accept(1));  // A9 E2: é done, inside €
  EXPECT_TRUE(c.allows(2));
  EXPECT_FALSE(c.allows(3));
  ASSERT_TRUE(c.accept(2));
  EXPECT_TRUE(c.allows(7));  // AC then "b"
  EXPECT_FALSE(c.allows(9));
  ASSERT_TRUE(c.accept(7));
  EXPECT_TRUE(c.is_complete());
  EXPECT_TRUE(c.allows(9));
  const std::vector<uint64_t>& mask = c.allowed_mask();
  for (int32_t id = 0; id < 9; ++id) EXPECT_FALSE(bit(mask, id)) << id;
}

TEST(GrammarConstraint, RejectedTokenLeavesStateUnchanged) {
  auto g = grammar_of(R"(root ::= "ab")");
  const std::vector<std::string> pieces = {"a", "b", "ax", "", "abb"};
  GrammarConstraint c(g, pieces, std::vector<int32_t>{3});
  EXPECT_FALSE(c.accept(2));
  EXPECT_FALSE(c.accept(3));  // EOG before the match is complete
  EXPECT_FALSE(c.accept(4));
  ASSERT_TRUE(c.accept(0));
  ASSERT_TRUE(c.accept(1));
  EXPECT_TRUE(c.accept(3));
}

TEST(GrammarConstraint, ApplyMasksCandidates) {
  auto g = grammar_of(R"(root ::= "a" | "bc")");
  const std::vector<std::string> pieces = {"a", "b", "c", "bc", "ab", ""};
  GrammarConstraint c(g, pieces, std::vector<int32_t>{5});
  std::vector<TokenCandidate> cands;
  for (int32_t id = 5; id >= 0; --id) cands.push_back({id, float(id), 0.0f});  // any order
  c.apply(cands.data(), cands.size());
  for (const TokenCandidate& k : cands) {
    const bool want = k.id == 0 || k.id == 1 || k.id == 3;
    EXPECT_EQ(std::isinf(k.logit) && k.logit < 0, !want) << k.id;
  }
  std::vector<float> logits(6, 1.0f);
  ASSERT_TRUE(c.accept(0));
  c.apply_to_logits(logits.data());
  for (int32_t id = 0; id < 5; ++id) EXPECT_TRUE(std::isinf(logits[size_t(id)])) << id;
  EXPECT_EQ(logits[5], 1.0f);
}

TEST(GrammarConstraint, SampleConstrainedNeverLeavesTheGrammar) {
  auto g = grammar_of(R"(root ::= [0-9]{3} "!")");
  std::vector<std::string> pieces;
  for (int c = 0x20; c < 0x7F; ++c) pieces.push_back(std::string(1, char(c)));
  pieces.push_back("");
  const int32_t eog = int32_t(pieces.size()) - 1;
  GrammarConstraint c(g, pieces, std::vector<int32_t>{eog});
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    test::Generation gen = test::generate_random(c, pieces, {eog}, seed, 10);
    ASSERT_TRUE(gen.error.empty()) << gen.error;
    ASSERT_TRUE(gen.finished);
    ASSERT_EQ(gen.text.size(), 4u);
    EXPECT_EQ(gen.text[3], '!');
  }
}

TEST(GrammarMatcher, MinCompletionBytesFollowsTheText) {
  auto g = grammar_of(R"(root ::= "ab" [0-9]+ ("c" | "\u00e9\u00e9"))");
  GrammarMatcher m(g);
  EXPECT_EQ(m.min_completion_bytes(m.stacks()), 4u);  // "ab", a digit, "c"
  ASSERT_TRUE(m.accept_string("ab12"));
  EXPECT_EQ(m.min_completion_bytes(m.stacks()), 1u);
  ASSERT_TRUE(m.accept_string("c"));
  EXPECT_EQ(m.min_completion_bytes(m.stacks()), 0u);
  auto only_wide = grammar_of(R"(root ::= [\u00e0-\u00ff] "x")");
  GrammarMatcher w(only_wide);
  EXPECT_EQ(w.min_completion_bytes(w.stacks()), 3u);  // a two-byte character, then "x"
}

// A model that knows nothing, drawing at temperature 1 under the JSON grammar with a token
// budget: every generation must end with complete JSON within the budget. Without the budget
// some of the same generations run out, so the test shows the budget is what closes them.
TEST(GrammarConstraint, BudgetClosesJsonInTime) {
  auto json = json_grammar();
  ASSERT_TRUE(json.ok()) << json.message();
  auto g = std::make_shared<const Grammar>(std::move(*json));
  const std::vector<std::string> pieces = mixed_vocab();
  const int32_t eog = int32_t(pieces.size()) - 1;
  GrammarConstraint c(g, pieces, std::vector<int32_t>{eog});
  constexpr int kSeeds = 40;
  for (const int64_t limit : {6, 16, 48}) {
    int unfinished_without_budget = 0;
    for (const bool use_budget : {true, false}) {
      for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
        Sampler sampler(test::random_model_params(seed), c.n_vocab());
        Rng rng(seed * 104729 + uint64_t(limit));
        std::vector<float> logits(size_t(c.n_vocab())), scratch;
        c.reset();
        std::string text;
        bool finished = false;
        for (int64_t n = 0; n < limit && !finished;) {
          for (float& l : logits) l = float(4.0 * rng.uniform());
          const int32_t t =
              sample_constrained(sampler, c, logits.data(), scratch, use_budget ? limit - n : -1);
          ASSERT_GE(t, 0) << text;
          ASSERT_TRUE(c.accept(t)) << text;
          if (t == eog) {
            finished = true;
          } else {
            text += pieces[size_t(t)], ++n;
            finished = c.is_finished();
          }
        }
        if (!use_budget) {
          unfinished_without_budget += !finished;
          continue;
        }
        ASSERT_TRUE(finished) << "limit " << limit << ", seed " << seed << ": " << text;
        EXPECT_NO_THROW((void)nlohmann::json::parse(text)) << text;
      }
    }
    EXPECT_GT(unfinished_without_budget, 0) << "limit " << limit << " never binds";
  }
}

}  // namespace
}  // namespace silica

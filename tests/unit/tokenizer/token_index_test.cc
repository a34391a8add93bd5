#include "tokenizer/token_index.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace silica {
namespace {

using namespace std::string_literals;

TEST(TokenIndex, FindsEveryTextAndNothingElse) {
  // Texts that share their first 8 bytes and differ after, or only in length, or hold NULs
  // (the slot's zero padding must not make "a" equal "a\0").
  const std::vector<std::string> tokens = {
      "a",        "a\0"s,      "",        "ĠHello", "ĠHelloWorld", "ĠHelloWorle",
      "12345678", "123456789", "1234567", "<0x0A>", "\0\0"s,       "ĠHelloWorld!"};
  const TokenIndex index(tokens);
  for (size_t i = 0; i < tokens.size(); ++i) EXPECT_EQ(index.find(tokens[i]), int32_t(i)) << i;
  for (const std::string& absent :
       {"b"s, "a\0\0"s, "ĠHelloWorlc"s, "1234567890"s, "\0"s, "ĠHelloWorld!!"s, "123456780"s})
    EXPECT_EQ(index.find(absent), -1) << absent;
}

TEST(TokenIndex, TheLaterOfTwoEqualTextsWins) {
  const TokenIndex index(
      std::vector<std::string>{"x", "long enough text", "x", "long enough text"});
  EXPECT_EQ(index.find("x"), 2);
  EXPECT_EQ(index.find("long enough text"), 3);
}

TEST(TokenIndex, EmptyIndexFindsNothing) {
  const TokenIndex index;
  EXPECT_EQ(index.find("a"), -1);
  std::string_view t[] = {"a", ""};
  int32_t ids[2] = {7, 7};
  index.find_batch(t, 2, ids);
  EXPECT_EQ(ids[0], -1);
  EXPECT_EQ(ids[1], -1);
}

TEST(TokenIndex, BatchedLookupsEqualSingleOnes) {
  std::mt19937 rng(5);
  std::vector<std::string> tokens;
  for (int i = 0; i < 5000; ++i) {
    std::string s(1 + rng() % 20, ' ');
    for (char& c : s) c = char('a' + rng() % 4);  // a small alphabet: many near-equal texts
    tokens.push_back(s);
  }
  const TokenIndex index(tokens);
  std::vector<std::string> queries(tokens.begin(), tokens.begin() + 1000);
  for (int i = 0; i < 1000; ++i) queries.push_back(tokens[size_t(i)] + "b");  // mostly absent
  std::vector<std::string_view> views(queries.begin(), queries.end());
  std::vector<int32_t> ids(views.size());
  index.find_batch(views.data(), views.size(), ids.data());
  int found = 0;
  for (size_t i = 0; i < views.size(); ++i) {
    ASSERT_EQ(ids[i], index.find(views[i])) << views[i];
    if (ids[i] >= 0) {
      EXPECT_EQ(tokens[size_t(ids[i])], queries[i]);
      ++found;
    }
  }
  EXPECT_GE(found, 1000);
}

TEST(PairTable, FirstValueStaysAndTheTableGrowsPastItsEstimate) {
  PairTable<int> t(4);
  EXPECT_TRUE(t.insert(1, 2, 10));
  EXPECT_FALSE(t.insert(1, 2, 11));
  EXPECT_TRUE(t.insert(2, 1, 12));
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(t.insert(100 + i, i, i));
  ASSERT_NE(t.find(1, 2), nullptr);
  EXPECT_EQ(*t.find(1, 2), 10);
  EXPECT_EQ(*t.find(2, 1), 12);
  for (int i = 0; i < 1000; ++i) ASSERT_NE(t.find(100 + i, i), nullptr) << i;
  EXPECT_EQ(*t.find(1099, 999), 999);
  EXPECT_EQ(t.find(2, 2), nullptr);
  EXPECT_EQ(t.find(-1, 2), nullptr);
  EXPECT_EQ(t.find(0, -1), nullptr);
}

}  // namespace
}  // namespace silica

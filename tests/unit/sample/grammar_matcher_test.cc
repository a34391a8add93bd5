// Grammar matcher: accept/reject tables, prefixes vs full matches, state growth on JSON.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "sample/grammar.h"
#include "sample/grammar_matcher.h"
#include "sample/json_schema.h"

namespace silica {
namespace {

// Live stacks for one position of the JSON grammar stay few (no ambiguity blow-up).
constexpr size_t kMaxJsonStacks = 16;

std::shared_ptr<const Grammar> grammar_of(const std::string& text) {
  auto g = parse_grammar(text);
  EXPECT_TRUE(g.ok()) << g.message();
  return std::make_shared<const Grammar>(std::move(*g));
}

enum class Verdict { kReject, kPrefix, kComplete };

Verdict classify(std::shared_ptr<const Grammar> g, const std::string& text) {
  GrammarMatcher m(std::move(g));
  if (!m.accept_string(text)) return Verdict::kReject;
  return m.is_complete() ? Verdict::kComplete : Verdict::kPrefix;
}

struct Row {
  const char* text;
  Verdict want;
};

TEST(GrammarMatcher, ArithmeticTable) {
  auto g = grammar_of(R"g(
root ::= expr
expr ::= term (("+" | "-") term)*
term ::= num | "(" expr ")"
num  ::= [0-9]+
)g");
  const Row rows[] = {
      {"1", Verdict::kComplete},
      {"12+3", Verdict::kComplete},
      {"(1-2)+3", Verdict::kComplete},
      {"", Verdict::kPrefix},
      {"(1", Verdict::kPrefix},
      {"1+", Verdict::kPrefix},
      {"+", Verdict::kReject},
      {"1)", Verdict::kReject},
      {"(1))", Verdict::kReject},
      {"1 + 2", Verdict::kReject},
      {"((((((9))))))", Verdict::kComplete},
  };
  for (const Row& r : rows) EXPECT_EQ(classify(g, r.text), r.want) << r.text;
}

TEST(GrammarMatcher, RejectLeavesStateUnchanged) {
  GrammarMatcher m(grammar_of(R"(root ::= "ab" | "ac")"));
  ASSERT_TRUE(m.accept_codepoint('a'));
  EXPECT_FALSE(m.accept_codepoint('x'));
  EXPECT_TRUE(m.accept_codepoint('c'));
  EXPECT_TRUE(m.is_complete());
  EXPECT_FALSE(m.can_continue());
  m.reset();
  EXPECT_FALSE(m.is_complete());
  EXPECT_TRUE(m.accept_string("ab"));
  EXPECT_TRUE(m.is_complete());
}

TEST(GrammarMatcher, InvalidUtf8IsRejected) {
  GrammarMatcher m(grammar_of(R"(root ::= .*)"));
  EXPECT_TRUE(m.accept_string("\xC3\xA9"));
  EXPECT_FALSE(m.accept_string("\xC3"));  // truncated
  EXPECT_FALSE(m.accept_string("\x80"));  // stray continuation
  EXPECT_TRUE(m.accept_string("\xE2\x82\xAC"));
}

TEST(GrammarMatcher, JsonTable) {
  auto g = json_grammar();
  ASSERT_TRUE(g.ok()) << g.message();
  auto shared = std::make_shared<const Grammar>(std::move(*g));
  const Row rows[] = {
      {R"({})", Verdict::kComplete},
      {R"({"a":1})", Verdict::kComplete},
      {R"({"a": [1, 2.5e3, -0.1, true, false, null, "x\"\u00e9"], "b": {"c": {}}})",
       Verdict::kComplete},
      {"{\n  \"a\": 1\n}", Verdict::kComplete},
      {R"({"a":)", Verdict::kPrefix},
      {R"({"a":1,)", Verdict::kPrefix},
      {R"([1])", Verdict::kReject},  // format "json" wants an object at the top
      {R"({"a":01})", Verdict::kReject},
      {R"({"a":1,})", Verdict::kReject},
      {R"({'a':1})", Verdict::kReject},
      {R"({"a":tru})", Verdict::kReject},
      {"{\"a\":\"line\nbreak\"}", Verdict::kReject},
      {R"({"a":"\x"})", Verdict::kReject},
      {"{  \"a\":1}", Verdict::kReject},    // whitespace runs are bounded: one space at most
      {"{\n\n\"a\":1}", Verdict::kReject},  // one newline per gap
      {R"({} )", Verdict::kReject},         // nothing after the top-level value
      {R"({"a":12345678901234567})", Verdict::kReject},  // at most 16 integer digits
  };
  for (const Row& r : rows) EXPECT_EQ(classify(shared, r.text), r.want) << r.text;
}

TEST(GrammarMatcher, JsonStacksStaySmallWhenDeep) {
  auto g = json_grammar();
  ASSERT_TRUE(g.ok()) << g.message();
  GrammarMatcher m(std::make_shared<const Grammar>(std::move(*g)));
  std::string text = "{\"a\": ";
  for (int i = 0; i < 200; ++i) text += "[ {\"k\" : ";
  text += "1";
  for (int i = 0; i < 200; ++i) text += " } ]";
  ASSERT_TRUE(m.accept_string("{\"a\": "));
  for (size_t i = 6; i < text.size(); ++i) {
    ASSERT_TRUE(m.accept_codepoint(uint8_t(text[i]))) << "at byte " << i;
    ASSERT_LE(m.stacks().size(), kMaxJsonStacks) << "at byte " << i;
  }
  ASSERT_TRUE(m.accept_codepoint('}'));
  EXPECT_TRUE(m.is_complete());
}

}  // namespace
}  // namespace silica

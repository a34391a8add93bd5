// GBNF parsing: accepted syntax (checked through what the grammar matches) and error positions.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "sample/grammar.h"
#include "sample/grammar_matcher.h"

namespace silica {
namespace {

// Full-match test of `text` against a grammar given as GBNF source.
bool full_match(const std::string& gbnf, const std::string& text) {
  auto g = parse_grammar(gbnf);
  EXPECT_TRUE(g.ok()) << g.message();
  if (!g.ok()) return false;
  GrammarMatcher m(std::make_shared<const Grammar>(std::move(*g)));
  return m.accept_string(text) && m.is_complete();
}

TEST(GrammarParser, LiteralsSequencesAlternatives) {
  const std::string g = R"(root ::= "ab" c | "x"
c ::= "c")";
  EXPECT_TRUE(full_match(g, "abc"));
  EXPECT_TRUE(full_match(g, "x"));
  EXPECT_FALSE(full_match(g, "ab"));
  EXPECT_FALSE(full_match(g, "abcx"));
  EXPECT_FALSE(full_match(g, ""));
}

TEST(GrammarParser, MultiLineRulesAndComments) {
  const std::string g = R"(# leading comment
root ::= a    # trailing comment
   | b
a ::= "a"
  "A"
b::="b")";
  EXPECT_TRUE(full_match(g, "aA"));
  EXPECT_TRUE(full_match(g, "b"));
  EXPECT_FALSE(full_match(g, "a"));
}

TEST(GrammarParser, Repetition) {
  EXPECT_TRUE(full_match(R"(root ::= "a"*)", ""));
  EXPECT_TRUE(full_match(R"(root ::= "a"*)", "aaaa"));
  EXPECT_FALSE(full_match(R"(root ::= "a"+)", ""));
  EXPECT_TRUE(full_match(R"(root ::= "a"+)", "aaa"));
  EXPECT_TRUE(full_match(R"(root ::= "ab"? "c")", "abc"));
  EXPECT_TRUE(full_match(R"(root ::= "ab"? "c")", "c"));
  EXPECT_FALSE(full_match(R"(root ::= "ab"? "c")", "ac"));
  const std::string r = R"(root ::= [0-9]{2,4})";
  EXPECT_FALSE(full_match(r, "1"));
  EXPECT_TRUE(full_match(r, "12"));
  EXPECT_TRUE(full_match(r, "1234"));
  EXPECT_FALSE(full_match(r, "12345"));
  EXPECT_TRUE(full_match(R"(root ::= "x"{3})", "xxx"));
  EXPECT_FALSE(full_match(R"(root ::= "x"{3})", "xx"));
  EXPECT_TRUE(full_match(R"(root ::= "x"{2,} "y")", "xxxxy"));
  EXPECT_FALSE(full_match(R"(root ::= "x"{2,} "y")", "xy"));
  EXPECT_TRUE(full_match(R"(root ::= ("a" | "b")* "c")", "abbac"));
}

TEST(GrammarParser, ClassesEscapesAndAny) {
  EXPECT_TRUE(full_match(R"(root ::= [a-cx])", "b"));
  EXPECT_TRUE(full_match(R"(root ::= [a-cx])", "x"));
  EXPECT_FALSE(full_match(R"(root ::= [a-cx])", "d"));
  EXPECT_TRUE(full_match(R"(root ::= [^"\\]+)", "ab c"));
  EXPECT_FALSE(full_match(R"(root ::= [^"\\]+)", "a\"b"));
  EXPECT_FALSE(full_match(R"(root ::= [^"\\]+)", "a\\b"));
  EXPECT_TRUE(full_match(R"(root ::= "\n\t\"\\")", "\n\t\"\\"));
  EXPECT_TRUE(full_match(R"(root ::= "\x41\u00e9\U0001F600")", "A\xC3\xA9\xF0\x9F\x98\x80"));
  EXPECT_TRUE(full_match(R"(root ::= . .)", "\xC3\xA9z"));
  EXPECT_TRUE(full_match(R"(root ::= [а-я]+)", "привет"));  // UTF-8 in the grammar text
  EXPECT_FALSE(full_match(R"(root ::= [а-я]+)", "hello"));
  EXPECT_TRUE(full_match(R"(root ::= [\]\-])", "]"));
  EXPECT_TRUE(full_match(R"(root ::= [\]\-])", "-"));
  EXPECT_TRUE(full_match(R"(root ::= [^\x00-\x1f])", "\xE2\x82\xAC"));
}

struct BadCase {
  const char* text;
  const char* message_part;  // a substring the error must contain (with line/column)
};

TEST(GrammarParser, ErrorsNameLineAndColumn) {
  const BadCase cases[] = {
      {"root ::= \"abc", "unterminated string literal at line 1, column 10"},
      {"root ::= [a-z", "unterminated character class at line 1, column 10"},
      {"root ::= a\na ::= (\"x\" | \"y\"", "unclosed '(' at line 2, column 7"},
      {"root ::= foo", "undefined rule 'foo' (used at line 1, column 10)"},
      {"root ::= \"a\"\nroot ::= \"b\"", "rule 'root' is defined twice at line 2, column 1"},
      {"root ::= \"\\q\"", "unknown escape '\\q' at line 1, column 11"},
      {"root ::= [z-a]", "end before its start at line 1, column 11"},
      {"root ::= \"a\"{3,1}", "n < m at line 1, column 13"},
      {"root ::= \"a\"{x}", "expected a number in '{m,n}' at line 1, column 14"},
      {"x ::= \"a\"", "no rule named 'root'"},
      {"root \"a\"", "expected '::=' after 'root' at line 1, column 6"},
      {"root ::= \"a\" )", "unexpected ')' at line 1, column 14"},
      {"root ::= \"\\x4\"", "expected 2 hex digits at line 1, column 14"},
      {"root ::= expr\nexpr ::= expr \"+\" \"1\" | \"1\"", "left recursion (expr -> expr)"},
      {"root ::= (\"\")*", "left recursion"},
      {"root ::= a\na ::= b? a \"x\"\nb ::= \"b\"", "left recursion (a -> a)"},
  };
  for (const BadCase& c : cases) {
    auto g = parse_grammar(c.text);
    ASSERT_FALSE(g.ok()) << c.text;
    EXPECT_NE(g.message().find(c.message_part), std::string::npos)
        << "input: " << c.text << "\nmessage: " << g.message();
  }
}

TEST(GrammarParser, OtherStartRule) {
  auto g = parse_grammar("start ::= \"s\"", "start");
  ASSERT_TRUE(g.ok()) << g.message();
  EXPECT_EQ(g->rule_names[g->root], "start");
}

}  // namespace
}  // namespace silica

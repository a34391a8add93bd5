// GBNF-style grammars: text -> flat rules whose terminals are sets of Unicode code points.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace silica {

enum class GrammarOp : uint8_t {
  kEnd,    // end of an alternative
  kChars,  // one code point from a set
  kRef,    // a nonterminal
};

struct CodepointRange {
  uint32_t lo, hi;  // inclusive
};

struct GrammarElement {
  GrammarOp op = GrammarOp::kEnd;
  bool negated = false;                     // kChars: matches what is NOT in the ranges
  uint32_t ref = 0;                         // kRef: rule id
  uint32_t range_begin = 0, range_end = 0;  // kChars: [begin, end) into Grammar::ranges
  uint64_t ascii[2] = {0, 0};  // kChars: membership of code points < 128, negation applied
};

// Every alternative is a run of elements in `elems` ended by a kEnd element. Groups, repetitions
// and literals are already lowered: repetition is right recursion, so no rule is left-recursive
// (parse_grammar rejects grammars that are).
struct Grammar {
  std::vector<std::string> rule_names;           // [n_rules]
  std::vector<std::vector<uint32_t>> rule_alts;  // [n_rules][n_alts] first element of each alt
  std::vector<GrammarElement> elems;             // [n_elems]
  std::vector<CodepointRange> ranges;            // [n_ranges]
  uint32_t root = 0;

  bool matches(const GrammarElement& e, uint32_t cp) const {
    if (cp < 128) return (e.ascii[cp >> 6] >> (cp & 63)) & 1;
    bool in = false;
    for (uint32_t i = e.range_begin; i < e.range_end && !in; ++i) {
      in = ranges[i].lo <= cp && cp <= ranges[i].hi;
    }
    return in != e.negated;
  }
  // True if some code point in [lo, hi] may match e (used to prune partial UTF-8 sequences).
  bool may_match_range(const GrammarElement& e, uint32_t lo, uint32_t hi) const;
  size_t n_rules() const { return rule_names.size(); }
};

// Parses GBNF text: `name ::= alternatives`, with `|`, sequences, groups `( )`, `* + ?`,
// `{m}` `{m,}` `{m,n}`, "literals" with escapes (\n \r \t \\ \" \xHH \uHHHH \UHHHHHHHH),
// [classes] and [^negated] classes with ranges, `.` (any code point) and # comments. A rule may
// span lines; it ends where the next `name ::=` starts. Errors name the line and column.
// `root` is the start rule.
Expected<Grammar> parse_grammar(std::string_view text, std::string_view root = "root");

}  // namespace silica

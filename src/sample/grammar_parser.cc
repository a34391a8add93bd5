// GBNF text -> Grammar: recursive descent, lowering of groups / repetition, left-recursion check.
#include <algorithm>
#include <limits>
#include <unordered_map>

#include "sample/grammar.h"

namespace silica {
namespace {

// Repetition bounds above this are almost certainly mistakes and would build huge grammars.
constexpr uint32_t kMaxRepeat = 100000;
constexpr uint32_t kUnbounded = std::numeric_limits<uint32_t>::max();
constexpr uint32_t kMaxCodepoint = 0x10FFFF;

struct Item {
  GrammarOp op = GrammarOp::kChars;
  bool negated = false;
  uint32_t ref = 0;
  std::vector<CodepointRange> ranges;
};
using Seq = std::vector<Item>;
using Alts = std::vector<Seq>;

struct RuleDef {
  std::string name;
  Alts alts;
  bool defined = false;
  size_t first_use = std::string_view::npos;  // byte offset of the first reference
};

Item chars_item(uint32_t cp) {
  return Item{GrammarOp::kChars, false, 0, {{cp, cp}}};
}
Item ref_item(uint32_t rule) {
  return Item{GrammarOp::kRef, false, rule, {}};
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

class Parser {
 public:
  explicit Parser(std::string_view text) : t_(text) {}

  Expected<Grammar> run(std::string_view root) {
    if (!parse_rules()) return Error{err_};
    for (const RuleDef& r : rules_) {
      if (!r.defined) {
        return make_error("grammar: undefined rule '{}' (used at {})", r.name, where(r.first_use));
      }
    }
    auto it = ids_.find(std::string(root));
    if (it == ids_.end()) return make_error("grammar: no rule named '{}' (the start rule)", root);
    Grammar g = flatten(it->second);
    SILICA_RETURN_IF_ERROR(check_left_recursion(g));
    return g;
  }

 private:
  // "line L, column C" of a byte offset (columns count bytes, from 1).
  std::string where(size_t pos) const {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos && i < t_.size(); ++i) {
      if (t_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return fmt::format("line {}, column {}", line, col);
  }

  bool fail(size_t pos, std::string_view msg) {
    if (err_.empty()) err_ = fmt::format("grammar: {} at {}", msg, where(pos));
    return false;
  }

  bool eof() const { return p_ >= t_.size(); }
  char peek(size_t ahead = 0) const { return p_ + ahead < t_.size() ? t_[p_ + ahead] : '\0'; }

  void skip_space() {
    while (!eof()) {
      char c = peek();
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++p_;
      } else if (c == '#') {
        while (!eof() && peek() != '\n') ++p_;
      } else {
        break;
      }
    }
  }

  std::string_view name_at(size_t pos) const {
    size_t e = pos;
    while (e < t_.size() && is_name_char(t_[e])) ++e;
    return t_.substr(pos, e - pos);
  }

  // True if a `name ::=` starts at the current position.
  bool at_rule_start() const {
    std::string_view name = name_at(p_);
    if (name.empty()) return false;
    size_t q = p_ + name.size();
    while (q < t_.size() && (t_[q] == ' ' || t_[q] == '\t')) ++q;
    return t_.substr(q, 3) == "::=";
  }

  uint32_t rule_id(std::string_view name, size_t use_pos) {
    auto [it, inserted] = ids_.emplace(std::string(name), uint32_t(rules_.size()));
    if (inserted) rules_.push_back(RuleDef{std::string(name), {}, false, use_pos});
    return it->second;
  }

  uint32_t new_rule(Alts alts) {
    std::string name = fmt::format("{}({})", rules_[current_].name, ++n_generated_);
    uint32_t id = rule_id(name, p_);
    rules_[id].alts = std::move(alts);
    rules_[id].defined = true;
    return id;
  }

  bool parse_rules() {
    skip_space();
    while (!eof()) {
      const size_t start = p_;
      std::string_view name = name_at(p_);
      if (name.empty()) return fail(p_, "expected a rule name");
      p_ += name.size();
      while (peek() == ' ' || peek() == '\t') ++p_;
      if (t_.substr(p_, 3) != "::=")
        return fail(p_, fmt::format("expected '::=' after '{}'", name));
      p_ += 3;
      current_ = rule_id(name, start);
      if (rules_[current_].defined) {
        return fail(start, fmt::format("rule '{}' is defined twice", name));
      }
      rules_[current_].defined = true;
      Alts alts;
      if (!parse_alternates(alts)) return false;
      rules_[current_].alts = std::move(alts);
      skip_space();
      if (!eof() && !at_rule_start()) {
        return fail(p_, fmt::format("unexpected '{}'", peek()));
      }
    }
    return true;
  }

  bool parse_alternates(Alts& alts) {
    while (true) {
      Seq seq;
      if (!parse_sequence(seq)) return false;
      alts.push_back(std::move(seq));
      skip_space();
      if (peek() != '|') return true;
      ++p_;
    }
  }

  bool parse_sequence(Seq& seq) {
    while (true) {
      skip_space();
      if (eof() || peek() == '|' || peek() == ')' || at_rule_start()) return true;
      Seq unit;
      if (!parse_atom(unit)) return false;
      if (!parse_postfix(unit)) return false;
      for (Item& it : unit) seq.push_back(std::move(it));
    }
  }

  bool parse_atom(Seq& unit) {
    const size_t start = p_;
    const char c = peek();
    if (c == '"') return parse_literal(unit);
    if (c == '[') return parse_class(unit);
    if (c == '.') {
      ++p_;
      unit.push_back(Item{GrammarOp::kChars, false, 0, {{0, kMaxCodepoint}}});
      return true;
    }
    if (c == '(') {
      ++p_;
      Alts alts;
      if (!parse_alternates(alts)) return false;
      skip_space();
      if (peek() != ')') return fail(start, "unclosed '('");
      ++p_;
      unit.push_back(ref_item(new_rule(std::move(alts))));
      return true;
    }
    std::string_view name = name_at(p_);
    if (name.empty()) return fail(p_, fmt::format("unexpected '{}'", c));
    p_ += name.size();
    unit.push_back(ref_item(rule_id(name, start)));
    return true;
  }

  // One UTF-8 code point of the grammar text itself.
  bool read_utf8(uint32_t& cp) {
    const auto b0 = uint8_t(peek());
    int n = b0 < 0x80 ? 0 : (b0 >> 5) == 6 ? 1 : (b0 >> 4) == 14 ? 2 : (b0 >> 3) == 30 ? 3 : -1;
    if (n < 0) return fail(p_, "invalid UTF-8");
    cp = n == 0 ? b0 : n == 1 ? (b0 & 0x1F) : n == 2 ? (b0 & 0x0F) : (b0 & 0x07);
    ++p_;
    for (int i = 0; i < n; ++i) {
      const auto b = uint8_t(peek());
      if ((b >> 6) != 2) return fail(p_, "invalid UTF-8");
      cp = (cp << 6) | (b & 0x3F);
      ++p_;
    }
    return true;
  }

  bool read_hex(int digits, uint32_t& cp) {
    cp = 0;
    for (int i = 0; i < digits; ++i) {
      char h = peek();
      int v = (h >= '0' && h <= '9')   ? h - '0'
              : (h >= 'a' && h <= 'f') ? h - 'a' + 10
              : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                       : -1;
      if (v < 0) return fail(p_, fmt::format("expected {} hex digits", digits));
      cp = cp * 16 + uint32_t(v);
      ++p_;
    }
    if (cp > kMaxCodepoint) return fail(p_, "code point above U+10FFFF");
    return true;
  }

  // A literal or class character, with escapes.
  bool read_char(uint32_t& cp) {
    if (peek() != '\\') return read_utf8(cp);
    const size_t start = p_;
    ++p_;
    const char e = peek();
    ++p_;
    switch (e) {
      case 'n':
        cp = '\n';
        return true;
      case 'r':
        cp = '\r';
        return true;
      case 't':
        cp = '\t';
        return true;
      case '0':
        cp = 0;
        return true;
      case '\\':
      case '"':
      case '\'':
      case '[':
      case ']':
      case '-':
      case '^':
      case '/':
        cp = uint8_t(e);
        return true;
      case 'x':
        return read_hex(2, cp);
      case 'u':
        return read_hex(4, cp);
      case 'U':
        return read_hex(8, cp);
      default:
        return fail(start, fmt::format("unknown escape '\\{}'", e));
    }
  }

  bool parse_literal(Seq& unit) {
    const size_t start = p_;
    ++p_;
    while (true) {
      if (eof() || peek() == '\n') return fail(start, "unterminated string literal");
      if (peek() == '"') break;
      uint32_t cp;
      if (!read_char(cp)) return false;
      unit.push_back(chars_item(cp));
    }
    ++p_;
    // An empty literal "" matches the empty string: an empty unit.
    return true;
  }

  bool parse_class(Seq& unit) {
    const size_t start = p_;
    ++p_;
    Item item;
    if (peek() == '^') {
      item.negated = true;
      ++p_;
    }
    while (true) {
      if (eof() || peek() == '\n') return fail(start, "unterminated character class");
      if (peek() == ']') break;
      const size_t at = p_;
      uint32_t lo, hi;
      if (!read_char(lo)) return false;
      hi = lo;
      if (peek() == '-' && peek(1) != ']' && peek(1) != '\0') {
        ++p_;
        if (!read_char(hi)) return false;
        if (hi < lo) return fail(at, "character range with its end before its start");
      }
      item.ranges.push_back({lo, hi});
    }
    ++p_;
    if (item.ranges.empty() && !item.negated) return fail(start, "empty character class");
    unit.push_back(std::move(item));
    return true;
  }

  bool read_count(uint32_t& n) {
    const size_t start = p_;
    uint64_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      v = v * 10 + uint64_t(peek() - '0');
      if (v > kMaxRepeat) return fail(start, fmt::format("repetition count above {}", kMaxRepeat));
      ++p_;
    }
    if (p_ == start) return fail(p_, "expected a number in '{m,n}'");
    n = uint32_t(v);
    return true;
  }

  bool parse_postfix(Seq& unit) {
    while (true) {
      const char c = peek();
      uint32_t lo = 0, hi = 0;
      const size_t start = p_;
      if (c == '*') {
        lo = 0, hi = kUnbounded, ++p_;
      } else if (c == '+') {
        lo = 1, hi = kUnbounded, ++p_;
      } else if (c == '?') {
        lo = 0, hi = 1, ++p_;
      } else if (c == '{') {
        ++p_;
        skip_space();
        if (!read_count(lo)) return false;
        skip_space();
        hi = lo;
        if (peek() == ',') {
          ++p_;
          skip_space();
          hi = kUnbounded;
          if (peek() != '}' && !read_count(hi)) return false;
          skip_space();
        }
        if (peek() != '}') return fail(start, "unclosed '{'");
        ++p_;
        if (hi < lo) return fail(start, "repetition '{m,n}' with n < m");
      } else {
        return true;
      }
      repeat(unit, lo, hi);
    }
  }

  // unit{lo,hi} as: lo copies, then (hi - lo) nested optionals or a right-recursive star.
  void repeat(Seq& unit, uint32_t lo, uint32_t hi) {
    Item x = unit.size() == 1 ? unit[0] : ref_item(new_rule(Alts{unit}));
    Seq out;
    for (uint32_t i = 0; i < lo; ++i) out.push_back(x);
    if (hi == kUnbounded) {
      const uint32_t star = new_rule(Alts{});
      rules_[star].alts = Alts{Seq{x, ref_item(star)}, Seq{}};
      out.push_back(ref_item(star));
    } else if (hi > lo) {
      uint32_t opt = new_rule(Alts{Seq{x}, Seq{}});
      for (uint32_t k = 1; k < hi - lo; ++k) opt = new_rule(Alts{Seq{x, ref_item(opt)}, Seq{}});
      out.push_back(ref_item(opt));
    }
    unit = std::move(out);
  }

  Grammar flatten(uint32_t root) const {
    Grammar g;
    g.root = root;
    for (const RuleDef& r : rules_) {
      g.rule_names.push_back(r.name);
      std::vector<uint32_t> starts;
      for (const Seq& seq : r.alts) {
        starts.push_back(uint32_t(g.elems.size()));
        for (const Item& it : seq) g.elems.push_back(lower(g, it));
        g.elems.push_back(GrammarElement{});
      }
      g.rule_alts.push_back(std::move(starts));
    }
    return g;
  }

  static GrammarElement lower(Grammar& g, const Item& it) {
    GrammarElement e;
    e.op = it.op;
    e.ref = it.ref;
    e.negated = it.negated;
    if (it.op != GrammarOp::kChars) return e;
    // Sorted and merged, so a range lies outside a negated class exactly when one stored
    // range covers it (may_match_range relies on this).
    std::vector<CodepointRange> rs = it.ranges;
    std::sort(rs.begin(), rs.end(), [](auto a, auto b) { return a.lo < b.lo; });
    e.range_begin = uint32_t(g.ranges.size());
    for (const CodepointRange& r : rs) {
      if (g.ranges.size() > e.range_begin && r.lo <= g.ranges.back().hi + 1) {
        g.ranges.back().hi = std::max(g.ranges.back().hi, r.hi);
      } else {
        g.ranges.push_back(r);
      }
    }
    e.range_end = uint32_t(g.ranges.size());
    for (uint32_t cp = 0; cp < 128; ++cp) {
      bool in = false;
      for (const CodepointRange& r : it.ranges) in = in || (r.lo <= cp && cp <= r.hi);
      if (in != it.negated) e.ascii[cp >> 6] |= uint64_t(1) << (cp & 63);
    }
    return e;
  }

  static Status check_left_recursion(const Grammar& g);

  std::string_view t_;
  size_t p_ = 0;
  std::vector<RuleDef> rules_;
  std::unordered_map<std::string, uint32_t> ids_;
  uint32_t current_ = 0;
  uint32_t n_generated_ = 0;
  std::string err_;
};

std::vector<bool> nullable_rules(const Grammar& g) {
  std::vector<bool> nullable(g.n_rules(), false);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t r = 0; r < g.n_rules(); ++r) {
      if (nullable[r]) continue;
      for (uint32_t a : g.rule_alts[r]) {
        uint32_t i = a;
        while (g.elems[i].op == GrammarOp::kRef && nullable[g.elems[i].ref]) ++i;
        if (g.elems[i].op == GrammarOp::kEnd) {
          nullable[r] = changed = true;
          break;
        }
      }
    }
  }
  return nullable;
}

// A rule that can reach itself without consuming input would make the matcher loop forever.
Status Parser::check_left_recursion(const Grammar& g) {
  const std::vector<bool> nullable = nullable_rules(g);
  std::vector<std::vector<uint32_t>> first(g.n_rules());  // rules reachable at the left edge
  for (size_t r = 0; r < g.n_rules(); ++r) {
    for (uint32_t a : g.rule_alts[r]) {
      for (uint32_t i = a; g.elems[i].op == GrammarOp::kRef; ++i) {
        first[r].push_back(g.elems[i].ref);
        if (!nullable[g.elems[i].ref]) break;
      }
    }
  }
  std::vector<uint8_t> state(g.n_rules(), 0);  // 0 new, 1 on the path, 2 done
  std::vector<uint32_t> path;
  std::string cycle;
  auto dfs = [&](auto&& self, uint32_t r) -> bool {
    state[r] = 1;
    path.push_back(r);
    for (uint32_t s : first[r]) {
      if (state[s] == 1) {
        auto it = std::find(path.begin(), path.end(), s);
        for (; it != path.end(); ++it) cycle += g.rule_names[*it] + " -> ";
        cycle += g.rule_names[s];
        return false;
      }
      if (state[s] == 0 && !self(self, s)) return false;
    }
    path.pop_back();
    state[r] = 2;
    return true;
  };
  for (uint32_t r = 0; r < g.n_rules(); ++r) {
    if (state[r] == 0 && !dfs(dfs, r)) {
      return make_error(
          "grammar: left recursion ({}); rewrite it right-recursive, and do not repeat something "
          "that can match the empty string",
          cycle);
    }
  }
  return Status();
}

}  // namespace

bool Grammar::may_match_range(const GrammarElement& e, uint32_t lo, uint32_t hi) const {
  if (e.op != GrammarOp::kChars) return false;
  for (uint32_t i = e.range_begin; i < e.range_end; ++i) {
    const CodepointRange& r = ranges[i];
    if (!e.negated && r.lo <= hi && lo <= r.hi) return true;
    // Negated: [lo, hi] must not lie wholly inside the excluded ranges (merged at parse time).
    if (e.negated && r.lo <= lo && hi <= r.hi) return false;
  }
  return e.negated;
}

Expected<Grammar> parse_grammar(std::string_view text, std::string_view root) {
  return Parser(text).run(root);
}

}  // namespace silica

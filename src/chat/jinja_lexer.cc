// Jinja lexer: preprocessing (trim_blocks, lstrip_blocks, generation tags) and tokenization.
#include "chat/jinja_lexer.h"

#include <fmt/format.h>

#include <cstring>

#include "chat/jinja_value.h"

namespace silica::jinja {

const char* tok_name(Tok t) {
  static const char* kNames[] = {"Text",
                                 "NumericLiteral",
                                 "StringLiteral",
                                 "Identifier",
                                 "Equals",
                                 "OpenParen",
                                 "CloseParen",
                                 "OpenStatement",
                                 "CloseStatement",
                                 "OpenExpression",
                                 "CloseExpression",
                                 "OpenSquareBracket",
                                 "CloseSquareBracket",
                                 "OpenCurlyBracket",
                                 "CloseCurlyBracket",
                                 "Comma",
                                 "Dot",
                                 "Colon",
                                 "Pipe",
                                 "AdditiveBinaryOperator",
                                 "MultiplicativeBinaryOperator",
                                 "ExponentiationBinaryOperator",
                                 "ComparisonBinaryOperator",
                                 "UnaryOperator",
                                 "Comment"};
  return kNames[int(t)];
}

namespace {

// Text with the original line of every byte, so errors point into the file as written.
struct Source {
  std::string text;
  std::vector<int> lines;
  void push(char c, int line) {
    text += c;
    lines.push_back(line);
  }
};

bool is_ascii_space(char c) {
  return c == ' ' || (c >= '\t' && c <= '\r');
}

// lstrip_blocks: blanks before `{%` / `{#` at the start of a line go away.
Source lstrip_blocks(const Source& in) {
  Source out;
  const std::string& s = in.text;
  for (size_t i = 0; i < s.size();) {
    bool line_start = i == 0 || s[i - 1] == '\n' || s[i - 1] == '\r';
    if (line_start) {
      size_t j = i;
      while (j < s.size() && (s[j] == ' ' || s[j] == '\t')) ++j;
      if (j + 1 < s.size() && s[j] == '{' && std::strchr("#%-", s[j + 1]) && s[j + 1]) i = j;
    }
    out.push(s[i], in.lines[i]);
    ++i;
  }
  return out;
}

// trim_blocks: the newline right after `%}`, `#}` (or `-}`) goes away.
Source trim_blocks(const Source& in) {
  Source out;
  const std::string& s = in.text;
  for (size_t i = 0; i < s.size();) {
    if (i + 2 < s.size() && (s[i] == '#' || s[i] == '%' || s[i] == '-') && s[i + 1] == '}' &&
        s[i + 2] == '\n') {
      out.push(s[i], in.lines[i]);
      out.push(s[i + 1], in.lines[i + 1]);
      i += 3;
      continue;
    }
    out.push(s[i], in.lines[i]);
    ++i;
  }
  return out;
}

// Length of a `{% generation %}` / `{% endgeneration %}` tag at i (0 if none); sets the strips.
size_t generation_tag(const std::string& s, size_t i, bool& lstrip, bool& rstrip) {
  if (s.compare(i, 2, "{%") != 0) return 0;
  size_t j = i + 2;
  lstrip = j < s.size() && s[j] == '-';
  if (lstrip) ++j;
  while (j < s.size() && is_ascii_space(s[j])) ++j;
  if (s.compare(j, 3, "end") == 0 && s.compare(j + 3, 10, "generation") == 0) j += 3;
  if (s.compare(j, 10, "generation") != 0) return 0;
  j += 10;
  while (j < s.size() && is_ascii_space(s[j])) ++j;
  rstrip = j < s.size() && s[j] == '-';
  if (rstrip) ++j;
  if (s.compare(j, 2, "%}") != 0) return 0;
  return j + 2 - i;
}

// Generation tags (assistant-mask markers) render as nothing; `-` strips their side.
Source drop_generation_tags(const Source& in) {
  Source out;
  const std::string& s = in.text;
  size_t last_end = 0;
  for (size_t i = 0; i < s.size();) {
    bool lstrip = false, rstrip = false;
    size_t n = s[i] == '{' ? generation_tag(s, i, lstrip, rstrip) : 0;
    if (!n) {
      out.push(s[i], in.lines[i]);
      ++i;
      continue;
    }
    if (lstrip) {
      while (out.text.size() > last_end && is_ascii_space(out.text.back())) {
        out.text.pop_back();
        out.lines.pop_back();
      }
    }
    i += n;
    if (rstrip)
      while (i < s.size() && is_ascii_space(s[i])) ++i;
    last_end = out.text.size();
  }
  return out;
}

Source preprocess(const std::string& template_text) {
  Source src;
  int line = 1;
  for (char c : template_text) {
    src.push(c, line);
    if (c == '\n') ++line;
  }
  if (!src.text.empty() && src.text.back() == '\n') {
    src.text.pop_back();
    src.lines.pop_back();
  }
  return drop_generation_tags(trim_blocks(lstrip_blocks(src)));
}

struct Lexer {
  const std::string& s;
  const std::vector<int>& lines;
  size_t pos = 0;
  int curly_depth = 0;
  std::vector<Token> tokens;

  int line_at(size_t p) const { return lines.empty() ? 1 : lines[std::min(p, lines.size() - 1)]; }
  [[noreturn]] void fail(const std::string& what) const { throw JinjaError(line_at(pos), what); }
  void push(Tok t, std::string v, size_t start) {
    tokens.push_back({t, std::move(v), line_at(start)});
  }
  bool last_is(std::initializer_list<Tok> ts) const {
    if (tokens.empty()) return false;
    for (Tok t : ts)
      if (tokens.back().type == t) return true;
    return false;
  }
  bool at(const char* lit) const { return s.compare(pos, std::strlen(lit), lit) == 0; }

  bool space_here() const {
    if (pos >= s.size()) return false;
    size_t p = pos;
    return js_is_space(decode_utf8(s, p));
  }
  void skip_space() {
    while (space_here()) decode_utf8(s, pos);
  }
  void strip_trailing_text() {
    if (tokens.empty() || tokens.back().type != Tok::kText) return;
    tokens.back().value = js_trim(tokens.back().value, false, true);
    if (tokens.back().value.empty()) tokens.pop_back();
  }

  void text();
  void comment();
  void sign(char c, size_t start);
  bool table(size_t start);
  void string_literal(char quote, size_t start);
  void number(size_t start);
  void run();
};

void Lexer::text() {
  size_t start = pos;
  while (pos < s.size() &&
         !(s[pos] == '{' && pos + 1 < s.size() && std::strchr("%{#", s[pos + 1]) && s[pos + 1]))
    ++pos;
  if (pos > start) push(Tok::kText, s.substr(start, pos - start), start);
}

void Lexer::comment() {
  size_t start = pos;
  pos += 2;
  bool strip_before = pos < s.size() && s[pos] == '-';
  if (strip_before) ++pos;
  size_t end = s.find("#}", pos);
  if (end == std::string::npos) fail("Missing end of comment tag");
  std::string body = s.substr(pos, end - pos);
  bool strip_after = !body.empty() && body.back() == '-';
  if (strip_after) body.pop_back();
  if (strip_before) strip_trailing_text();
  push(Tok::kComment, body, start);
  pos = end + 2;
  if (strip_after) skip_space();
}

void Lexer::sign(char c, size_t start) {
  ++pos;
  std::string num;
  while (pos < s.size() && std::isdigit((unsigned char)s[pos])) num += s[pos++];
  if (!num.empty() && pos + 1 < s.size() && s[pos] == '.' &&
      std::isdigit((unsigned char)s[pos + 1])) {
    ++pos;
    num += '.';
    while (pos < s.size() && std::isdigit((unsigned char)s[pos])) num += s[pos++];
  }
  push(num.empty() ? Tok::kUnary : Tok::kNumber, std::string(1, c) + num, start);
}

bool Lexer::table(size_t start) {
  static const std::pair<const char*, Tok> kTable[] = {
      {"{%", Tok::kOpenStatement},  {"%}", Tok::kCloseStatement},
      {"{{", Tok::kOpenExpression}, {"}}", Tok::kCloseExpression},
      {"(", Tok::kOpenParen},       {")", Tok::kCloseParen},
      {"{", Tok::kOpenCurly},       {"}", Tok::kCloseCurly},
      {"[", Tok::kOpenBracket},     {"]", Tok::kCloseBracket},
      {",", Tok::kComma},           {".", Tok::kDot},
      {":", Tok::kColon},           {"|", Tok::kPipe},
      {"<=", Tok::kComparison},     {">=", Tok::kComparison},
      {"==", Tok::kComparison},     {"!=", Tok::kComparison},
      {"<", Tok::kComparison},      {">", Tok::kComparison},
      {"+", Tok::kAdditive},        {"-", Tok::kAdditive},
      {"~", Tok::kAdditive},        {"**", Tok::kPower},
      {"*", Tok::kMultiplicative},  {"//", Tok::kMultiplicative},
      {"/", Tok::kMultiplicative},  {"%", Tok::kMultiplicative},
      {"=", Tok::kEquals}};
  for (const auto& [seq, type] : kTable) {
    if (type == Tok::kCloseExpression && curly_depth > 0) continue;
    if (!at(seq)) continue;
    push(type, seq, start);
    if (type == Tok::kOpenExpression) curly_depth = 0;
    if (type == Tok::kOpenCurly) ++curly_depth;
    if (type == Tok::kCloseCurly) --curly_depth;
    pos += std::strlen(seq);
    return true;
  }
  return false;
}

int hex_value(const std::string& s, size_t p, size_t n) {
  if (p + n > s.size()) return -1;
  int v = 0;
  for (size_t k = 0; k < n; ++k) {
    char c = s[p + k];
    int d = std::isdigit((unsigned char)c) ? c - '0'
            : (c >= 'a' && c <= 'f')       ? c - 'a' + 10
            : (c >= 'A' && c <= 'F')       ? c - 'A' + 10
                                           : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

void Lexer::string_literal(char quote, size_t start) {
  ++pos;
  std::u16string out;  // \u escapes are UTF-16 units: pairs of them make one character
  while (pos < s.size() && s[pos] != quote) {
    if (s[pos] != '\\') {
      char32_t c = decode_utf8(s, pos);
      std::string one;
      append_utf8(one, c);
      out += to_utf16(one);
      if (pos >= s.size()) fail("Unexpected end of input");
      continue;
    }
    if (++pos >= s.size()) fail("Unexpected end of input");
    char e = s[pos++];
    if (e == 'x' || e == 'u') {
      size_t n = e == 'x' ? 2 : 4;
      int v = hex_value(s, pos, n);
      if (v < 0)
        fail(fmt::format("Invalid hexadecimal escape sequence: \\{}{}", e, s.substr(pos, n)));
      out += char16_t(v);
      pos += n;
      continue;
    }
    static const char kFrom[] = "ntrbfv'\"\\";
    static const char kTo[] = "\n\t\r\b\f\v'\"\\";
    const char* hit = std::strchr(kFrom, e);
    if (!hit || !e) fail(fmt::format("Unexpected escaped character: {}", e));
    out += char16_t(kTo[hit - kFrom]);
  }
  if (pos >= s.size()) fail("Unexpected end of input");
  push(Tok::kString, from_utf16(out), start);
  ++pos;
}

void Lexer::number(size_t start) {
  std::string num;
  while (pos < s.size() && std::isdigit((unsigned char)s[pos])) num += s[pos++];
  if (!last_is({Tok::kDot}) && pos + 1 < s.size() && s[pos] == '.' &&
      std::isdigit((unsigned char)s[pos + 1])) {
    ++pos;
    num += '.';
    while (pos < s.size() && std::isdigit((unsigned char)s[pos])) num += s[pos++];
  }
  if (pos >= s.size()) fail("Unexpected end of input");
  push(Tok::kNumber, num, start);
}

void Lexer::run() {
  while (pos < s.size()) {
    if (tokens.empty() || last_is({Tok::kCloseStatement, Tok::kCloseExpression, Tok::kComment})) {
      size_t before = tokens.size();
      text();
      if (tokens.size() != before) continue;
    }
    size_t start = pos;
    if (at("{#")) {
      comment();
      continue;
    }
    if (at("{%-") || at("{{-")) {
      strip_trailing_text();
      bool expr = s[pos + 1] == '{';
      push(expr ? Tok::kOpenExpression : Tok::kOpenStatement, expr ? "{{" : "{%", start);
      if (expr) curly_depth = 0;
      pos += 3;
      continue;
    }
    skip_space();
    if (pos >= s.size()) fail("Unexpected end of input");
    start = pos;
    if (at("-%}") || at("-}}")) {
      bool expr = s[pos + 1] == '}';
      push(expr ? Tok::kCloseExpression : Tok::kCloseStatement, expr ? "}}" : "%}", start);
      pos += 3;
      skip_space();
      continue;
    }
    char c = s[pos];
    if (c == '-' || c == '+') {
      if (tokens.empty() || last_is({Tok::kText})) fail(fmt::format("Unexpected character: {}", c));
      if (!last_is(
              {Tok::kIdent, Tok::kNumber, Tok::kString, Tok::kCloseParen, Tok::kCloseBracket})) {
        sign(c, start);
        continue;
      }
    }
    if (table(start)) continue;
    if (c == '\'' || c == '"') {
      string_literal(c, start);
      continue;
    }
    if (std::isdigit((unsigned char)c)) {
      number(start);
      continue;
    }
    if (std::isalnum((unsigned char)c) || c == '_') {
      std::string word;
      while (pos < s.size() && (std::isalnum((unsigned char)s[pos]) || s[pos] == '_'))
        word += s[pos++];
      if (pos >= s.size()) fail("Unexpected end of input");
      push(Tok::kIdent, word, start);
      continue;
    }
    fail(fmt::format("Unexpected character: {}", c));
  }
}

}  // namespace

std::vector<Token> tokenize(const std::string& source) {
  Source src = preprocess(source);
  Lexer lx{src.text, src.lines, 0, 0, {}};
  lx.run();
  return std::move(lx.tokens);
}

}  // namespace silica::jinja

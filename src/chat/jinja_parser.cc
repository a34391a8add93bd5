// Jinja parser: recursive descent over the token list.
#include "chat/jinja_parser.h"

#include <fmt/format.h>

#include <cstdlib>
#include <set>

#include "chat/jinja_value.h"

namespace silica::jinja {
namespace {

class Parser {
 public:
  explicit Parser(const std::vector<Token>& t) : t_(t) {}

  NodeList program() {
    NodeList out;
    while (cur_ < t_.size()) out.push_back(any());
    return out;
  }

 private:
  const std::vector<Token>& t_;
  size_t cur_ = 0;

  int line() const {
    if (t_.empty()) return 1;
    return t_[std::min(cur_, t_.size() - 1)].line;
  }
  [[noreturn]] void fail(const std::string& what) const { throw JinjaError(line(), what); }
  const Token& peek(size_t ahead = 0) const {
    if (cur_ + ahead >= t_.size()) fail("Unexpected end of template");
    return t_[cur_ + ahead];
  }
  bool is(Tok type, size_t ahead = 0) const {
    return cur_ + ahead < t_.size() && t_[cur_ + ahead].type == type;
  }
  bool is_ident(const char* name, size_t ahead = 0) const {
    return is(Tok::kIdent, ahead) && t_[cur_ + ahead].value == name;
  }
  bool is_statement(std::initializer_list<const char*> names) const {
    if (!is(Tok::kOpenStatement) || !is(Tok::kIdent, 1)) return false;
    for (const char* n : names)
      if (t_[cur_ + 1].value == n) return true;
    return false;
  }
  const Token& expect(Tok type, const char* what) {
    const Token& tok = peek();
    if (tok.type != type)
      fail(fmt::format("Parser Error: {}. {} !== {}.", what, tok_name(tok.type), tok_name(type)));
    ++cur_;
    return tok;
  }
  void expect_ident(const char* name) {
    if (!is_ident(name)) fail(fmt::format("Expected {}", name));
    ++cur_;
  }
  NodePtr node(NodeKind k) { return std::make_unique<Node>(k, line()); }
  // Statements until one of `ends` (not consumed).
  NodeList block_until(std::initializer_list<const char*> ends) {
    NodeList out;
    while (!is_statement(ends)) {
      if (cur_ >= t_.size()) {
        const char* closing = *ends.begin();
        for (const char* e : ends)
          if (std::string(e).rfind("end", 0) == 0) closing = e;
        fail(fmt::format("Unexpected end of template: missing {{% {} %}}", closing));
      }
      out.push_back(any());
    }
    return out;
  }
  void end_tag(const char* name) {
    expect(Tok::kOpenStatement, "Expected {% token");
    expect_ident(name);
    expect(Tok::kCloseStatement, "Expected %} token");
  }

  NodePtr any();
  NodePtr statement();
  NodePtr set_statement();
  NodePtr if_statement();
  NodePtr for_statement();
  NodePtr macro_statement();
  NodePtr call_statement();
  NodePtr filter_statement();
  NodePtr sequence(bool primary_only);
  NodePtr expression();
  NodePtr logical_or();
  NodePtr logical_and();
  NodePtr logical_not();
  NodePtr comparison();
  NodePtr additive();
  NodePtr multiplicative();
  NodePtr power();
  NodePtr test();
  NodePtr filter();
  NodePtr unary_sign();
  NodePtr call_member();
  NodePtr call(NodePtr callee);
  NodeList args(bool parameters);
  NodePtr member(NodePtr object);
  NodePtr subscript();
  NodePtr primary();
};

NodePtr Parser::any() {
  const Token& tok = peek();
  switch (tok.type) {
    case Tok::kComment: {
      auto n = node(NodeKind::kComment);
      ++cur_;
      return n;
    }
    case Tok::kText: {
      auto n = node(NodeKind::kString);
      n->str = tok.value;
      ++cur_;
      return n;
    }
    case Tok::kOpenStatement:
      return statement();
    case Tok::kOpenExpression: {
      ++cur_;
      auto e = expression();
      expect(Tok::kCloseExpression, "Expected closing expression token");
      return e;
    }
    default:
      fail(fmt::format("Unexpected token type: {}", tok_name(tok.type)));
  }
}

NodePtr Parser::statement() {
  expect(Tok::kOpenStatement, "Expected opening statement token");
  if (!is(Tok::kIdent)) fail(fmt::format("Unknown statement, got {}", tok_name(peek().type)));
  std::string name = peek().value;
  ++cur_;
  if (name == "set") return set_statement();
  if (name == "if") {
    auto n = if_statement();
    end_tag("endif");
    return n;
  }
  if (name == "for") {
    auto n = for_statement();
    end_tag("endfor");
    return n;
  }
  if (name == "macro") {
    auto n = macro_statement();
    end_tag("endmacro");
    return n;
  }
  if (name == "call") return call_statement();
  if (name == "filter") return filter_statement();
  if (name == "break" || name == "continue") {
    auto n = node(name == "break" ? NodeKind::kBreak : NodeKind::kContinue);
    expect(Tok::kCloseStatement, "Expected closing statement token");
    return n;
  }
  --cur_;
  fail(fmt::format("Unknown statement type: {} (not supported)", name));
}

NodePtr Parser::set_statement() {
  auto n = node(NodeKind::kSet);
  n->a = sequence(false);
  if (is(Tok::kEquals)) {
    ++cur_;
    n->b = sequence(false);
  } else {
    expect(Tok::kCloseStatement, "Expected %} token");
    n->body = block_until({"endset"});
    expect(Tok::kOpenStatement, "Expected {% token");
    expect_ident("endset");
  }
  expect(Tok::kCloseStatement, "Expected closing statement token");
  return n;
}

NodePtr Parser::if_statement() {
  auto n = node(NodeKind::kIf);
  n->a = expression();
  expect(Tok::kCloseStatement, "Expected closing statement token");
  n->body = block_until({"elif", "else", "endif"});
  if (is_statement({"elif"})) {
    cur_ += 2;
    n->alt.push_back(if_statement());
  } else if (is_statement({"else"})) {
    cur_ += 2;
    expect(Tok::kCloseStatement, "Expected closing statement token");
    n->alt = block_until({"endif"});
  }
  return n;
}

NodePtr Parser::for_statement() {
  auto n = node(NodeKind::kFor);
  n->a = sequence(true);
  if (n->a->kind != NodeKind::kIdent && n->a->kind != NodeKind::kTuple)
    fail("Expected identifier/tuple for the loop variable");
  if (!is_ident("in")) fail("Expected `in` keyword following loop variable");
  ++cur_;
  n->b = expression();
  expect(Tok::kCloseStatement, "Expected closing statement token");
  n->body = block_until({"endfor", "else"});
  if (is_statement({"else"})) {
    cur_ += 2;
    expect(Tok::kCloseStatement, "Expected closing statement token");
    n->alt = block_until({"endfor"});
  }
  return n;
}

// Whether a macro body reads `kwargs` / `varargs` without declaring them itself.
void scan_special(const Node* n, std::set<std::string>& declared, bool& kw, bool& va) {
  if (!n) return;
  auto declare = [&](const Node* target) {
    if (target && target->kind == NodeKind::kIdent) declared.insert(target->str);
    if (target && target->kind == NodeKind::kTuple)
      for (const auto& x : target->list)
        if (x->kind == NodeKind::kIdent) declared.insert(x->str);
  };
  if (n->kind == NodeKind::kFor || n->kind == NodeKind::kSet) declare(n->a.get());
  if (n->kind == NodeKind::kIdent) {
    if (n->str == "kwargs" && !declared.count("kwargs")) kw = true;
    if (n->str == "varargs" && !declared.count("varargs")) va = true;
  }
  if (n->kind == NodeKind::kMember && !n->flag) {
    scan_special(n->a.get(), declared, kw, va);
    return;
  }
  for (const Node* child : {n->a.get(), n->b.get(), n->c.get()})
    scan_special(child, declared, kw, va);
  for (const NodeList* l : {&n->list, &n->body, &n->alt})
    for (const auto& x : *l) scan_special(x.get(), declared, kw, va);
  for (const auto& [k, v] : n->pairs) {
    scan_special(k.get(), declared, kw, va);
    scan_special(v.get(), declared, kw, va);
  }
}

void mark_special(Node& n, const NodeList& params) {
  std::set<std::string> declared;
  for (const auto& p : params) declared.insert(p->kind == NodeKind::kKwarg ? p->str : p->str);
  for (const auto& p : params)
    if (p->kind == NodeKind::kKwarg)
      scan_special(p->a.get(), declared, n.uses_kwargs, n.uses_varargs);
  for (const auto& x : n.body) scan_special(x.get(), declared, n.uses_kwargs, n.uses_varargs);
}

NodePtr Parser::macro_statement() {
  auto n = node(NodeKind::kMacro);
  auto name = primary();
  if (name->kind != NodeKind::kIdent) fail("Expected identifier following macro statement");
  n->str = name->str;
  n->list = args(true);
  expect(Tok::kCloseStatement, "Expected closing statement token");
  n->body = block_until({"endmacro"});
  mark_special(*n, n->list);
  return n;
}

NodePtr Parser::call_statement() {
  auto n = node(NodeKind::kCallBlock);
  if (is(Tok::kOpenParen)) n->list = args(true);
  auto callee = primary();
  if (callee->kind != NodeKind::kIdent) fail("Expected identifier following call statement");
  auto c = node(NodeKind::kCall);
  c->a = std::move(callee);
  c->list = args(false);
  n->a = std::move(c);
  expect(Tok::kCloseStatement, "Expected closing statement token");
  n->body = block_until({"endcall"});
  end_tag("endcall");
  mark_special(*n, n->list);
  return n;
}

NodePtr Parser::filter_statement() {
  auto n = node(NodeKind::kFilterBlock);
  n->a = primary();
  if (n->a->kind == NodeKind::kIdent && is(Tok::kOpenParen)) n->a = call(std::move(n->a));
  expect(Tok::kCloseStatement, "Expected closing statement token");
  n->body = block_until({"endfilter"});
  end_tag("endfilter");
  return n;
}

NodePtr Parser::sequence(bool primary_only) {
  auto first = primary_only ? primary() : expression();
  if (!is(Tok::kComma)) return first;
  auto tuple = node(NodeKind::kTuple);
  tuple->list.push_back(std::move(first));
  while (is(Tok::kComma)) {
    ++cur_;
    tuple->list.push_back(primary_only ? primary() : expression());
  }
  return tuple;
}

NodePtr Parser::expression() {
  auto a = logical_or();
  if (!is_ident("if")) return a;
  ++cur_;
  auto n = node(NodeKind::kSelect);
  n->b = logical_or();
  n->a = std::move(a);
  if (is_ident("else")) {
    ++cur_;
    n->kind = NodeKind::kTernary;
    n->c = expression();
  }
  return n;
}

NodePtr Parser::logical_or() {
  auto left = logical_and();
  while (is_ident("or")) {
    auto n = node(NodeKind::kBinary);
    ++cur_;
    n->str = "or";
    n->a = std::move(left);
    n->b = logical_and();
    left = std::move(n);
  }
  return left;
}

NodePtr Parser::logical_and() {
  auto left = logical_not();
  while (is_ident("and")) {
    auto n = node(NodeKind::kBinary);
    ++cur_;
    n->str = "and";
    n->a = std::move(left);
    n->b = logical_not();
    left = std::move(n);
  }
  return left;
}

NodePtr Parser::logical_not() {
  if (!is_ident("not")) return comparison();
  auto n = node(NodeKind::kUnary);
  ++cur_;
  n->str = "not";
  n->a = logical_not();
  return n;
}

NodePtr Parser::comparison() {
  auto left = additive();
  while (true) {
    std::string op;
    if (is_ident("not") && is_ident("in", 1)) {
      op = "not in";
      cur_ += 2;
    } else if (is_ident("in") || is(Tok::kComparison)) {
      op = peek().value;
      ++cur_;
    } else {
      break;
    }
    auto n = node(NodeKind::kBinary);
    n->str = op;
    n->a = std::move(left);
    n->b = additive();
    left = std::move(n);
  }
  return left;
}

NodePtr Parser::additive() {
  auto left = multiplicative();
  while (is(Tok::kAdditive)) {
    auto n = node(NodeKind::kBinary);
    n->str = peek().value;
    ++cur_;
    n->a = std::move(left);
    n->b = multiplicative();
    left = std::move(n);
  }
  return left;
}

NodePtr Parser::multiplicative() {
  auto left = power();
  while (is(Tok::kMultiplicative)) {
    auto n = node(NodeKind::kBinary);
    n->str = peek().value;
    ++cur_;
    n->a = std::move(left);
    n->b = power();
    left = std::move(n);
  }
  return left;
}

NodePtr Parser::power() {
  auto left = test();
  while (is(Tok::kPower)) {
    auto n = node(NodeKind::kBinary);
    n->str = "**";
    ++cur_;
    n->a = std::move(left);
    n->b = test();
    left = std::move(n);
  }
  return left;
}

NodePtr Parser::test() {
  auto operand = filter();
  while (is_ident("is")) {
    auto n = node(NodeKind::kTest);
    ++cur_;
    if (is_ident("not")) {
      n->flag = true;
      ++cur_;
    }
    auto name = primary();
    if (name->kind != NodeKind::kIdent) fail("Expected identifier for the test");
    n->str = name->str;
    n->a = std::move(operand);
    operand = std::move(n);
  }
  return operand;
}

NodePtr Parser::filter() {
  auto operand = unary_sign();
  while (is(Tok::kPipe)) {
    auto n = node(NodeKind::kFilter);
    ++cur_;
    auto f = primary();
    if (f->kind != NodeKind::kIdent) fail("Expected identifier for the filter");
    if (is(Tok::kOpenParen)) f = call(std::move(f));
    n->a = std::move(operand);
    n->b = std::move(f);
    operand = std::move(n);
  }
  return operand;
}

NodePtr Parser::unary_sign() {
  if ((is(Tok::kUnary) || is(Tok::kAdditive)) && (peek().value == "-" || peek().value == "+")) {
    auto n = node(NodeKind::kUnary);
    n->str = peek().value;
    ++cur_;
    n->a = unary_sign();
    return n;
  }
  return call_member();
}

NodePtr Parser::call_member() {
  auto m = member(primary());
  return is(Tok::kOpenParen) ? call(std::move(m)) : std::move(m);
}

NodePtr Parser::call(NodePtr callee) {
  auto n = node(NodeKind::kCall);
  n->a = std::move(callee);
  n->list = args(false);
  NodePtr e = member(std::move(n));
  return is(Tok::kOpenParen) ? call(std::move(e)) : std::move(e);
}

NodeList Parser::args(bool parameters) {
  expect(Tok::kOpenParen, "Expected opening parenthesis for arguments list");
  NodeList out;
  std::set<std::string> names;
  bool saw_keyword = false, saw_spread = false;
  while (!is(Tok::kCloseParen)) {
    bool kw_spread = is(Tok::kPower);
    bool spread = is(Tok::kMultiplicative) && peek().value == "*";
    if (parameters && (kw_spread || spread))
      fail("Argument unpacking is not allowed in parameter declarations");
    if (kw_spread) {
      auto n = node(NodeKind::kKwSpread);
      ++cur_;
      n->a = expression();
      out.push_back(std::move(n));
      if (is(Tok::kComma)) ++cur_;
      if (!is(Tok::kCloseParen))
        fail("Expected closing parenthesis: `**` must be applied to the final argument");
      break;
    }
    NodePtr arg;
    if (spread) {
      if (saw_spread) fail("Only one `*` argument unpacking is allowed");
      saw_spread = true;
      arg = node(NodeKind::kSpread);
      ++cur_;
      arg->a = expression();
    } else {
      arg = expression();
      if (is(Tok::kEquals)) {
        ++cur_;
        if (arg->kind != NodeKind::kIdent)
          fail(parameters ? "Expected identifier for parameter declaration"
                          : "Expected identifier for keyword argument");
        auto kw = node(NodeKind::kKwarg);
        kw->str = arg->str;
        kw->a = expression();
        arg = std::move(kw);
      }
      if (parameters) {
        if (arg->kind != NodeKind::kIdent && arg->kind != NodeKind::kKwarg)
          fail("Expected identifier for parameter declaration");
        if (!names.insert(arg->str).second) fail("Duplicate parameter name: " + arg->str);
      }
      if (arg->kind == NodeKind::kKwarg) {
        saw_keyword = true;
      } else if (saw_keyword) {
        fail(parameters ? "Non-default argument follows default argument"
                        : "Positional arguments must come before keyword arguments");
      } else if (saw_spread) {
        fail("Positional arguments must not follow `*` argument unpacking");
      }
    }
    out.push_back(std::move(arg));
    if (is(Tok::kComma)) ++cur_;
  }
  expect(Tok::kCloseParen, "Expected closing parenthesis for arguments list");
  return out;
}

NodePtr Parser::subscript() {
  std::vector<NodePtr> parts;
  bool is_slice = false;
  while (!is(Tok::kCloseBracket)) {
    if (cur_ >= t_.size()) fail("Unexpected end of template in subscript");
    if (is(Tok::kColon)) {
      parts.push_back(nullptr);
      ++cur_;
      is_slice = true;
    } else {
      parts.push_back(expression());
      if (is(Tok::kColon)) {
        ++cur_;
        is_slice = true;
      }
    }
  }
  if (parts.empty()) fail("Expected at least one argument for member/slice expression");
  if (!is_slice) return std::move(parts[0]);
  if (parts.size() > 3) fail("Expected 0-3 arguments for slice expression");
  auto n = node(NodeKind::kSlice);
  n->a = std::move(parts[0]);
  if (parts.size() > 1) n->b = std::move(parts[1]);
  if (parts.size() > 2) n->c = std::move(parts[2]);
  return n;
}

NodePtr Parser::member(NodePtr object) {
  while (is(Tok::kDot) || is(Tok::kOpenBracket)) {
    auto n = node(NodeKind::kMember);
    n->flag = is(Tok::kOpenBracket);
    ++cur_;
    if (n->flag) {
      n->b = subscript();
      expect(Tok::kCloseBracket, "Expected closing square bracket");
    } else {
      n->b = primary();
      if (n->b->kind != NodeKind::kIdent && n->b->kind != NodeKind::kInt)
        fail("Expected identifier or integer following dot operator");
    }
    n->a = std::move(object);
    object = std::move(n);
  }
  return object;
}

NodePtr Parser::primary() {
  const Token& tok = peek();
  ++cur_;
  switch (tok.type) {
    case Tok::kNumber: {
      bool is_float = tok.value.find('.') != std::string::npos;
      auto n = std::make_unique<Node>(is_float ? NodeKind::kFloat : NodeKind::kInt, tok.line);
      if (is_float) {
        n->f = std::strtod(tok.value.c_str(), nullptr);
      } else {
        n->i = std::strtoll(tok.value.c_str(), nullptr, 10);
      }
      return n;
    }
    case Tok::kString: {
      auto n = std::make_unique<Node>(NodeKind::kString, tok.line);
      n->str = tok.value;
      while (is(Tok::kString)) n->str += t_[cur_++].value;  // 'a' 'b' is 'ab'
      return n;
    }
    case Tok::kIdent: {
      auto n = std::make_unique<Node>(NodeKind::kIdent, tok.line);
      n->str = tok.value;
      return n;
    }
    case Tok::kOpenParen: {
      auto e = sequence(false);
      expect(Tok::kCloseParen, "Expected closing parenthesis");
      return e;
    }
    case Tok::kOpenBracket: {
      auto n = std::make_unique<Node>(NodeKind::kArray, tok.line);
      while (!is(Tok::kCloseBracket)) {
        n->list.push_back(expression());
        if (is(Tok::kComma)) ++cur_;
      }
      ++cur_;
      return n;
    }
    case Tok::kOpenCurly: {
      auto n = std::make_unique<Node>(NodeKind::kObject, tok.line);
      while (!is(Tok::kCloseCurly)) {
        auto key = expression();
        expect(Tok::kColon, "Expected colon between key and value in object literal");
        n->pairs.emplace_back(std::move(key), expression());
        if (is(Tok::kComma)) ++cur_;
      }
      ++cur_;
      return n;
    }
    default:
      --cur_;
      fail(fmt::format("Unexpected token: {}", tok_name(tok.type)));
  }
}

}  // namespace

NodeList parse(const std::vector<Token>& tokens) {
  return Parser(tokens).program();
}

}  // namespace silica::jinja

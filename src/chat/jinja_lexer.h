// Jinja lexer: template text to tokens, with Hugging Face's settings (trim_blocks and
// lstrip_blocks on) and the reference renderer's whitespace-control rules.
#pragma once

#include <string>
#include <vector>

namespace silica::jinja {

enum class Tok {
  kText,
  kNumber,
  kString,
  kIdent,
  kEquals,
  kOpenParen,
  kCloseParen,
  kOpenStatement,
  kCloseStatement,
  kOpenExpression,
  kCloseExpression,
  kOpenBracket,
  kCloseBracket,
  kOpenCurly,
  kCloseCurly,
  kComma,
  kDot,
  kColon,
  kPipe,
  kAdditive,        // + - ~
  kMultiplicative,  // * / // %
  kPower,           // **
  kComparison,      // < > <= >= == !=
  kUnary,           // a sign before an operand
  kComment,
};

struct Token {
  Tok type;
  std::string value;
  int line = 0;  // in the original template, 1-based
};

const char* tok_name(Tok t);

// Throws JinjaError naming the line on characters or escapes the language does not have.
std::vector<Token> tokenize(const std::string& source);

}  // namespace silica::jinja

// Jinja parser: tokens to a syntax tree, with the reference renderer's operator precedence.
#pragma once

#include <vector>

#include "chat/jinja_ast.h"
#include "chat/jinja_lexer.h"

namespace silica::jinja {

// The template's top-level statements. Throws JinjaError naming the construct and its line.
NodeList parse(const std::vector<Token>& tokens);

}  // namespace silica::jinja

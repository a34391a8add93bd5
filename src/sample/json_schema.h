// JSON output grammars: any JSON object (format "json") and JSON schema -> GBNF.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "base/status.h"
#include "sample/grammar.h"

namespace silica {

// Whitespace is bounded so a model cannot wander forever between tokens: each gap holds nothing,
// one space, or one newline plus at most kJsonMaxIndent spaces/tabs. Numbers carry at most 16
// integer and 16 fraction digits (beyond a double's precision) and a 2-digit exponent.
inline constexpr int kJsonMaxIndent = 20;

// GBNF for any JSON value with an object at the top (Ollama format "json", OpenAI json_object).
const std::string& json_gbnf();
Expected<Grammar> json_grammar();

// JSON schema -> GBNF. Supported: type (incl. arrays of types), properties / required (output in
// the schema's property order), additionalProperties (false / true / schema; absent means none
// when properties are declared, any object otherwise), items, prefixItems, minItems, maxItems,
// enum, const, anyOf, oneOf (as anyOf), allOf of object schemas (merged), $ref to #/$defs,
// #/definitions or any local JSON pointer, minLength / maxLength, format date / time /
// date-time / uuid, nullable. Annotations (title, description, examples, default, ...) are
// ignored; any other keyword is an error naming it and where it is.
Expected<std::string> json_schema_to_gbnf(const nlohmann::ordered_json& schema);
Expected<std::string> json_schema_to_gbnf(std::string_view schema_text);
Expected<Grammar> json_schema_grammar(std::string_view schema_text);

}  // namespace silica

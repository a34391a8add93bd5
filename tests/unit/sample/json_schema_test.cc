// JSON grammar and JSON schema compiler: a random model under the constraint always produces
// JSON that parses and validates; schema acceptance tables; errors that name the keyword.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "grammar_test_util.h"
#include "sample/grammar_matcher.h"
#include "sample/json_schema.h"

namespace silica {
namespace {

using test::OJson;

constexpr int kGenerations = 50;
// Length cap per generation. The schemas below never force output this long, so hitting it
// counts as a failure (the whitespace / number bounds must keep a random model finite).
constexpr int kMaxTokens = 512;

// A small synthetic vocabulary: single characters that JSON needs, JSON-ish multi-character
// pieces, multi-byte UTF-8 whole and split into byte tokens, an unused control token (empty
// text, never allowed) and one EOG token.
struct FakeVocab {
  std::vector<std::string> pieces;
  std::vector<int32_t> eog;
};

FakeVocab fake_vocab() {
  FakeVocab v;
  // Few enough characters that a closing quote is not rare: random strings stay short.
  for (char c : std::string("{}[]:,\"\\ 0123456789abcdefghijklmnopqrstuvwxyzETZO-+./")) {
    v.pieces.push_back(std::string(1, c));
  }
  for (const char* p :
       {"\n",   "\t",           "\n  ",  "  ",       "{\"",      "\":",      "\",",      "\"}",
        "\"]",  "true",         "false", "null",     "12",       "345",      "0.",       "-1",
        "e+",   " \"",          "},",    "],",       "[{",       "abc",      "\\n",      "\\u00e9",
        "\\\"", "2024-",        "-01",   "T12:",     "00:00Z",   "id",       "\xC3\xA9", "\xC3",
        "\xA9", "\xE2\x82\xAC", "\xE2",  "\x82\xAC", "\xF0\x9F", "\x98\x80", "\x80"}) {
    v.pieces.push_back(p);
  }
  v.pieces.push_back("");  // a control token: no text
  v.eog.push_back(int32_t(v.pieces.size()));
  v.pieces.push_back("");  // EOG
  return v;
}

std::shared_ptr<const Grammar> schema_grammar(const std::string& schema) {
  auto g = json_schema_grammar(schema);
  EXPECT_TRUE(g.ok()) << g.message();
  if (!g.ok()) return nullptr;
  return std::make_shared<const Grammar>(std::move(*g));
}

// kGenerations random generations, each must end with EOG, parse, and pass `check`.
template <typename Check>
void generate_and_check(std::shared_ptr<const Grammar> g, uint64_t seed0, Check check) {
  const FakeVocab v = fake_vocab();
  GrammarConstraint c(std::move(g), v.pieces, v.eog);
  for (int i = 0; i < kGenerations; ++i) {
    test::Generation gen =
        test::generate_random(c, v.pieces, v.eog, seed0 + uint64_t(i), kMaxTokens);
    ASSERT_TRUE(gen.error.empty()) << gen.error;
    ASSERT_TRUE(gen.finished) << "hit the length cap: " << gen.text;
    OJson parsed;
    try {
      parsed = OJson::parse(gen.text);
    } catch (const std::exception& e) {
      FAIL() << "does not parse: " << gen.text << "\n" << e.what();
    }
    const std::string err = check(parsed);
    ASSERT_TRUE(err.empty()) << err << "\noutput: " << gen.text;
  }
}

TEST(JsonGrammar, RandomModelAlwaysWritesAnObject) {
  auto g = json_grammar();
  ASSERT_TRUE(g.ok()) << g.message();
  generate_and_check(std::make_shared<const Grammar>(std::move(*g)), 1000, [](const OJson& j) {
    return j.is_object() ? std::string() : "not an object: " + j.dump();
  });
}

// In increasing complexity. The recursive one allows one child per node: with two, a random
// model's trees (branching factor near 1) too often outgrow kMaxTokens.
const char* const kSchemas[] = {
    R"({"type": ["integer", "null"]})",
    R"({"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"]})",
    R"({"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "boolean"},
        "c": {"type": "null"}, "d": {"type": "string", "maxLength": 5}}, "required": ["b"]})",
    R"({"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 4})",
    R"({"type": "object", "properties": {"color": {"enum": ["red", "gr\"een", null, 3]},
        "v": {"const": {"x": [1, "é"]}}}, "required": ["color", "v"],
        "additionalProperties": false})",
    R"({"type": "array", "prefixItems": [{"type": "string", "minLength": 2, "maxLength": 4},
        {"type": "boolean"}], "items": false, "minItems": 1})",
    R"({"type": "object", "properties": {
        "id": {"oneOf": [{"type": "integer"}, {"type": "string", "format": "uuid"}]},
        "when": {"type": "string", "format": "date-time"},
        "note": {"type": "string", "nullable": true, "maxLength": 8}},
        "required": ["id", "when", "note"]})",
    R"({"$defs": {"base": {"type": "object", "properties": {"id": {"type": "integer"}},
        "required": ["id"]}},
        "allOf": [{"$ref": "#/$defs/base"}, {"properties": {"tags": {"type": "array",
        "items": {"type": "string", "maxLength": 6}, "maxItems": 3}}, "required": ["tags"]}]})",
    R"({"definitions": {"node": {"type": "object", "properties": {"value": {"type": "integer"},
        "children": {"type": "array", "items": {"$ref": "#/definitions/node"}, "maxItems": 1}},
        "required": ["value"]}}, "$ref": "#/definitions/node"})",
    R"({"type": "object", "properties": {"k": {"type": "integer"}, "kk": {"type": "null"}},
        "additionalProperties": {"type": "boolean"}, "required": ["k"]})",
    R"({"type": "object", "properties": {"d": {"type": "string", "format": "date"},
        "t": {"type": "string", "format": "time"},
        "n": {"type": ["number", "string", "null"], "maxLength": 3},
        "any": {}, "anyOf": {"anyOf": [{"type": "boolean"}, {"type": "array", "maxItems": 1}]}},
        "required": ["d", "t", "n", "any", "anyOf"], "description": "ignored", "title": "x"})",
};

class JsonSchemaRandom : public ::testing::TestWithParam<size_t> {};

TEST_P(JsonSchemaRandom, RandomModelOutputValidates) {
  const std::string text = kSchemas[GetParam()];
  const OJson schema = OJson::parse(text);
  auto g = schema_grammar(text);
  ASSERT_TRUE(g);
  test::SchemaValidator validator(schema);
  generate_and_check(g, 5000 + 100 * GetParam(),
                     [&](const OJson& j) { return validator.check(j); });
}

INSTANTIATE_TEST_SUITE_P(Schemas, JsonSchemaRandom,
                         ::testing::Range(size_t(0), sizeof(kSchemas) / sizeof(kSchemas[0])));

bool full_match(const std::shared_ptr<const Grammar>& g, const std::string& text) {
  GrammarMatcher m(g);
  return m.accept_string(text) && m.is_complete();
}

TEST(JsonSchema, OptionalAndRequiredPropertiesInOrder) {
  auto g = schema_grammar(R"({"type": "object", "properties": {"a": {"type": "integer"},
      "b": {"type": "integer"}, "c": {"type": "integer"}}, "required": ["b"]})");
  ASSERT_TRUE(g);
  EXPECT_TRUE(full_match(g, R"({"b":1})"));
  EXPECT_TRUE(full_match(g, R"({"a":1,"b":2})"));
  EXPECT_TRUE(full_match(g, R"({"b":2, "c":3})"));
  EXPECT_TRUE(full_match(g, R"({"a":1,"b":2,"c":3})"));
  EXPECT_FALSE(full_match(g, R"({})"));  // b is required
  EXPECT_FALSE(full_match(g, R"({"a":1})"));
  EXPECT_FALSE(full_match(g, R"({"b":2,"a":1})"));  // schema order
  EXPECT_FALSE(full_match(g, R"({,"b":2})"));
  EXPECT_FALSE(full_match(g, R"({"b":2,"d":1})"));  // no extra keys unless asked for
}

TEST(JsonSchema, AdditionalPropertiesNeverReuseDeclaredNames) {
  auto g = schema_grammar(R"({"type": "object", "properties": {"ab": {"type": "integer"}},
      "additionalProperties": {"type": "string"}})");
  ASSERT_TRUE(g);
  EXPECT_TRUE(full_match(g, R"({"ab":1,"a":"x","abc":"y","b":"z","":""})"));
  EXPECT_TRUE(full_match(g, R"({"zz":"x"})"));
  EXPECT_FALSE(full_match(g, R"({"ab":1,"ab":"x"})"));
  EXPECT_FALSE(full_match(g, R"({"ab":"x"})"));
}

TEST(JsonSchema, ArrayBounds) {
  auto g = schema_grammar(R"({"type": "array", "items": {"type": "boolean"}, "minItems": 1,
      "maxItems": 2})");
  ASSERT_TRUE(g);
  EXPECT_FALSE(full_match(g, "[]"));
  EXPECT_TRUE(full_match(g, "[true]"));
  EXPECT_TRUE(full_match(g, "[true, false]"));
  EXPECT_FALSE(full_match(g, "[true,false,true]"));
  auto p = schema_grammar(R"({"prefixItems": [{"type": "integer"}, {"type": "string"}]})");
  ASSERT_TRUE(p);
  EXPECT_TRUE(full_match(p, "[]"));
  EXPECT_TRUE(full_match(p, "[1]"));
  EXPECT_TRUE(full_match(p, R"([1,"a",null,{}])"));  // items absent: anything after the prefix
  EXPECT_FALSE(full_match(p, R"(["a"])"));
}

TEST(JsonSchema, StringLengthCountsCodePoints) {
  auto g = schema_grammar(R"({"type": "string", "minLength": 2, "maxLength": 3})");
  ASSERT_TRUE(g);
  EXPECT_FALSE(full_match(g, R"("a")"));
  EXPECT_TRUE(full_match(g, "\"\xC3\xA9\xC3\xA9\""));
  EXPECT_TRUE(full_match(g, R"("a\nb")"));
  EXPECT_FALSE(full_match(g, R"("abcd")"));
}

struct BadSchema {
  const char* schema;
  const char* message_part;
};

TEST(JsonSchema, ErrorsNameTheKeywordAndPlace) {
  const BadSchema cases[] = {
      {R"({"type": "string", "pattern": "^a"})", "unsupported keyword 'pattern' at #"},
      {R"({"properties": {"x": {"type": "integer", "minimum": 3}}})",
       "unsupported keyword 'minimum' at #/properties/x"},
      {R"({"type": "strin"})", "unknown type 'strin' at #/type"},
      {R"({"$ref": "#/$defs/missing"})", "$ref '#/$defs/missing' points at nothing"},
      {R"({"$ref": "http://x/y.json"})", "only local $ref is supported"},
      {R"({"properties": {"a": {}}, "required": ["b"]})",
       "required property \"b\" is not in properties at #/required"},
      {R"({"type": "array", "minItems": 3, "maxItems": 2})", "maxItems 2 is below minItems 3"},
      {R"({"type": "string", "format": "email"})", "unsupported string format 'email'"},
      {R"({"allOf": [{"type": "string"}]})", "allOf of 'type' is not supported"},
      {R"({"type": "array", "minItems": -1})", "'minItems' must be a non-negative integer"},
      {R"(false)", "schema 'false' can never be satisfied"},
      {R"({"type": )", "not valid JSON"},
  };
  for (const BadSchema& c : cases) {
    auto g = json_schema_to_gbnf(std::string_view(c.schema));
    ASSERT_FALSE(g.ok()) << c.schema;
    EXPECT_NE(g.message().find(c.message_part), std::string::npos)
        << "schema: " << c.schema << "\nmessage: " << g.message();
  }
}

}  // namespace
}  // namespace silica

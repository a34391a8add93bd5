// Tool-call and reasoning parsing: real output strings of Llama 3.x, Qwen/Hermes, Mistral and
// generic models, whole and streamed in random pieces; format detection on real templates.
#include "chat/tool_calls.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

namespace silica {
namespace {

using Json = nlohmann::ordered_json;

// Random cuttings tried per case; pieces of 1..kMaxPiece bytes (split UTF-8 included).
constexpr int kStreamTrials = 40;
constexpr size_t kMaxPiece = 7;
// Random marker-fragment texts in the stream-equals-whole test.
constexpr int kFuzzCases = 2000;

struct Want {
  std::string content;
  std::string thinking;
  std::vector<std::pair<std::string, Json>> calls;  // name, arguments
};

ParsedOutput stream_parse(std::string_view text, ToolCallFormat fmt, uint32_t seed,
                          bool starts_in_thinking = false) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<size_t> piece(1, kMaxPiece);
  ToolCallStreamParser parser(fmt, starts_in_thinking);
  ParsedOutput out;
  auto take = [&](ToolCallStreamParser::Delta d) {
    out.content += d.content;
    out.thinking += d.thinking;
    for (auto& c : d.tool_calls) out.tool_calls.push_back(std::move(c));
  };
  for (size_t i = 0; i < text.size();) {
    const size_t n = std::min(piece(rng), text.size() - i);
    take(parser.feed(text.substr(i, n)));
    i += n;
  }
  take(parser.finish());
  return out;
}

void expect_matches(const ParsedOutput& got, const Want& want, const std::string& how) {
  EXPECT_EQ(got.content, want.content) << how;
  EXPECT_EQ(got.thinking, want.thinking) << how;
  ASSERT_EQ(got.tool_calls.size(), want.calls.size()) << how;
  for (size_t i = 0; i < want.calls.size(); ++i) {
    EXPECT_EQ(got.tool_calls[i].name, want.calls[i].first) << how << " call " << i;
    EXPECT_EQ(got.tool_calls[i].arguments.dump(), want.calls[i].second.dump())
        << how << " call " << i;
  }
}

// Whole-text parse and every random streaming of it give `want`.
void check(std::string_view text, ToolCallFormat fmt, const Want& want,
           bool starts_in_thinking = false) {
  SCOPED_TRACE(std::string(tool_call_format_name(fmt)) + ": " + std::string(text));
  expect_matches(parse_model_output(text, fmt, starts_in_thinking), want, "whole");
  for (int t = 0; t < kStreamTrials && !testing::Test::HasFailure(); ++t) {
    expect_matches(stream_parse(text, fmt, t, starts_in_thinking), want,
                   "stream seed " + std::to_string(t));
  }
}

// Text that must come back untouched as content.
void check_verbatim(std::string_view text, ToolCallFormat fmt) {
  check(text, fmt, {std::string(text), "", {}});
}

const Json kParis = Json::parse(R"({"city": "Paris"})");

// ---- Hermes / Qwen2.5 / Qwen3 ---------------------------------------------------------------

TEST(ToolCallsHermes, PlainContent) {
  check_verbatim("The capital of France is Paris.", ToolCallFormat::kHermes);
  check_verbatim("Tags like <tool> or <tool_calls are just text.\n", ToolCallFormat::kHermes);
}

TEST(ToolCallsHermes, OneCallAsQwen25WritesIt) {
  check(
      "<tool_call>\n{\"name\": \"get_current_temperature\", \"arguments\": {\"location\": "
      "\"San Francisco, CA, USA\", \"unit\": \"celsius\"}}\n</tool_call>",
      ToolCallFormat::kHermes,
      {"",
       "",
       {{"get_current_temperature",
         Json::parse(R"({"location": "San Francisco, CA, USA", "unit": "celsius"})")}}});
}

TEST(ToolCallsHermes, SeveralCallsWithTextBefore) {
  check(
      "I'll check both cities.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
      "{\"city\": \"Paris\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_weather\", "
      "\"arguments\": {\"city\": \"Tokyo\"}}\n</tool_call>",
      ToolCallFormat::kHermes,
      {"I'll check both cities.",
       "",
       {{"get_weather", kParis}, {"get_weather", Json::parse(R"({"city": "Tokyo"})")}}});
}

TEST(ToolCallsHermes, TextAfterCallKeepsItsSeparator) {
  check("Checking.\n<tool_call>\n{\"name\": \"ping\", \"arguments\": {}}\n</tool_call>\nDone.",
        ToolCallFormat::kHermes, {"Checking.\nDone.", "", {{"ping", Json::object()}}});
}

TEST(ToolCallsHermes, Qwen3ThinkingThenCall) {
  check(
      "<think>\nThe user wants the weather in Paris. I should call get_weather.\n</think>\n\n"
      "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
      "</tool_call>",
      ToolCallFormat::kHermes,
      {"",
       "The user wants the weather in Paris. I should call get_weather.",
       {{"get_weather", kParis}}});
}

TEST(ToolCallsHermes, Qwen3ThinkingThenAnswer) {
  check("<think>\nSimple arithmetic.\n</think>\n\n2 + 2 = 4.", ToolCallFormat::kHermes,
        {"2 + 2 = 4.", "Simple arithmetic.", {}});
  // Thinking switched off: the template wrote the empty block, output is the answer.
  check_verbatim("2 + 2 = 4.", ToolCallFormat::kHermes);
  // <think> after content is not a reasoning block.
  check_verbatim("Models write <think> tags.", ToolCallFormat::kHermes);
}

TEST(ToolCallsHermes, MissingCloseTagAtEnd) {
  check("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n",
        ToolCallFormat::kHermes, {"", "", {{"get_weather", kParis}}});
}

TEST(ToolCallsHermes, MalformedStaysContent) {
  // A brace short.
  check_verbatim(
      "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}\n"
      "</tool_call>",
      ToolCallFormat::kHermes);
  // Cut off mid-call.
  check_verbatim("Sure. <tool_call>\n{\"name\": \"get_wea", ToolCallFormat::kHermes);
  // No name.
  check_verbatim("<tool_call>{\"arguments\": {}}</tool_call>", ToolCallFormat::kHermes);
  // A bad call, then a good one: only the good one is taken.
  check(
      "<tool_call>oops</tool_call>\n<tool_call>{\"name\": \"get_weather\", \"arguments\": "
      "{\"city\": \"Paris\"}}</tool_call>",
      ToolCallFormat::kHermes, {"<tool_call>oops</tool_call>", "", {{"get_weather", kParis}}});
}

TEST(ToolCallsHermes, ArgumentsAsJsonString) {
  check(
      "<tool_call>\n{\"name\": \"add\", \"arguments\": \"{\\\"a\\\": 1, \\\"b\\\": [2, 3]}\"}\n"
      "</tool_call>",
      ToolCallFormat::kHermes, {"", "", {{"add", Json::parse(R"({"a": 1, "b": [2, 3]})")}}});
  // A string that is not a JSON object is no call.
  check_verbatim("<tool_call>{\"name\": \"add\", \"arguments\": \"a=1\"}</tool_call>",
                 ToolCallFormat::kHermes);
}

TEST(ToolCallsHermes, UnicodeArguments) {
  const Json args = Json::parse("{\"city\": \"Zürich\", \"note\": \"日本語 🌧\"}");
  check(
      "Wetter für Zürich 🌧:\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
      "{\"city\": \"Zürich\", \"note\": \"日本語 🌧\"}}\n</tool_call>",
      ToolCallFormat::kHermes, {"Wetter für Zürich 🌧:", "", {{"get_weather", args}}});
  // \u escapes, a surrogate pair among them, decode to the same UTF-8.
  check(
      "<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Z\\u00fcrich\", "
      "\"note\": \"\\u65e5\\u672c\\u8a9e \\ud83c\\udf27\"}}</tool_call>",
      ToolCallFormat::kHermes, {"", "", {{"get_weather", args}}});
}

TEST(ToolCallsHermes, Qwen3CoderXmlBody) {
  // Qwen3-Coder / Qwen3.5 write the call as XML inside <tool_call>, values on their own lines.
  check(
      "I'll write the file.\n\n<tool_call>\n<function=write_file>\n<parameter=path>\n"
      "src/main.py\n</parameter>\n<parameter=content>\nprint(\"hi\")\nprint(\"bye\")\n"
      "</parameter>\n<parameter=options>\n{\"mode\": \"w\", \"lines\": [1, 2]}\n</parameter>\n"
      "<parameter=retries>\n3\n</parameter>\n</function>\n</tool_call>\n<tool_call>\n"
      "<function=list_dir>\n</function>\n</tool_call>",
      ToolCallFormat::kHermes,
      {"I'll write the file.",
       "",
       {{"write_file", Json::parse(R"j({"path": "src/main.py",
             "content": "print(\"hi\")\nprint(\"bye\")",
             "options": {"mode": "w", "lines": [1, 2]}, "retries": 3})j")},
        {"list_dir", Json::object()}}});
  // A parameter never closed: no call.
  check_verbatim(
      "<tool_call>\n<function=write_file>\n<parameter=path>\na.txt\n</function>\n"
      "</tool_call>",
      ToolCallFormat::kHermes);
}

// ---- Llama 3.x -------------------------------------------------------------------------------

TEST(ToolCallsLlama3, PlainContent) {
  check_verbatim("Paris is the capital of France.", ToolCallFormat::kLlama3);
  check_verbatim("Sets: {x | x > 0} and {\"a\" : 1}.", ToolCallFormat::kLlama3);
  // JSON that is not a call (no parameters) stays content.
  check_verbatim("Here: {\"name\": \"Bob\", \"age\": 3}", ToolCallFormat::kLlama3);
}

TEST(ToolCallsLlama3, OneCall) {
  // Llama 3.1 as its template shows it.
  check("{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}",
        ToolCallFormat::kLlama3, {"", "", {{"get_weather", kParis}}});
  // Llama 3.2 1B/3B put "type" first.
  check(
      "{\"type\": \"function\", \"name\": \"get_weather\", \"parameters\": {\"city\": "
      "\"Paris\"}}",
      ToolCallFormat::kLlama3, {"", "", {{"get_weather", kParis}}});
  check("<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}",
        ToolCallFormat::kLlama3, {"", "", {{"get_weather", kParis}}});
}

TEST(ToolCallsLlama3, SeveralCalls) {
  const Json tokyo = Json::parse(R"({"city": "Tokyo"})");
  check(
      "<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}; "
      "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Tokyo\"}}",
      ToolCallFormat::kLlama3, {"", "", {{"get_weather", kParis}, {"get_weather", tokyo}}});
  check(
      "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}\n"
      "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Tokyo\"}}\n",
      ToolCallFormat::kLlama3, {"", "", {{"get_weather", kParis}, {"get_weather", tokyo}}});
}

TEST(ToolCallsLlama3, TextBeforeCall) {
  check(
      "Let me look that up.\n\n{\"name\": \"get_weather\", \"parameters\": {\"city\": "
      "\"Paris\"}}",
      ToolCallFormat::kLlama3, {"Let me look that up.", "", {{"get_weather", kParis}}});
}

TEST(ToolCallsLlama3, BuiltinToolAndCode) {
  check("<|python_tag|>brave_search.call(query=\"current weather in Menlo Park, California\")",
        ToolCallFormat::kLlama3,
        {"",
         "",
         {{"brave_search",
           Json::parse(R"({"query": "current weather in Menlo Park, California"})")}}});
  check(
      "<|python_tag|>wolfram_alpha.call(query='solve x^2 = 4', precision=3)",
      ToolCallFormat::kLlama3,
      {"", "", {{"wolfram_alpha", Json::parse(R"({"query": "solve x^2 = 4", "precision": 3})")}}});
  check("<|python_tag|>import math\nprint(math.sqrt(2))", ToolCallFormat::kLlama3,
        {"", "", {{"python", Json::parse(R"j({"code": "import math\nprint(math.sqrt(2))"})j")}}});
}

TEST(ToolCallsLlama3, MalformedStaysContent) {
  check_verbatim("{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}",
                 ToolCallFormat::kLlama3);
  check_verbatim("{\"name\": \"get_weather\", \"parameters\": {\"city\": Paris}}",
                 ToolCallFormat::kLlama3);
  check_verbatim("{\"name\": \"get_weather\", \"parameters\": [1, 2}]", ToolCallFormat::kLlama3);
}

TEST(ToolCallsLlama3, UnicodeArguments) {
  check("{\"name\": \"translate\", \"parameters\": {\"text\": \"¿Dónde está la estación? 駅\"}}",
        ToolCallFormat::kLlama3,
        {"", "", {{"translate", Json::parse("{\"text\": \"¿Dónde está la estación? 駅\"}")}}});
}

// ---- Mistral
// ---------------------------------------------------------------------------------

TEST(ToolCallsMistral, PlainContent) {
  check_verbatim("Bonjour ! [INST] is not a call, nor is [TOOL_RESULTS.", ToolCallFormat::kMistral);
}

TEST(ToolCallsMistral, NemoJsonArray) {
  check(
      "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}, \"id\": "
      "\"a1b2c3d4e\"}]",
      ToolCallFormat::kMistral, {"", "", {{"get_weather", kParis}}});
  check(
      "[TOOL_CALLS] [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}, "
      "{\"name\": \"get_time\", \"arguments\": {\"tz\": \"Europe/Paris\"}}]",
      ToolCallFormat::kMistral,
      {"", "", {{"get_weather", kParis}, {"get_time", Json::parse(R"({"tz": "Europe/Paris"})")}}});
}

TEST(ToolCallsMistral, ArgsVariant) {
  // Devstral / Ministral 3 templates.
  check(
      "[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\"}[TOOL_CALLS]get_time[ARGS]"
      "{\"tz\": \"CET\"}",
      ToolCallFormat::kMistral,
      {"", "", {{"get_weather", kParis}, {"get_time", Json::parse(R"({"tz": "CET"})")}}});
  // Mistral Small 3.2 adds the call id.
  check("[TOOL_CALLS]get_weather[CALL_ID]a1b2c3d4e[ARGS]{\"city\": \"Paris\"}",
        ToolCallFormat::kMistral, {"", "", {{"get_weather", kParis}}});
}

TEST(ToolCallsMistral, TextBeforeAndThinking) {
  check("Let me check.[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\"}", ToolCallFormat::kMistral,
        {"Let me check.", "", {{"get_weather", kParis}}});
  check(
      "[THINK]Weather question: call the tool.[/THINK][TOOL_CALLS]get_weather[ARGS]{\"city\": "
      "\"Paris\"}",
      ToolCallFormat::kMistral,
      {"", "Weather question: call the tool.", {{"get_weather", kParis}}});
}

TEST(ToolCallsMistral, MalformedStaysContent) {
  check_verbatim("[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": }}]",
                 ToolCallFormat::kMistral);
  check_verbatim("[TOOL_CALLS]get weather[ARGS]{}", ToolCallFormat::kMistral);
  check_verbatim("[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Par", ToolCallFormat::kMistral);
}

TEST(ToolCallsMistral, UnicodeArguments) {
  check("[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Kraków\", \"emoji\": \"☀️\"}",
        ToolCallFormat::kMistral,
        {"", "", {{"get_weather", Json::parse("{\"city\": \"Kraków\", \"emoji\": \"☀️\"}")}}});
}

// ---- Generic and none
// ------------------------------------------------------------------------

TEST(ToolCallsGeneric, BareObjects) {
  check("{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}",
        ToolCallFormat::kGeneric, {"", "", {{"get_weather", kParis}}});
  check(
      "Calling it now: {\"name\": \"get_weather\", \"arguments\": \"{\\\"city\\\": "
      "\\\"Paris\\\"}\"}",
      ToolCallFormat::kGeneric, {"Calling it now:", "", {{"get_weather", kParis}}});
  check(
      "{\"tool_calls\": [{\"name\": \"a\", \"arguments\": {}}, {\"name\": \"b\", "
      "\"arguments\": "
      "{\"x\": 1}}]}",
      ToolCallFormat::kGeneric,
      {"", "", {{"a", Json::object()}, {"b", Json::parse(R"({"x":1})")}}});
  check_verbatim("{\"name\": \"Bob\"} is a person.", ToolCallFormat::kGeneric);
  check_verbatim("{\"name\": \"get_weather\", \"arguments\": ", ToolCallFormat::kGeneric);
}

TEST(ToolCallsNone, OnlyThinkingIsSplit) {
  check_verbatim("<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>",
                 ToolCallFormat::kNone);
  check("<think>\nhmm\n</think>\n\nHello!", ToolCallFormat::kNone, {"Hello!", "hmm", {}});
  // The prompt opened the block (DeepSeek R1 / QwQ generation prompts end in "<think>\n").
  check("Okay, the user greets me.\n</think>\n\nHello!", ToolCallFormat::kNone,
        {"Hello!", "Okay, the user greets me.", {}}, /*starts_in_thinking=*/true);
  // Cut off while thinking: all of it is thinking.
  check("<think>\nStill going", ToolCallFormat::kHermes, {"", "Still going", {}});
}

// ---- Streaming behaviour, ids
// -----------------------------------------------------------------

TEST(ToolCallStream, ReleasesSafeContentAtOnce) {
  ToolCallStreamParser p(ToolCallFormat::kHermes);
  EXPECT_EQ(p.feed("The answer").content, "The answer");
  // The space may precede a call (then it is dropped); "<tool" may open one.
  EXPECT_EQ(p.feed(" is 4. <tool").content, " is 4.");
  ToolCallStreamParser::Delta d = p.feed("_call>{\"name\": \"f\", \"arguments\": {}}");
  EXPECT_TRUE(d.empty());
  d = p.feed("</tool_call>");
  ASSERT_EQ(d.tool_calls.size(), 1u);
  EXPECT_EQ(d.tool_calls[0].name, "f");
  EXPECT_TRUE(p.finish().empty());
}

TEST(ToolCallStream, NeverSplitsUtf8Characters) {
  ToolCallStreamParser p(ToolCallFormat::kNone);
  const std::string s = "é🌧";
  std::string got;
  for (char c : s) {
    const std::string piece = p.feed(std::string(1, c)).content;
    EXPECT_TRUE(piece.empty() || piece == "é" || piece == "🌧") << piece.size();
    got += piece;
  }
  got += p.finish().content;
  EXPECT_EQ(got, s);
}

TEST(ToolCallStream, IdsAreWellFormedAndUnique) {
  const std::string one =
      "<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": "
      "\"Paris\"}}</tool_call>";
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    for (const ToolCall& c : parse_model_output(one + one, ToolCallFormat::kHermes).tool_calls) {
      ASSERT_EQ(c.id.rfind("call_", 0), 0u) << c.id;
      const std::string tail = c.id.substr(5);
      EXPECT_GE(tail.size(), 8u);
      EXPECT_LE(tail.size(), 24u);
      for (char ch : tail) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch))) << c.id;
      ids.insert(c.id);
    }
  }
  EXPECT_EQ(ids.size(), 100u);
}

// Random mixtures of marker fragments and text: no crash, stream equals whole, and with
// kNone and no "<think" every byte comes back as content.
TEST(ToolCallStream, RandomFragmentsStreamEqualsWhole) {
  const std::vector<std::string> frags = {"<tool_call>",
                                          "</tool_call>",
                                          "[TOOL_CALLS]",
                                          "[ARGS]",
                                          "<|python_tag|>",
                                          "<think>",
                                          "</think>",
                                          "{",
                                          "}",
                                          "[",
                                          "]",
                                          "\"name\"",
                                          ": ",
                                          "\"f\"",
                                          ", ",
                                          "\"arguments\"",
                                          "{}",
                                          ";",
                                          "\n",
                                          " ",
                                          "é",
                                          "x.call(",
                                          "a=1",
                                          ")",
                                          "\\",
                                          "\"",
                                          "[/THINK]",
                                          "<function=f>",
                                          "<parameter=k>",
                                          "</parameter>",
                                          "</function>",
                                          "[CALL_ID]",
                                          "[THINK]",
                                          "text"};
  const ToolCallFormat fmts[] = {ToolCallFormat::kNone, ToolCallFormat::kLlama3,
                                 ToolCallFormat::kHermes, ToolCallFormat::kMistral,
                                 ToolCallFormat::kGeneric};
  std::mt19937 rng(1234);
  for (int iter = 0; iter < kFuzzCases; ++iter) {
    std::string text;
    const int n = 1 + rng() % 14;
    for (int k = 0; k < n; ++k) text += frags[rng() % frags.size()];
    for (ToolCallFormat fmt : fmts) {
      const ParsedOutput whole = parse_model_output(text, fmt);
      const ParsedOutput streamed = stream_parse(text, fmt, iter);
      ASSERT_EQ(streamed.content, whole.content) << text;
      ASSERT_EQ(streamed.thinking, whole.thinking) << text;
      ASSERT_EQ(streamed.tool_calls.size(), whole.tool_calls.size()) << text;
      for (size_t i = 0; i < whole.tool_calls.size(); ++i) {
        ASSERT_EQ(streamed.tool_calls[i].name, whole.tool_calls[i].name) << text;
        ASSERT_EQ(streamed.tool_calls[i].arguments, whole.tool_calls[i].arguments) << text;
      }
      if (fmt == ToolCallFormat::kNone && text.find("<think>") == std::string::npos) {
        ASSERT_EQ(whole.content, text);
      }
    }
  }
}

// ---- Format detection
// ------------------------------------------------------------------------

TEST(DetectToolCallFormat, Rules) {
  EXPECT_EQ(detect_tool_call_format("{{ '[TOOL_CALLS]' + name }}"), ToolCallFormat::kMistral);
  EXPECT_EQ(detect_tool_call_format("{{ '<tool_call>\\n' }}"), ToolCallFormat::kHermes);
  EXPECT_EQ(detect_tool_call_format("{{ '<|python_tag|>' }}"), ToolCallFormat::kLlama3);
  EXPECT_EQ(detect_tool_call_format("{% if tools %}{{ tools | tojson }}{% endif %}"),
            ToolCallFormat::kGeneric);
  EXPECT_EQ(detect_tool_call_format("{{ messages[0].content }}"), ToolCallFormat::kNone);
}

// The llama.cpp source tree (with models/templates), or "" when the test should be skipped.
std::string llama_src_or_skip() {
  const char* dir = std::getenv("SILICA_LLAMA_SRC");
  if (dir && *dir) return dir;
  const char* req = std::getenv("SILICA_REQUIRE_PEERS");
  if (req && std::string(req) == "1")
    ADD_FAILURE() << "SILICA_REQUIRE_PEERS=1 but SILICA_LLAMA_SRC is unset";
  return "";
}

TEST(DetectToolCallFormat, RealTemplates) {
  const std::string src = llama_src_or_skip();
  if (src.empty()) {
    if (HasFailure()) return;
    GTEST_SKIP() << "SILICA_LLAMA_SRC is unset";
  }
  const std::pair<const char*, ToolCallFormat> cases[] = {
      {"Qwen-Qwen2.5-7B-Instruct", ToolCallFormat::kHermes},
      {"Qwen-Qwen3-0.6B", ToolCallFormat::kHermes},
      {"Qwen-QwQ-32B", ToolCallFormat::kHermes},
      {"Qwen3-Coder", ToolCallFormat::kHermes},
      {"Qwen3.5-4B", ToolCallFormat::kHermes},
      {"NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use", ToolCallFormat::kHermes},
      {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use", ToolCallFormat::kHermes},
      {"meta-llama-Llama-3.1-8B-Instruct", ToolCallFormat::kLlama3},
      {"meta-llama-Llama-3.2-3B-Instruct", ToolCallFormat::kLlama3},
      {"meta-llama-Llama-3.3-70B-Instruct", ToolCallFormat::kLlama3},
      {"mistralai-Mistral-Nemo-Instruct-2407", ToolCallFormat::kMistral},
      {"Mistral-Small-3.2-24B-Instruct-2506", ToolCallFormat::kMistral},
      {"unsloth-mistral-Devstral-Small-2507", ToolCallFormat::kMistral},
      {"mistralai-Ministral-3-14B-Reasoning-2512", ToolCallFormat::kMistral},
      {"google-gemma-2-2b-it", ToolCallFormat::kNone},
      {"microsoft-Phi-3.5-mini-instruct", ToolCallFormat::kNone},
      {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", ToolCallFormat::kNone},
      {"CohereForAI-c4ai-command-r-plus-tool_use", ToolCallFormat::kGeneric},
  };
  for (const auto& [name, want] : cases) {
    const std::string path = src + "/models/templates/" + name + ".jinja";
    std::ifstream f(path, std::ios::binary);
    ASSERT_TRUE(f) << "cannot read " << path;
    std::stringstream ss;
    ss << f.rdbuf();
    EXPECT_EQ(tool_call_format_name(detect_tool_call_format(ss.str())),
              std::string(tool_call_format_name(want)))
        << path;
  }
}

}  // namespace
}  // namespace silica

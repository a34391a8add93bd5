// Per-format recognizers behind ToolCallStreamParser (internal to the chat layer).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "chat/tool_calls.h"

namespace silica::tool_call_detail {

// JSON's whitespace (RFC 8259): space, tab, line feed, carriage return.
constexpr bool is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// How much of a candidate the text at hand shows. Decisions are prefix-stable: kNo / kFull
// (and kFail / kOk below) never change when more text arrives, which is what makes streaming
// in any piece sizes equal to parsing the whole.
enum class Prefix { kNo, kPartial, kFull };

// Where a call may start in running text.
enum Marker : int {
  kMarkerHermes,     // <tool_call>
  kMarkerMistral,    // [TOOL_CALLS]
  kMarkerPythonTag,  // <|python_tag|>
  kMarkerBareJson,   // {"name" ... (Llama 3 and generic)
};

inline constexpr std::string_view kHermesOpen = "<tool_call>";
inline constexpr std::string_view kHermesClose = "</tool_call>";
inline constexpr std::string_view kMistralOpen = "[TOOL_CALLS]";
inline constexpr std::string_view kMistralArgs = "[ARGS]";
inline constexpr std::string_view kMistralCallId = "[CALL_ID]";
inline constexpr std::string_view kPythonTag = "<|python_tag|>";

// Does `text` start with `lit`, or with a proper prefix of it that ends the text?
Prefix match_literal(std::string_view text, std::string_view lit);
// `{`, whitespace, then a key a call object starts with ("name", "type", "tool_calls", ...).
Prefix match_bare_json_start(std::string_view text);

enum class Scan { kNeedMore, kFail, kOk };
struct CallMatch {
  Scan scan = Scan::kNeedMore;
  size_t len = 0;  // kOk: characters consumed; kFail: characters to release as content (>= 1)
  std::vector<ToolCall> calls;  // ids still empty
};

// Each takes text starting at its marker. `final`: no more text will come, so an unfinished
// call fails (or, for Hermes, is accepted without its closing tag when the JSON is whole).
CallMatch match_hermes(std::string_view text, bool final);
CallMatch match_mistral(std::string_view text, bool final);
CallMatch match_python_tag(std::string_view text, bool final);
CallMatch match_bare_json(std::string_view text, bool final);

// {"name": ..., "arguments"|"parameters": ...} (also OpenAI's {"type": "function",
// "function": {...}}) as a call. require_args: a bare object in running text must carry its
// arguments key to count as a call; inside explicit markers it may be left out.
std::optional<ToolCall> call_from_json(const nlohmann::ordered_json& j, bool require_args);

// "call_" + 16 base-62 characters from a process-wide counter mixed with the call's text.
std::string make_call_id(const ToolCall& call);

}  // namespace silica::tool_call_detail

// Tool calls and reasoning in model output: which format a chat template asks for, and a
// parser (whole text or streamed pieces) that splits output into content, thinking and calls.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace silica {

// How a model family writes tool calls in its output.
//   kLlama3:  {"name": f, "parameters": {...}} (optionally "type": "function" first), possibly
//             after <|python_tag|>, several separated by ";" or newlines; also
//             <|python_tag|>tool.call(k="v") (built-in tools) and raw code after the tag.
//   kHermes:  <tool_call>{"name": f, "arguments": {...}}</tool_call>, several in a row
//             (Qwen2.5, Qwen3, QwQ, Hermes 2 Pro / 3 and the many templates copying them);
//             also the XML body of Qwen3-Coder / Qwen3.5: <tool_call><function=f>
//             <parameter=k>v</parameter></function></tool_call>.
//   kMistral: [TOOL_CALLS][{"name": f, "arguments": {...}, "id": ...}, ...] (Nemo) or
//             [TOOL_CALLS]f[ARGS]{...} / [TOOL_CALLS]f[CALL_ID]id[ARGS]{...} (newer templates).
//   kGeneric: a bare JSON object holding "name" and "arguments" or "parameters" (or
//             {"tool_calls": [...]}), anywhere in the output.
//   kNone:    no tool calls are looked for; reasoning is still split off.
// Every format also splits a leading <think>...</think> into `thinking`; kMistral also
// [THINK]...[/THINK].
enum class ToolCallFormat { kNone, kLlama3, kHermes, kMistral, kGeneric };

const char* tool_call_format_name(ToolCallFormat fmt);

// Picks the format from the template's text. Rules, first match wins:
//   1. "[TOOL_CALLS]"                                   -> kMistral
//   2. "<tool_call>"                                    -> kHermes
//   3. "<|python_tag|>" or "Environment: ipython", or a Llama 3 header template
//      ("<|start_header_id|>") whose tool prompt asks for "parameters" -> kLlama3
//   4. any other mention of "tools"                     -> kGeneric
//   5. otherwise                                        -> kNone
ToolCallFormat detect_tool_call_format(const std::string& chat_template);

struct ToolCall {
  std::string id;  // "call_" + 16 base-62 characters, unique in the process
  std::string name;
  nlohmann::ordered_json arguments;  // always an object; a JSON string holding JSON is parsed
};

struct ParsedOutput {
  std::string content;
  std::string thinking;
  std::vector<ToolCall> tool_calls;
};

// Splits a finished generation. Whitespace that only separates content from a call or a
// thinking block is dropped; every other character lands in content, thinking or a call:
// a would-be call that does not parse stays content, verbatim.
// starts_in_thinking: the prompt already opened the reasoning block (templates whose
// generation prompt ends in "<think>\n"), so output starts as thinking until "</think>".
ParsedOutput parse_model_output(std::string_view text, ToolCallFormat fmt,
                                bool starts_in_thinking = false);

// The same parse, fed piece by piece as tokens are decoded. The concatenated deltas equal
// parse_model_output() of the concatenated pieces (tool-call ids aside), however the text is cut.
class ToolCallStreamParser {
 public:
  explicit ToolCallStreamParser(ToolCallFormat fmt, bool starts_in_thinking = false);

  struct Delta {
    std::string content;
    std::string thinking;
    std::vector<ToolCall> tool_calls;
    bool empty() const { return content.empty() && thinking.empty() && tool_calls.empty(); }
  };

  // Content that is certainly not part of a call is released at once; text that may start a
  // call (or a marker), and whitespace that may turn out to precede one, is held. Deltas never
  // end inside a UTF-8 character.
  Delta feed(std::string_view piece);
  // At the end of generation: a call left unfinished or unparseable becomes content.
  Delta finish();

 private:
  enum class State { kText, kThinking, kCall };
  // Whitespace next to a call or a thinking block is held until it is known whether it
  // separates text from text (kept) or only touches the block (dropped).
  struct Channel {
    std::string held_ws;
    bool seg_after_block = false;  // the current run of text follows a call / thinking block
    bool seg_has_text = false;     // ... and has had non-whitespace in it
    bool emitted_any = false;
    std::string utf8_tail;  // an incomplete UTF-8 character kept for the next delta
  };

  void run(bool final, Delta& out);
  bool step_text(bool final, Delta& out);
  bool step_thinking(bool final, Delta& out);
  bool step_call(bool final, Delta& out);
  bool skip_llama_separator(bool final);
  void put_text(Channel& ch, std::string& sink, std::string_view s);
  static void block_boundary(Channel& ch);
  static void flush(Channel& ch, std::string& sink);
  static void cut_utf8_tail(Channel& ch, std::string& sink, bool final);

  ToolCallFormat fmt_;
  State state_ = State::kText;
  int call_marker_ = 0;      // which marker opened the call being held (tool_call_formats.h)
  std::string think_close_;  // closing tag of the open thinking block
  std::string buf_;          // text not yet released or parsed
  Channel content_;
  Channel thinking_;
  bool output_started_ = false;   // content or a call has appeared: <think> no longer opens
  bool after_json_call_ = false;  // a ";" right after a Llama 3 / generic call is a separator
  bool finished_ = false;
};

}  // namespace silica

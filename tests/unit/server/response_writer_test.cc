// Tool calls in responses: model-like output through the same ResponseWriter + API adapters the
// routes use, checked against the shapes Ollama and OpenAI document (whole and streamed).
#include <gtest/gtest.h>

#include <sstream>

#include "server/response_writer.h"

namespace silica {
namespace {

// What a Qwen / Hermes model writes when it calls a tool after a sentence.
constexpr const char* kHermesCall =
    "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": "
    "\"Paris\", \"days\": 2}}\n</tool_call>";
constexpr const char* kHermesTwoCalls =
    "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
    "</tool_call>\n<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2.5}}\n"
    "</tool_call>";
// Pieces the size of BPE tokens: the stream must not depend on where text is cut.
constexpr size_t kPieceLen = 3;

InferenceRequest request(ApiKind kind, bool with_tools) {
  InferenceRequest r;
  r.kind = kind;
  r.model = "m";
  r.chat = true;
  r.has_input = true;
  r.messages = Json::array({{{"role", "user"}, {"content", "Weather in Paris?"}}});
  if (with_tools)
    r.tools = Json::parse(R"([{"type":"function","function":{"name":"get_weather",
        "parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}])");
  return r;
}

std::shared_ptr<ResponseAdapter> adapter_for(const InferenceRequest& r) {
  if (r.kind == ApiKind::kOpenAiChat) return make_openai_adapter(r);
  return make_ollama_adapter(r);
}

ResponseWriter writer_for(const InferenceRequest& r, ToolCallFormat fmt) {
  return ResponseWriter(adapter_for(r), ResponseWriter::wants_parsing(r), fmt);
}

Completion finished(const std::string& text, const char* done_reason = "stop") {
  Completion c;
  c.model = "m";
  c.text = text;
  c.stats.done_reason = done_reason;
  c.stats.n_generated = 9;
  c.n_prompt = 5;
  return c;
}

// Streams `text` in kPieceLen pieces; returns the streamed bytes.
std::string stream(const InferenceRequest& r, ToolCallFormat fmt, const std::string& text,
                   const char* done_reason = "stop") {
  ResponseWriter w = writer_for(r, fmt);
  Completion c = finished("", done_reason);
  std::string out;
  for (size_t i = 0; i < text.size(); i += kPieceLen) out += w.piece(text.substr(i, kPieceLen), c);
  return out + w.end(c);
}

std::vector<Json> ndjson_lines(const std::string& body) {
  std::vector<Json> out;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(Json::parse(line));
  return out;
}

// SSE "data: {...}" events; the terminating [DONE] is checked and dropped.
std::vector<Json> sse_events(const std::string& body) {
  std::vector<Json> out;
  std::istringstream in(body);
  std::string last;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    EXPECT_EQ(line.rfind("data: ", 0), 0u) << line;
    last = line.substr(6);
    if (last != "[DONE]") out.push_back(Json::parse(last));
  }
  EXPECT_EQ(last, "[DONE]");
  return out;
}

TEST(ResponseWriter, OllamaWholeSplitsTheCallFromContent) {
  const InferenceRequest r = request(ApiKind::kOllamaChat, true);
  ResponseWriter w = writer_for(r, ToolCallFormat::kHermes);
  Completion c = finished(kHermesCall);
  const Json j = w.whole(c);
  const Json& msg = j["message"];
  EXPECT_EQ(msg["role"], "assistant");
  EXPECT_EQ(msg["content"], "Let me check.");
  ASSERT_EQ(msg["tool_calls"].size(), 1u);
  const Json& fn = msg["tool_calls"][0]["function"];
  EXPECT_EQ(fn["name"], "get_weather");
  ASSERT_TRUE(fn["arguments"].is_object());  // Ollama: arguments are an object
  EXPECT_EQ(fn["arguments"], Json::parse(R"({"city":"Paris","days":2})"));
  EXPECT_EQ(j["done"], true);
  EXPECT_EQ(j["done_reason"], "stop");
  EXPECT_FALSE(msg.contains("thinking"));
}

TEST(ResponseWriter, OllamaStreamCarriesTheCallInTheChunkThatCompletesIt) {
  const InferenceRequest r = request(ApiKind::kOllamaChat, true);
  const std::vector<Json> lines = ndjson_lines(stream(r, ToolCallFormat::kHermes, kHermesCall));
  ASSERT_GE(lines.size(), 2u);
  std::string content;
  int n_with_calls = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const Json& msg = lines[i]["message"];
    EXPECT_EQ(lines[i]["done"], i + 1 == lines.size());
    content += msg["content"].get<std::string>();
    if (!msg.contains("tool_calls")) continue;
    ++n_with_calls;
    ASSERT_EQ(msg["tool_calls"].size(), 1u);
    EXPECT_EQ(msg["tool_calls"][0]["function"]["name"], "get_weather");
    EXPECT_EQ(msg["tool_calls"][0]["function"]["arguments"]["city"], "Paris");
  }
  EXPECT_EQ(n_with_calls, 1);
  EXPECT_EQ(content, "Let me check.");  // the call's text never reaches content
  // Nothing of the call leaks before it is complete: no chunk holds "<tool_call>".
  for (const Json& l : lines)
    EXPECT_EQ(l["message"]["content"].get<std::string>().find("<tool"), std::string::npos);
}

TEST(ResponseWriter, OpenAiWholeHasStringArgumentsAndToolCallsFinish) {
  const InferenceRequest r = request(ApiKind::kOpenAiChat, true);
  ResponseWriter w = writer_for(r, ToolCallFormat::kHermes);
  Completion c = finished(kHermesTwoCalls);
  const Json j = w.whole(c);
  const Json& choice = j["choices"][0];
  EXPECT_EQ(choice["finish_reason"], "tool_calls");
  const Json& msg = choice["message"];
  EXPECT_TRUE(msg["content"].is_null());  // OpenAI: null content beside calls
  ASSERT_EQ(msg["tool_calls"].size(), 2u);
  for (const Json& call : msg["tool_calls"]) {
    EXPECT_EQ(call["type"], "function");
    EXPECT_EQ(call["id"].get<std::string>().rfind("call_", 0), 0u);
    ASSERT_TRUE(call["function"]["arguments"].is_string());  // OpenAI: a JSON string
    EXPECT_FALSE(call.contains("index"));
  }
  EXPECT_NE(msg["tool_calls"][0]["id"], msg["tool_calls"][1]["id"]);
  EXPECT_EQ(msg["tool_calls"][0]["function"]["name"], "get_weather");
  EXPECT_EQ(Json::parse(msg["tool_calls"][0]["function"]["arguments"].get<std::string>()),
            Json::parse(R"({"city":"Paris"})"));
  EXPECT_EQ(msg["tool_calls"][1]["function"]["name"], "add");
  EXPECT_EQ(Json::parse(msg["tool_calls"][1]["function"]["arguments"].get<std::string>()),
            Json::parse(R"({"a":1,"b":2.5})"));
  EXPECT_EQ(j["usage"]["completion_tokens"], 9);
}

TEST(ResponseWriter, OpenAiStreamSendsIndexedToolCallDeltas) {
  const InferenceRequest r = request(ApiKind::kOpenAiChat, true);
  const std::vector<Json> events = sse_events(stream(r, ToolCallFormat::kHermes, kHermesTwoCalls));
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.front()["choices"][0]["delta"]["role"], "assistant");
  std::vector<Json> calls;
  std::string content, finish;
  for (const Json& e : events) {
    EXPECT_EQ(e["object"], "chat.completion.chunk");
    const Json& choice = e["choices"][0];
    const Json& delta = choice["delta"];
    if (delta.contains("content") && delta["content"].is_string())
      content += delta["content"].get<std::string>();
    if (delta.contains("tool_calls"))
      for (const Json& tc : delta["tool_calls"]) calls.push_back(tc);
    if (!choice["finish_reason"].is_null()) finish = choice["finish_reason"];
  }
  EXPECT_EQ(content, "");
  EXPECT_EQ(finish, "tool_calls");
  ASSERT_EQ(calls.size(), 2u);
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(calls[i]["index"], int(i));  // OpenAI numbers streamed calls from 0
    EXPECT_EQ(calls[i]["type"], "function");
    EXPECT_EQ(calls[i]["id"].get<std::string>().rfind("call_", 0), 0u);
    ASSERT_TRUE(calls[i]["function"]["arguments"].is_string());
  }
  EXPECT_EQ(calls[1]["function"]["name"], "add");
  EXPECT_EQ(Json::parse(calls[1]["function"]["arguments"].get<std::string>())["b"], 2.5);
}

TEST(ResponseWriter, WithoutToolsTheOutputIsLeftAlone) {
  const InferenceRequest r = request(ApiKind::kOllamaChat, false);
  ResponseWriter w = writer_for(r, ToolCallFormat::kHermes);
  Completion c = finished(kHermesCall);
  const Json j = w.whole(c);
  EXPECT_EQ(j["message"]["content"], kHermesCall);
  EXPECT_FALSE(j["message"].contains("tool_calls"));
  std::string streamed;
  for (const Json& l : ndjson_lines(stream(r, ToolCallFormat::kHermes, kHermesCall)))
    streamed += l["message"]["content"].get<std::string>();
  EXPECT_EQ(streamed, kHermesCall);
}

TEST(ResponseWriter, Llama3JsonCallsAndCutOffAnswers) {
  const InferenceRequest r = request(ApiKind::kOpenAiChat, true);
  ResponseWriter w = writer_for(r, ToolCallFormat::kLlama3);
  Completion c = finished(R"({"name": "get_weather", "parameters": {"city": "Oslo"}})");
  const Json j = w.whole(c);
  ASSERT_EQ(j["choices"][0]["message"]["tool_calls"].size(), 1u);
  EXPECT_EQ(j["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"],
            R"({"city":"Oslo"})");
  // A half-written call that hit the token limit stays text, and the finish says "length".
  const std::string cut = "<tool_call>\n{\"name\": \"get_wea";
  const InferenceRequest h = request(ApiKind::kOpenAiChat, true);
  const std::vector<Json> events = sse_events(stream(h, ToolCallFormat::kHermes, cut, "length"));
  std::string content;
  for (const Json& e : events)
    if (e["choices"][0]["delta"].contains("content"))
      content += e["choices"][0]["delta"]["content"].get<std::string>();
  EXPECT_EQ(content, cut);
  EXPECT_EQ(events.back()["choices"][0]["finish_reason"], "length");
}

TEST(ResponseWriter, ReasoningGoesToThinking) {
  const InferenceRequest r = request(ApiKind::kOllamaChat, true);
  ResponseWriter w = writer_for(r, ToolCallFormat::kHermes);
  Completion c = finished("<think>\nThe user wants weather.\n</think>\n\nIt is sunny.");
  const Json j = w.whole(c);
  EXPECT_EQ(j["message"]["content"], "It is sunny.");
  EXPECT_EQ(j["message"]["thinking"], "The user wants weather.");
  const InferenceRequest o = request(ApiKind::kOpenAiChat, true);
  ResponseWriter wo = writer_for(o, ToolCallFormat::kHermes);
  Completion co = finished("<think>\nhmm\n</think>\n\nIt is sunny.");
  const Json jo = wo.whole(co);
  EXPECT_EQ(jo["choices"][0]["message"]["reasoning_content"], "hmm");
  EXPECT_EQ(jo["choices"][0]["finish_reason"], "stop");
}

}  // namespace
}  // namespace silica

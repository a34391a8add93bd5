// OpenAI API: /v1/chat/completions, /v1/completions, /v1/embeddings (/v1/models: model_routes).
#include <atomic>

#include "server/server_state.h"

namespace silica {
namespace {

std::string new_id(const char* prefix) {
  static std::atomic<uint64_t> counter{0};
  return fmt::format("{}-{:x}{:06x}", prefix, unix_now_s(), ++counter);
}

// As OpenAI: "tool_calls" when the answer called tools, unless it was cut off.
const char* finish_reason(const Completion& c) {
  if (c.stats.done_reason == "length") return "length";
  return c.tool_calls.empty() ? "stop" : "tool_calls";
}

// OpenAI's tool call: arguments are a JSON string; `index` only in streamed deltas.
Json openai_tool_call(const ToolCall& call, int index) {
  Json j = Json::object();
  if (index >= 0) j["index"] = index;
  j["id"] = call.id;
  j["type"] = "function";
  j["function"] = {
      {"name", call.name},
      {"arguments", call.arguments.dump(-1, ' ', false, Json::error_handler_t::replace)}};
  return j;
}

class OpenAiAdapter : public ResponseAdapter {
 public:
  explicit OpenAiAdapter(const InferenceRequest& r)
      : chat_(r.kind == ApiKind::kOpenAiChat),
        include_usage_(r.include_usage),
        model_(r.model),
        id_(new_id(chat_ ? "chatcmpl" : "cmpl")),
        created_(unix_now_s()) {}
  const char* stream_content_type() const override { return "text/event-stream"; }

  std::string chunk(const OutputDelta& d) override {
    Json choice = {{"index", 0}};
    if (chat_) {
      choice["delta"] = delta(d);
    } else {
      choice["text"] = d.content;
      choice["logprobs"] = nullptr;
    }
    choice["finish_reason"] = nullptr;
    first_ = false;
    return event(head(true, Json::array({choice})));
  }

  std::string end(const Completion& c) override {
    Json choice = {{"index", 0}};
    if (chat_) {
      choice["delta"] = first_ ? Json({{"role", "assistant"}, {"content", ""}}) : Json::object();
    } else {
      choice["text"] = "";
      choice["logprobs"] = nullptr;
    }
    choice["finish_reason"] = finish_reason(c);
    std::string out = event(head(true, Json::array({choice})));
    if (include_usage_) {
      Json u = head(true, Json::array());
      u["usage"] = usage(c);
      out += event(u);
    }
    return out + "data: [DONE]\n\n";
  }

  Json whole(const Completion& c) override {
    Json choice = {{"index", 0}};
    if (chat_) {
      Json msg = {{"role", "assistant"}};
      // OpenAI sends null content beside tool calls.
      msg["content"] = c.text.empty() && !c.tool_calls.empty() ? Json(nullptr) : Json(c.text);
      if (!c.thinking.empty()) msg["reasoning_content"] = c.thinking;
      if (!c.tool_calls.empty()) {
        msg["tool_calls"] = Json::array();
        for (const ToolCall& call : c.tool_calls)
          msg["tool_calls"].push_back(openai_tool_call(call, -1));
      }
      choice["message"] = std::move(msg);
    } else {
      choice["text"] = c.text;
      choice["logprobs"] = nullptr;
    }
    choice["finish_reason"] = finish_reason(c);
    Json j = head(false, Json::array({choice}));
    j["usage"] = usage(c);
    return j;
  }

  std::string stream_error(const std::string& message) override {
    return event({{"error",
                   {{"message", message},
                    {"type", "api_error"},
                    {"param", nullptr},
                    {"code", nullptr}}}}) +
           "data: [DONE]\n\n";
  }

 private:
  // A chat delta: role on the first; each completed call whole (name and all its arguments in
  // one delta, which OpenAI's clients accumulate like fragments), numbered by `index`.
  Json delta(const OutputDelta& d) {
    Json delta = Json::object();
    if (first_) delta["role"] = "assistant";
    if (!d.content.empty() || (d.thinking.empty() && d.tool_calls.empty())) {
      delta["content"] = d.content;
    } else if (first_) {
      delta["content"] = nullptr;
    }
    if (!d.thinking.empty()) delta["reasoning_content"] = d.thinking;
    if (!d.tool_calls.empty()) {
      delta["tool_calls"] = Json::array();
      for (const ToolCall& call : d.tool_calls)
        delta["tool_calls"].push_back(openai_tool_call(call, n_calls_++));
    }
    return delta;
  }
  static std::string event(const Json& j) {
    return "data: " + j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n\n";
  }
  Json head(bool stream, Json choices) const {
    const char* object =
        chat_ ? (stream ? "chat.completion.chunk" : "chat.completion") : "text_completion";
    return {{"id", id_},
            {"object", object},
            {"created", created_},
            {"model", model_},
            {"system_fingerprint", "fp_silica"},
            {"choices", std::move(choices)}};
  }
  static Json usage(const Completion& c) {
    return {{"prompt_tokens", c.n_prompt},
            {"completion_tokens", c.stats.n_generated},
            {"total_tokens", c.n_prompt + c.stats.n_generated}};
  }

  bool chat_, include_usage_;
  std::string model_, id_;
  int64_t created_;
  bool first_ = true;
  int n_calls_ = 0;  // tool calls streamed so far: the next one's index
};

void handle_inference(ServerState& state, const httplib::Request& req, httplib::Response& res,
                      Expected<InferenceRequest> (*parse)(const Json&)) {
  Json body;
  if (!parse_json_body(req, res, true, body)) return;
  auto r = parse(body);
  if (!r) return send_error(res, true, 400, r.message());
  state.serve_inference(req, *r, std::make_shared<OpenAiAdapter>(*r), res, true);
}

}  // namespace

std::unique_ptr<ResponseAdapter> make_openai_adapter(const InferenceRequest& r) {
  return std::make_unique<OpenAiAdapter>(r);
}

void add_openai_routes(httplib::Server& svr, ServerState& state) {
  svr.Post("/v1/chat/completions", [&state](const httplib::Request& req, httplib::Response& res) {
    handle_inference(state, req, res, parse_openai_chat);
  });
  svr.Post("/v1/completions", [&state](const httplib::Request& req, httplib::Response& res) {
    handle_inference(state, req, res, parse_openai_completion);
  });
  svr.Post("/v1/embeddings", [&state](const httplib::Request& req, httplib::Response& res) {
    Json body;
    if (!parse_json_body(req, res, true, body)) return;
    auto r = parse_openai_embed(body);
    if (!r) return send_error(res, true, 400, r.message());
    state.serve_embed(*r, res, true);
  });
}

}  // namespace silica

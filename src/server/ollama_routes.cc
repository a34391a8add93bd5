// Ollama API: /, /api/version, /api/generate, /api/chat, /api/embed, /api/embeddings.
#include "server/server_state.h"

namespace silica {
namespace {

class OllamaAdapter : public ResponseAdapter {
 public:
  explicit OllamaAdapter(const InferenceRequest& r)
      : chat_(r.kind == ApiKind::kOllamaChat), model_(r.model) {}
  const char* stream_content_type() const override { return "application/x-ndjson"; }

  std::string chunk(const OutputDelta& d) override {
    Json j = head();
    put_text(j, d.content, d.thinking, d.tool_calls);
    j["done"] = false;
    return j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  }

  std::string end(const Completion& c) override {
    Json j = head();
    put_text(j, "", "", {});
    put_final(j, c, /*with_context=*/true);
    return j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  }

  Json whole(const Completion& c) override {
    Json j = head();
    put_text(j, c.text, c.thinking, c.tool_calls);
    put_final(j, c, true);
    return j;
  }

  std::string stream_error(const std::string& message) override {
    return Json({{"error", message}}).dump() + "\n";
  }

 private:
  Json head() const { return {{"model", model_}, {"created_at", rfc3339_now()}}; }

  // Ollama's message: tool calls as {function: {name, arguments: OBJECT}}; "thinking" only
  // when the output had a reasoning block.
  void put_text(Json& j, const std::string& text, const std::string& thinking,
                const std::vector<ToolCall>& calls) const {
    if (chat_) {
      Json msg = {{"role", "assistant"}, {"content", text}};
      if (!thinking.empty()) msg["thinking"] = thinking;
      if (!calls.empty()) {
        Json list = Json::array();
        for (const ToolCall& call : calls)
          list.push_back({{"function", {{"name", call.name}, {"arguments", call.arguments}}}});
        msg["tool_calls"] = std::move(list);
      }
      j["message"] = std::move(msg);
    } else {
      j["response"] = text;
    }
  }

  void put_final(Json& j, const Completion& c, bool with_context) const {
    j["done"] = true;
    j["done_reason"] = c.stats.done_reason == "cancel" ? "stop" : c.stats.done_reason;
    if (!chat_ && with_context && !c.context.empty()) j["context"] = c.context;
    j["total_duration"] = c.total_ns;
    j["load_duration"] = c.load_ns;
    if (c.stats.done_reason == "load" || c.stats.done_reason == "unload") return;
    j["prompt_eval_count"] = c.n_prompt;
    j["prompt_eval_duration"] = c.stats.prompt_ns;
    j["eval_count"] = c.stats.n_generated;
    j["eval_duration"] = c.stats.generate_ns;
  }

  bool chat_;
  std::string model_;
};

void handle_inference(ServerState& state, const httplib::Request& req, httplib::Response& res,
                      Expected<InferenceRequest> (*parse)(const Json&)) {
  Json body;
  if (!parse_json_body(req, res, false, body)) return;
  auto r = parse(body);
  if (!r) return send_error(res, false, 400, r.message());
  state.serve_inference(req, *r, std::make_shared<OllamaAdapter>(*r), res, false);
}

void handle_embed(ServerState& state, const httplib::Request& req, httplib::Response& res,
                  bool legacy) {
  Json body;
  if (!parse_json_body(req, res, false, body)) return;
  auto r = parse_ollama_embed(body, legacy);
  if (!r) return send_error(res, false, 400, r.message());
  state.serve_embed(*r, res, false);
}

}  // namespace

std::unique_ptr<ResponseAdapter> make_ollama_adapter(const InferenceRequest& r) {
  return std::make_unique<OllamaAdapter>(r);
}

void add_ollama_routes(httplib::Server& svr, ServerState& state) {
  auto running = [](const httplib::Request&, httplib::Response& res) {
    res.set_content("Ollama is running", "text/plain; charset=utf-8");
  };
  svr.Get("/", running);
  svr.Get("/api/version", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(Json({{"version", "0.1.0"}}).dump(), "application/json; charset=utf-8");
  });
  svr.Post("/api/generate", [&state](const httplib::Request& req, httplib::Response& res) {
    handle_inference(state, req, res, parse_ollama_generate);
  });
  svr.Post("/api/chat", [&state](const httplib::Request& req, httplib::Response& res) {
    handle_inference(state, req, res, parse_ollama_chat);
  });
  svr.Post("/api/embed", [&state](const httplib::Request& req, httplib::Response& res) {
    handle_embed(state, req, res, false);
  });
  svr.Post("/api/embeddings", [&state](const httplib::Request& req, httplib::Response& res) {
    handle_embed(state, req, res, true);
  });
}

}  // namespace silica

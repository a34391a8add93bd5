// OpenAI API: /v1/chat/completions, /v1/completions, /v1/embeddings (/v1/models: model_routes).
#include <atomic>

#include "server/server_state.h"

namespace silica {
namespace {

std::string new_id(const char* prefix) {
  static std::atomic<uint64_t> counter{0};
  return fmt::format("{}-{:x}{:06x}", prefix, unix_now_s(), ++counter);
}

const char* finish_reason(const std::string& done_reason) {
  return done_reason == "length" ? "length" : "stop";
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

  std::string chunk(const std::string& piece) override {
    Json choice = {{"index", 0}};
    if (chat_) {
      Json delta = {{"content", piece}};
      if (first_) delta["role"] = "assistant";
      choice["delta"] = delta;
    } else {
      choice["text"] = piece;
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
    choice["finish_reason"] = finish_reason(c.stats.done_reason);
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
      choice["message"] = {{"role", "assistant"}, {"content", c.text}};
    } else {
      choice["text"] = c.text;
      choice["logprobs"] = nullptr;
    }
    choice["finish_reason"] = finish_reason(c.stats.done_reason);
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
};

void handle_inference(ServerState& state, const httplib::Request& req, httplib::Response& res,
                      Expected<InferenceRequest> (*parse)(const Json&)) {
  Json body;
  if (!parse_json_body(req, res, true, body)) return;
  auto r = parse(body);
  if (!r) return send_error(res, true, 400, r.message());
  state.serve_inference(*r, std::make_shared<OpenAiAdapter>(*r), res, true);
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

// What the route files share: the model manager, counters for /metrics, the one generation
// path every API's route goes through, and the per-API response adapters' interface.
#pragma once

#include <httplib.h>

#include <atomic>
#include <memory>
#include <string>

#include "chat/tool_calls.h"
#include "server/api_request.h"
#include "server/model_manager.h"

namespace silica {

// The result of one generation, in engine terms; adapters format it for their API.
struct Completion {
  std::string model;  // the name the client used
  std::string text;   // content: tool calls and reasoning split off when the output was parsed
  std::string thinking;
  std::vector<ToolCall> tool_calls;  // streamed: every call sent so far
  GenerateStats stats;
  int64_t load_ns = 0, total_ns = 0;
  int64_t n_prompt = 0;          // every prompt token (evaluated or reused from the cache)
  std::vector<int32_t> context;  // prompt then generated tokens (Ollama's "context")
};

// One streamed step of output: text, reasoning and the tool calls completed by it.
using OutputDelta = ToolCallStreamParser::Delta;

// Formats one API's responses. Adapters translate only: generation happens in ServerState,
// splitting tool calls out of the text in ResponseWriter (response_writer.h).
class ResponseAdapter {
 public:
  virtual ~ResponseAdapter() = default;
  virtual const char* stream_content_type() const = 0;
  virtual std::string chunk(const OutputDelta& d) = 0;  // one streamed step (never empty)
  virtual std::string end(const Completion& c) = 0;     // the final streamed event(s)
  virtual Json whole(const Completion& c) = 0;          // the non-streamed response
  virtual std::string stream_error(const std::string& message) = 0;
};

std::unique_ptr<ResponseAdapter> make_ollama_adapter(const InferenceRequest& r);
std::unique_ptr<ResponseAdapter> make_openai_adapter(const InferenceRequest& r);

struct ServerCounters {
  std::atomic<int64_t> http_requests{0}, generations{0}, prompt_tokens{0}, generated_tokens{0};
  std::atomic<int64_t> eval_ns{0}, errors{0};
};

class ServerState {
 public:
  explicit ServerState(const ServerOptions& opts) : opts(opts), models(opts) {}

  // The one generation path: resolve, load, format, tokenize, queue, stream or collect.
  // `req` is the HTTP request it came on: a client that hangs up cancels its generation.
  void serve_inference(const httplib::Request& req, const InferenceRequest& r,
                       std::shared_ptr<ResponseAdapter> adapter, httplib::Response& res,
                       bool openai);
  // Embeddings for /api/embed, /api/embeddings and /v1/embeddings.
  void serve_embed(const EmbedRequest& r, httplib::Response& res, bool openai);

  // Resolves a model name; sends 404 in the API's shape when it is not found.
  bool resolve_or_404(const std::string& name, std::string& path, httplib::Response& res,
                      bool openai);

  ServerOptions opts;
  ModelManager models;
  ServerCounters counters;
  std::atomic<bool> shutting_down{false};
  std::atomic<int> open_streams{0};
};

// Error bodies: Ollama {"error": "..."}; OpenAI {"error": {"message", "type", "param", "code"}}.
void send_error(httplib::Response& res, bool openai, int status, const std::string& message);
// Parses the body as JSON; on failure answers 400 and returns false.
bool parse_json_body(const httplib::Request& req, httplib::Response& res, bool openai, Json& out);
std::string rfc3339_now();
std::string rfc3339(int64_t unix_ns);
int64_t unix_now_s();

void add_ollama_routes(httplib::Server& svr, ServerState& state);
void add_openai_routes(httplib::Server& svr, ServerState& state);
void add_model_routes(httplib::Server& svr, ServerState& state);

}  // namespace silica

// The generation and embedding paths shared by every route, and response helpers.
#include "server/server_state.h"

#include <chrono>
#include <ctime>

#include "base/log.h"
#include "base/timer.h"
#include "engine/embed.h"
#include "sample/json_schema.h"
#include "server/client_connection.h"
#include "server/generation.h"
#include "server/prompt.h"
#include "server/response_writer.h"

namespace silica {

// How often a waiting stream checks for a gone client or a shutdown.
inline constexpr int kStreamPollMs = 100;

namespace {

const char* openai_error_type(int status) {
  if (status == 401) return "authentication_error";
  if (status == 404 || status == 400 || status == 413) return "invalid_request_error";
  if (status == 503) return "server_busy";
  return "api_error";
}

// Holds a model in use for one request; releases it (keep_alive applies) at the end.
struct ModelLease {
  ModelManager* manager;
  std::shared_ptr<ServedModel> model;
  std::optional<int64_t> keep_alive;
  ~ModelLease() { manager->release(model, keep_alive); }
};

// Everything a streaming response holds until its connection is done with it.
struct StreamContext {
  ServerState* state = nullptr;
  std::unique_ptr<ModelLease> lease;
  std::unique_ptr<GenerationStream> gen;
  std::unique_ptr<ResponseWriter> writer;
  Completion c;
  ~StreamContext() { --state->open_streams; }
};

void record(ServerState& s, const Completion& c) {
  s.counters.generations++;
  s.counters.prompt_tokens += c.stats.n_prompt;
  s.counters.generated_tokens += c.stats.n_generated;
  s.counters.eval_ns += c.stats.generate_ns;
}

void fill_completion(Completion& c, const GenerationStream& g, int64_t t0) {
  c.stats = g.stats();
  c.context.insert(c.context.end(), c.stats.tokens.begin(), c.stats.tokens.end());
  c.total_ns = now_ns() - t0;
}

// The grammar of a request's format: null for plain text. "json" is compiled once.
Expected<std::shared_ptr<const Grammar>> format_grammar(const InferenceRequest& r) {
  if (r.format == OutputFormat::kText) return std::shared_ptr<const Grammar>();
  if (r.format == OutputFormat::kJson) {
    static const Expected<Grammar> json = json_grammar();
    if (!json) return make_error("the JSON grammar does not compile: {}", json.message());
    static const auto shared = std::make_shared<const Grammar>(json.value());
    return shared;
  }
  auto g = json_schema_grammar(r.schema);
  if (!g) return make_error("the JSON schema cannot be used as a grammar: {}", g.message());
  return std::make_shared<const Grammar>(std::move(*g));
}

}  // namespace

int64_t unix_now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string rfc3339(int64_t unix_ns) {
  const std::time_t secs = std::time_t(unix_ns / kNsPerSecond);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:09d}Z", buf, unix_ns % kNsPerSecond);
}

std::string rfc3339_now() {
  return rfc3339(std::chrono::duration_cast<std::chrono::nanoseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count());
}

void send_error(httplib::Response& res, bool openai, int status, const std::string& message) {
  Json body;
  if (openai) {
    Json code = nullptr;
    if (status == 404) code = "model_not_found";
    if (status == 401) code = "invalid_api_key";
    body = {{"error",
             {{"message", message},
              {"type", openai_error_type(status)},
              {"param", nullptr},
              {"code", code}}}};
  } else {
    body = {{"error", message}};
  }
  res.status = status;
  res.set_content(body.dump(), "application/json; charset=utf-8");
}

bool parse_json_body(const httplib::Request& req, httplib::Response& res, bool openai, Json& out) {
  if (req.body.empty()) {
    send_error(res, openai, 400, "missing request body");
    return false;
  }
  try {
    out = Json::parse(req.body);
  } catch (const std::exception& e) {  // the parser's message says where it broke
    send_error(res, openai, 400, std::string("invalid JSON body: ") + e.what());
    return false;
  }
  return true;
}

bool ServerState::resolve_or_404(const std::string& name, std::string& path, httplib::Response& res,
                                 bool openai) {
  path = models.resolve(name);
  if (!path.empty()) return true;
  send_error(res, openai, 404, fmt::format("model '{}' not found, try pulling it first", name));
  return false;
}

void ServerState::serve_inference(const httplib::Request& req, const InferenceRequest& r_in,
                                  std::shared_ptr<ResponseAdapter> adapter, httplib::Response& res,
                                  bool openai) {
  const int64_t t0 = now_ns();
  if (shutting_down) return send_error(res, openai, 503, "the server is shutting down");
  std::string path;
  if (!resolve_or_404(r_in.model, path, res, openai)) return;
  InferenceRequest r = r_in;  // with a store model's PARAMETER / SYSTEM / MESSAGE / TEMPLATE
  if (Status st = models.apply_model_layers(r); !st.ok())
    return send_error(res, openai, 500, st.message());
  auto m = models.acquire(r.model, path, r.num_ctx);
  if (!m) return send_error(res, openai, 500, m.message());
  auto lease = std::make_unique<ModelLease>(ModelLease{&models, *m, r.keep_alive_ns});
  Completion c;
  c.model = r.model;
  c.load_ns = now_ns() - t0;
  if (!r.has_input) {  // load (or unload with keep_alive 0) only
    c.stats.done_reason = r.keep_alive_ns && *r.keep_alive_ns == 0 ? "unload" : "load";
    c.total_ns = now_ns() - t0;
    res.set_content(adapter->whole(c).dump(), "application/json; charset=utf-8");
    return;
  }
  auto prompt = build_prompt_tokens(**m, r);
  if (!prompt) return send_error(res, openai, 400, prompt.message());
  c.n_prompt = int64_t(prompt->size());
  c.context = *prompt;
  GenerateParams params = r.params;
  auto grammar = format_grammar(r);
  if (!grammar) return send_error(res, openai, 400, grammar.message());
  params.grammar = *grammar;
  if (Status st = validate_sampler_params(params.sampling, (*m)->lm.tokenizer->n_vocab()); !st.ok())
    return send_error(res, openai, 400, st.message());
  // The model's template decides how it writes tool calls; a request's own template is only
  // for /api/generate, which is never parsed.
  auto writer = std::make_unique<ResponseWriter>(adapter, ResponseWriter::wants_parsing(r),
                                                 (*m)->tool_format);
  auto gen = GenerationStream::start(*m, std::move(*prompt), params);
  if (!gen) return send_error(res, openai, is_busy_error(gen.message()) ? 503 : 400, gen.message());
  if (!r.stream) {
    std::vector<std::string> pieces;
    bool cancelled = false;
    const ClientConnection client(req);  // a client that hangs up frees its slot
    while (!(*gen)->wait(pieces, kStreamPollMs))
      if ((shutting_down || client.closed()) && !cancelled) (*gen)->cancel(), cancelled = true;
    for (const std::string& p : pieces) c.text += p;
    fill_completion(c, **gen, t0);
    record(*this, c);
    if (!(*gen)->status().ok()) return send_error(res, openai, 500, (*gen)->status().message());
    res.set_content(writer->whole(c).dump(-1, ' ', false, Json::error_handler_t::replace),
                    "application/json; charset=utf-8");
    return;
  }
  ++open_streams;
  auto ctx = std::make_shared<StreamContext>();
  ctx->state = this;
  ctx->lease = std::move(lease);
  ctx->gen = std::move(*gen);
  ctx->writer = std::move(writer);
  ctx->c = std::move(c);
  res.set_chunked_content_provider(
      adapter->stream_content_type(), [ctx, t0](size_t, httplib::DataSink& sink) {
        std::vector<std::string> pieces;
        if (ctx->state->shutting_down) ctx->gen->cancel();
        const bool done = ctx->gen->wait(pieces, kStreamPollMs);
        for (const std::string& p : pieces) {
          const std::string out = ctx->writer->piece(p, ctx->c);
          if (!out.empty() && !sink.write(out.data(), out.size())) {
            ctx->gen->cancel();  // the client went away: free its slot now
            return false;
          }
        }
        if (!done) {
          if (!sink.is_writable()) {
            ctx->gen->cancel();
            return false;
          }
          return true;
        }
        fill_completion(ctx->c, *ctx->gen, t0);
        record(*ctx->state, ctx->c);
        const std::string out = ctx->gen->status().ok()
                                    ? ctx->writer->end(ctx->c)
                                    : ctx->writer->stream_error(ctx->gen->status().message());
        sink.write(out.data(), out.size());
        sink.done();
        return true;
      });
}

namespace {

std::string base64_floats(const std::vector<float>& v) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* b = reinterpret_cast<const uint8_t*>(v.data());  // little-endian float32, as OpenAI
  const size_t n = v.size() * sizeof(float);
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  for (size_t i = 0; i < n; i += 3) {
    const uint32_t x = uint32_t(b[i]) << 16 | (i + 1 < n ? uint32_t(b[i + 1]) << 8 : 0) |
                       (i + 2 < n ? uint32_t(b[i + 2]) : 0);
    out += kAlphabet[(x >> 18) & 63];
    out += kAlphabet[(x >> 12) & 63];
    out += i + 1 < n ? kAlphabet[(x >> 6) & 63] : '=';
    out += i + 2 < n ? kAlphabet[x & 63] : '=';
  }
  return out;
}

}  // namespace

void ServerState::serve_embed(const EmbedRequest& r, httplib::Response& res, bool openai) {
  const int64_t t0 = now_ns();
  if (shutting_down) return send_error(res, openai, 503, "the server is shutting down");
  std::string path;
  if (!resolve_or_404(r.model, path, res, openai)) return;
  auto m = models.acquire(r.model, path, r.num_ctx);
  if (!m) return send_error(res, openai, 500, m.message());
  ModelLease lease{&models, *m, r.keep_alive_ns};
  const int64_t load_ns = now_ns() - t0;
  Json vectors = Json::array();
  int64_t n_tokens = 0;
  for (const std::string& text : r.inputs) {
    auto ids = embed_tokens(**m, text, r.truncate);
    if (!ids) return send_error(res, openai, 400, ids.message());
    n_tokens += int64_t(ids->size());
    auto e = embed_tokens_mean((*m)->lm, *ids, r.n_threads > 0 ? r.n_threads : opts.n_threads);
    if (!e) return send_error(res, openai, 500, e.message());
    if (r.base64) {
      vectors.push_back(base64_floats(*e));
    } else {
      vectors.push_back(*e);
    }
  }
  counters.prompt_tokens += n_tokens;
  Json body;
  if (openai) {
    Json data = Json::array();
    for (size_t i = 0; i < vectors.size(); ++i)
      data.push_back({{"object", "embedding"}, {"embedding", vectors[i]}, {"index", i}});
    body = {{"object", "list"},
            {"data", data},
            {"model", r.model},
            {"usage", {{"prompt_tokens", n_tokens}, {"total_tokens", n_tokens}}}};
  } else if (r.legacy) {
    body = {{"embedding", vectors.empty() ? Json::array() : vectors[0]}};
  } else {
    body = {{"model", r.model},
            {"embeddings", vectors},
            {"total_duration", now_ns() - t0},
            {"load_duration", load_ns},
            {"prompt_eval_count", n_tokens}};
  }
  res.set_content(body.dump(), "application/json; charset=utf-8");
}

}  // namespace silica

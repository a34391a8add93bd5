// HTTP plumbing: routes, authentication, CORS, body limits, error bodies, metrics, shutdown.
#include "server/server.h"

#include <httplib.h>

#include <chrono>
#include <cstdlib>
#include <limits>
#include <thread>

#include "base/log.h"
#include "server/server_state.h"
#include "server/webui_routes.h"

namespace silica {

// Open streams get this long to send their final object on shutdown.
inline constexpr int kShutdownGraceMs = 5000;

struct HttpServer::Impl {
  explicit Impl(const ServerOptions& o) : state(o) {}
  ServerState state;
  httplib::Server svr;
};

bool origin_allowed(const std::string& origin, const std::vector<std::string>& extra) {
  for (const std::string& o : extra)
    if (o == "*" || o == origin) return true;
  for (const char* scheme : {"app://", "file://", "tauri://"})
    if (origin.rfind(scheme, 0) == 0) return true;
  for (const char* scheme : {"http://", "https://"}) {
    if (origin.rfind(scheme, 0) != 0) continue;
    std::string host = origin.substr(std::char_traits<char>::length(scheme));
    if (host.rfind("[::1]", 0) == 0) return host.size() == 5 || host[5] == ':';
    host = host.substr(0, host.find(':'));
    return host == "localhost" || host == "127.0.0.1" || host == "0.0.0.0";
  }
  return false;
}

std::string metrics_text(ServerState& s) {
  SchedulerMetrics sum;
  std::string per_model;
  const auto loaded = s.models.loaded();
  for (const auto& m : loaded) {
    const SchedulerMetrics x = m->scheduler->metrics();
    sum.queue_depth += x.queue_depth;
    sum.active += x.active;
    per_model +=
        fmt::format("silica_model_memory_bytes{{model=\"{}\"}} {}\n", m->name, m->size_bytes);
  }
  const int64_t gen = s.counters.generated_tokens, eval_ns = s.counters.eval_ns;
  const double tps = eval_ns > 0 ? double(gen) / (double(eval_ns) / 1e9) : 0.0;
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, auto value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
  };
  metric("silica_http_requests_total", "counter", "HTTP requests received.",
         s.counters.http_requests.load());
  metric("silica_generations_total", "counter", "Generation requests finished.",
         s.counters.generations.load());
  metric("silica_prompt_tokens_total", "counter", "Prompt tokens evaluated.",
         s.counters.prompt_tokens.load());
  metric("silica_generated_tokens_total", "counter", "Tokens generated.", gen);
  metric("silica_eval_seconds_total", "counter", "Time sequences spent generating.",
         double(eval_ns) / 1e9);
  metric("silica_tokens_per_second", "gauge", "Generated tokens per second of generation time.",
         tps);
  metric("silica_queue_depth", "gauge", "Requests waiting for a sequence slot.", sum.queue_depth);
  metric("silica_active_sequences", "gauge", "Sequences being evaluated.", sum.active);
  metric("silica_open_streams", "gauge", "Streaming responses in progress.", s.open_streams.load());
  metric("silica_loaded_models", "gauge", "Models in memory.", loaded.size());
  out +=
      "# HELP silica_model_memory_bytes Weights plus K/V cache of a loaded model.\n"
      "# TYPE silica_model_memory_bytes gauge\n" +
      per_model;
  return out;
}

namespace {

bool is_openai_path(const std::string& path) {
  return path.rfind("/v1/", 0) == 0;
}

// Blob uploads stream to disk (GGUF files are GiBs); every other route reads its body into memory.
bool is_streamed_upload(const httplib::Request& req) {
  return req.method == "POST" && req.path.rfind("/api/blobs/", 0) == 0;
}

// httplib's one payload limit would cap blob uploads too, so it is lifted and the small limit
// checked here, before any body is read. Chunked bodies were never limited by httplib 0.11.
bool body_too_large(const httplib::Request& req, size_t max_bytes) {
  if (is_streamed_upload(req) || !req.has_header("Content-Length")) return false;
  const std::string v = req.get_header_value("Content-Length");
  char* end = nullptr;
  const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
  return end == v.c_str() || *end != '\0' || n > max_bytes;
}

void install_hooks(httplib::Server& svr, ServerState& state) {
  svr.set_pre_routing_handler([&state](const httplib::Request& req, httplib::Response& res) {
    ++state.counters.http_requests;
    const std::string origin = req.get_header_value("Origin");
    if (!origin.empty() && origin_allowed(origin, state.opts.origins)) {
      res.set_header("Access-Control-Allow-Origin", origin);
      res.set_header("Vary", "Origin");
    }
    if (req.method == "OPTIONS") {  // CORS preflight: no authentication
      res.set_header("Access-Control-Allow-Methods", "GET, HEAD, POST, DELETE, OPTIONS");
      res.set_header("Access-Control-Allow-Headers",
                     "Authorization, Content-Type, User-Agent, Accept");
      res.status = 204;
      return httplib::Server::HandlerResponse::Handled;
    }
    // The root health check stays open so probes work without the key.
    if (!state.opts.api_key.empty() && req.path != "/") {
      if (req.get_header_value("Authorization") != "Bearer " + state.opts.api_key) {
        send_error(res, is_openai_path(req.path), 401,
                   "unauthorized: send the server's API key as 'Authorization: Bearer <key>'");
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    if (body_too_large(req, state.opts.max_body_bytes)) {
      // The body stays unread, so the connection cannot carry another request.
      res.set_header("Connection", "close");
      send_error(res, is_openai_path(req.path), 413,
                 fmt::format("the request body is too large: the limit is {} bytes",
                             state.opts.max_body_bytes));
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  svr.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;  // a route already wrote its error body
    const bool openai = is_openai_path(req.path);
    if (res.status == 413) return send_error(res, openai, 413, "the request body is too large");
    if (res.status == 404)
      return send_error(res, openai, 404, fmt::format("no route {} {}", req.method, req.path));
    if (res.status == 405)
      return send_error(res, openai, 405,
                        fmt::format("method {} not allowed on {}", req.method, req.path));
    send_error(res, openai, res.status, fmt::format("HTTP {}", res.status));
  });
  svr.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "internal error";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        log_warn("{} {}: {}", req.method, req.path, what);
        send_error(res, is_openai_path(req.path), 500, what);
      });
}

}  // namespace

HttpServer::HttpServer(const ServerOptions& opts) : impl_(std::make_unique<Impl>(opts)) {
  httplib::Server& svr = impl_->svr;
  ServerState& state = impl_->state;
  // Lifted for streamed blob uploads; install_hooks applies opts.max_body_bytes elsewhere.
  svr.set_payload_max_length(std::numeric_limits<size_t>::max());
  svr.set_read_timeout(60, 0);
  svr.set_write_timeout(60, 0);
  // Streams hold a connection thread each; leave room for the queue and quick requests.
  const size_t n_threads = size_t(std::max(16, opts.n_parallel * 2 + 16));
  svr.new_task_queue = [n_threads] { return new httplib::ThreadPool(n_threads); };
  install_hooks(svr, state);
  add_ollama_routes(svr, state);
  add_openai_routes(svr, state);
  add_model_routes(svr, state);
  register_webui_routes(svr, state.opts);  // web UI at /ui/ (webui/, cmake/embed_assets.cmake)
  svr.Get("/metrics", [&state](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_text(state), "text/plain; version=0.0.4; charset=utf-8");
  });
}

HttpServer::~HttpServer() = default;

Status HttpServer::bind() {
  const ServerOptions& o = impl_->state.opts;
  if (o.port == 0) {
    port_ = impl_->svr.bind_to_any_port(o.host);
    if (port_ < 0) return make_error("cannot listen on {}: no free port", o.host);
  } else {
    if (!impl_->svr.bind_to_port(o.host, o.port))
      return make_error("cannot listen on {}:{} (in use, or the address is not local)", o.host,
                        o.port);
    port_ = o.port;
  }
  return {};
}

Status HttpServer::run() {
  if (!impl_->svr.listen_after_bind()) return make_error("the HTTP listener stopped with an error");
  return {};
}

void HttpServer::stop() {
  ServerState& s = impl_->state;
  s.shutting_down = true;
  for (int waited = 0; s.open_streams > 0 && waited < kShutdownGraceMs; waited += 50)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  impl_->svr.stop();
}

}  // namespace silica

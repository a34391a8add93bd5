// `silica serve`: the HTTP server (Ollama and OpenAI APIs, /metrics) over a ModelManager.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "server/options.h"

namespace silica {

class ServerState;

class HttpServer {
 public:
  explicit HttpServer(const ServerOptions& opts);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds host:port (port 0 picks a free one); the error names the address.
  Status bind();
  int port() const { return port_; }
  // Serves until stop(); returns once the listener closed and requests ended.
  Status run();
  // Graceful: refuses new generations, ends open streams (done_reason "unload") within a
  // grace period, then closes the listener. Callable from any thread.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

// Prometheus text exposition of the server's counters and gauges.
std::string metrics_text(ServerState& state);
// Whether a browser Origin may call the API: the --origins list ("*" = any), or by default
// http(s)://localhost, 127.0.0.1, [::1], 0.0.0.0 on any port, and app://, file://, tauri://.
bool origin_allowed(const std::string& origin, const std::vector<std::string>& extra);

}  // namespace silica

// `silica serve` settings: flags, environment variables (SILICA_*), and Ollama-style durations.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace silica {

// keep_alive value meaning "never unload".
inline constexpr int64_t kKeepForever = INT64_MAX;
inline constexpr int64_t kNsPerSecond = 1000000000;

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 11434;
  int n_parallel = 4;                             // sequence slots per loaded model
  int64_t n_ctx = 4096;                           // positions per slot (num_ctx overrides)
  int64_t keep_alive_ns = 5 * 60 * kNsPerSecond;  // after the last request; kKeepForever
  std::string api_key;                            // empty: no authentication
  std::vector<std::string> origins;               // extra CORS origins ("*" allows any)
  int max_queue = 512;                            // waiting requests per model before 503
  std::string models_dir;                         // NAME.gguf / NAME-TAG.gguf live here
  int n_threads = 0;                              // 0: one per physical core
  size_t max_body_bytes = 64u << 20;              // larger request bodies get 413
};

// Ollama durations: a number is seconds, a string is a Go duration ("5m", "1h30m", "300ms",
// "-1", "10"), negative means forever. Returns nanoseconds (kKeepForever when negative).
Expected<int64_t> parse_duration(const std::string& text);
int64_t duration_from_seconds(double seconds);

// Defaults, then SILICA_HOST (host or host:port), SILICA_KEEP_ALIVE, SILICA_NUM_PARALLEL,
// SILICA_MAX_QUEUE, SILICA_MODELS (default ~/.silica/models), SILICA_ORIGINS (comma list),
// SILICA_API_KEY. Flags given on the command line are applied after this.
Expected<ServerOptions> server_options_from_env();
// "host", "host:port", ":port", "http://host:port".
Status parse_host_port(const std::string& text, ServerOptions& o);
std::vector<std::string> split_list(const std::string& text);

}  // namespace silica

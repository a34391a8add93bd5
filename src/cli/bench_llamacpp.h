// llama.cpp as the peer of `silica bench --vs-llamacpp`: a node process running
// bench/llamacpp_runner.mjs over node-llama-cpp, spoken to in JSON lines (one model per process).
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace silica {

// Where node, the runner script and node-llama-cpp are. Resolved from the environment:
// SILICA_NODE (default "node" on PATH), SILICA_BENCH_RUNNER, SILICA_PEERS_DIR, else the source
// tree recorded at build time (bench/llamacpp_runner.mjs, tests/peers).
struct LlamaCppPaths {
  std::string node, runner, peers_dir;
};

// Errors say how to install node-llama-cpp when it is missing.
Expected<LlamaCppPaths> find_llamacpp_peer();

class LlamaCppRunner {
 public:
  ~LlamaCppRunner();
  LlamaCppRunner(const LlamaCppRunner&) = delete;
  LlamaCppRunner& operator=(const LlamaCppRunner&) = delete;

  // Starts the runner and waits for its "ready" line.
  static Expected<std::unique_ptr<LlamaCppRunner>> start(const LlamaCppPaths& paths);

  // Sends one request and returns the reply; a reply with "ok": false becomes the error.
  Expected<nlohmann::json> call(const nlohmann::json& request);

 private:
  LlamaCppRunner() = default;
  Expected<nlohmann::json> read_reply(const std::string& what);

  pid_t pid_ = -1;
  std::FILE* to_child_ = nullptr;
  std::FILE* from_child_ = nullptr;
};

}  // namespace silica

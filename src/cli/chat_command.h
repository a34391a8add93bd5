// What `silica chat` and `silica run` share: the chat loop (interactive, or one answer) and the
// sampling flags, with a store model's PARAMETER / SYSTEM / MESSAGE layers as defaults.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "engine/session.h"

namespace silica {

struct ChatOptions {
  std::string model;
  std::string system;
  GenerateParams gen;
  int threads = 0;
  int64_t ctx = 4096;
  bool verbose = false;
  std::optional<std::string> once;  // set: answer this one message and return
};

// The sampling / context flags both commands take (-n, --temp, ..., -t, -c) bound to `o`.
void add_sampling_flags(CLI::App& cmd, ChatOptions& o);
// Loads the model (a path, or a store name whose layers become defaults for every flag `cmd`
// did not get) and chats: interactively on a terminal, line by line from a pipe, or once.
void run_chat(ChatOptions o, const CLI::App& cmd);

// Fills what `cmd` did not set from a store model's params layer (Ollama PARAMETER keys).
void apply_param_defaults(const nlohmann::ordered_json& params, const CLI::App& cmd,
                          GenerateParams& gen, int64_t& ctx, int& threads);

}  // namespace silica

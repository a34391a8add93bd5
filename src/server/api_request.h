// The one internal request both APIs translate into, and the translators: Ollama /api/generate,
// /api/chat, /api/embed(dings) and OpenAI /v1/chat/completions, /v1/completions, /v1/embeddings.
// Field types are checked; a wrong type is an error naming the field (the server answers 400).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/session.h"

namespace silica {

using Json = nlohmann::ordered_json;

enum class ApiKind { kOllamaGenerate, kOllamaChat, kOpenAiChat, kOpenAiCompletion };
enum class OutputFormat { kText, kJson, kJsonSchema };

struct InferenceRequest {
  ApiKind kind = ApiKind::kOllamaGenerate;
  std::string model;
  bool chat = false;              // messages (rendered by the chat template) instead of a prompt
  Json messages = Json::array();  // [{role, content, tool_calls?, tool_name?}]
  Json tools;                     // null or an array passed to the template
  std::string prompt, suffix, system, template_source;
  bool raw = false;              // prompt goes to the model as is
  bool has_input = false;        // a non-empty prompt or messages (else: load / unload only)
  std::vector<int32_t> context;  // /api/generate: tokens of the previous exchange
  OutputFormat format = OutputFormat::kText;
  std::string schema;  // kJsonSchema: the schema's JSON text
  GenerateParams params;
  // The options the request itself set (OpenAI fields under Ollama's keys): a store model's
  // PARAMETER defaults go under these (ModelManager::apply_model_layers).
  Json given_options = Json::object();
  int64_t num_ctx = 0;  // 0: the server's default
  int n_threads = 0;    // num_thread (0: the server's)
  bool stream = true;
  bool include_usage = false;  // OpenAI stream_options.include_usage
  std::optional<int64_t> keep_alive_ns;
};

struct EmbedRequest {
  std::string model;
  std::vector<std::string> inputs;
  bool legacy = false;   // /api/embeddings: one prompt, {"embedding": [...]}
  bool truncate = true;  // cut inputs to the context instead of failing
  bool base64 = false;   // OpenAI encoding_format "base64"
  int n_threads = 0;
  int64_t num_ctx = 0;
  std::optional<int64_t> keep_alive_ns;
};

// Sampling defaults of each API (Ollama's model defaults; OpenAI's documented ones).
GenerateParams ollama_default_params();
GenerateParams openai_default_params();

Expected<InferenceRequest> parse_ollama_generate(const Json& body);
Expected<InferenceRequest> parse_ollama_chat(const Json& body);
Expected<InferenceRequest> parse_openai_chat(const Json& body);
Expected<InferenceRequest> parse_openai_completion(const Json& body);
Expected<EmbedRequest> parse_ollama_embed(const Json& body, bool legacy);
Expected<EmbedRequest> parse_openai_embed(const Json& body);

// Ollama "options": known keys are checked and applied, unknown keys ignored (as Ollama does).
Status apply_ollama_options(const Json& options, InferenceRequest& r);
// keep_alive: a number of seconds or a duration string; negative keeps the model forever.
Expected<int64_t> parse_keep_alive(const Json& v);

}  // namespace silica

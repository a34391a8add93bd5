// From a request to prompt tokens: the chat template (the GGUF's tokenizer.chat_template, or a
// request's own Jinja template) or, for models without one, a simple fallback format.
#pragma once

#include <string>
#include <vector>

#include "server/api_request.h"
#include "server/model_manager.h"

namespace silica {

// Used when a model has no chat template (documented in docs/api.md and in /api/show):
//   <|system|>\n{content}\n<|user|>\n{content}\n<|assistant|>\n{content}\n ... <|assistant|>\n
std::string render_fallback_chat(const Json& messages);
inline constexpr const char* kFallbackTemplateName = "silica-fallback";

// Renders messages with the model's template (or `template_source` when not empty).
Expected<std::string> render_chat(const ServedModel& m, const Json& messages, const Json& tools,
                                  const std::string& template_source);

// The full prompt of a generation request: rendered (unless raw), tokenized with special tokens
// parsed, BOS added when the vocabulary wants one and the text does not already start with it,
// after the request's context tokens. Errors: template failures, an over-long prompt.
Expected<std::vector<int32_t>> build_prompt_tokens(const ServedModel& m, const InferenceRequest& r);

// Tokens for an embedding input: BOS as the vocabulary wants, cut to n_ctx when truncate.
Expected<std::vector<int32_t>> embed_tokens(const ServedModel& m, const std::string& text,
                                            bool truncate);

}  // namespace silica

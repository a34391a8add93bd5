// Chat turns -> prompt tokens through the model's own chat template (GGUF tokenizer.chat_template
// or a folder's chat_template.jinja / tokenizer_config.json),
// shared by `silica chat` and the server.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "chat/chat_template.h"
#include "engine/session.h"

namespace silica {

class ChatFormatter {
 public:
  // Uses the model's template, or a plain documented fallback when the file has none.
  static Expected<ChatFormatter> create(const LoadedModel& lm);

  // Renders the conversation. `extra` holds more template variables (tools, enable_thinking, ...)
  // passed as they are; messages / add_generation_prompt / bos_token / eos_token are set here
  // unless `extra` sets them.
  Expected<std::string> render(
      const nlohmann::ordered_json& messages, bool add_generation_prompt,
      const nlohmann::ordered_json& extra = nlohmann::ordered_json::object()) const;
  // Renders and tokenizes (special tokens parsed, one BOS at most).
  Expected<std::vector<int32_t>> tokenize(
      const nlohmann::ordered_json& messages, bool add_generation_prompt,
      const nlohmann::ordered_json& extra = nlohmann::ordered_json::object()) const;

  bool has_model_template() const { return from_model_; }
  const std::string& source() const { return tmpl_->source(); }
  // A fallback for models without a template: "<|role|>\ncontent\n" turns.
  static const char* fallback_template();

 private:
  ChatFormatter(const LoadedModel& lm, std::shared_ptr<ChatTemplate> t, bool from_model)
      : lm_(&lm), tmpl_(std::move(t)), from_model_(from_model) {}
  const LoadedModel* lm_;
  std::shared_ptr<ChatTemplate> tmpl_;
  bool from_model_;
};

}  // namespace silica

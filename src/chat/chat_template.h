// Chat templates: parse a Hugging Face chat template (Jinja) once, render it with a context
// (messages, tools, add_generation_prompt, bos_token, eos_token, ...) exactly as
// @huggingface/jinja does.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "base/status.h"

namespace silica {

namespace jinja {
struct Node;
}

class ChatTemplate {
 public:
  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;
  ChatTemplate(const ChatTemplate&) = delete;
  ChatTemplate& operator=(const ChatTemplate&) = delete;
  ~ChatTemplate();

  // Fails with "template line N: <what>" on syntax the engine does not have.
  static Expected<ChatTemplate> parse(std::string source);

  // Every key of `context` becomes a variable. ordered_json keeps the caller's key order (it
  // shows in tojson output); plain json objects arrive sorted by key.
  Expected<std::string> render(const nlohmann::ordered_json& context) const;
  Expected<std::string> render(const nlohmann::json& context) const;

  const std::string& source() const;

 private:
  struct Impl;
  explicit ChatTemplate(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace silica

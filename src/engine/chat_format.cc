// Rendering chat turns with the model's template and tokenizing the result.
#include "engine/chat_format.h"

namespace silica {

const char* ChatFormatter::fallback_template() {
  return "{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}\n{% endfor %}"
         "{% if add_generation_prompt %}<|assistant|>\n{% endif %}";
}

Expected<ChatFormatter> ChatFormatter::create(const LoadedModel& lm) {
  // GGUF tokenizer.chat_template, or a folder's chat_template.jinja / tokenizer_config.json.
  const std::optional<std::string>& src = lm.model->chat_template();
  const bool from_model = src.has_value() && !src->empty();
  auto parsed = ChatTemplate::parse(from_model ? *src : std::string(fallback_template()));
  if (!parsed.ok())
    return make_error("{}: the chat template does not parse: {}", lm.model->path(),
                      parsed.message());
  return ChatFormatter(lm, std::make_shared<ChatTemplate>(std::move(parsed.value())), from_model);
}

Expected<std::string> ChatFormatter::render(const nlohmann::ordered_json& messages,
                                            bool add_generation_prompt,
                                            const nlohmann::ordered_json& extra) const {
  const Vocab& v = lm_->tokenizer->vocab();
  auto token_text = [&](int32_t id) {
    return id >= 0 && size_t(id) < v.tokens.size() ? lm_->tokenizer->token_to_piece(id, true)
                                                   : std::string();
  };
  nlohmann::ordered_json ctx = nlohmann::ordered_json::object();
  ctx["messages"] = messages;
  ctx["add_generation_prompt"] = add_generation_prompt;
  ctx["bos_token"] = token_text(v.bos);
  ctx["eos_token"] = token_text(v.eos);
  for (auto it = extra.begin(); it != extra.end(); ++it) ctx[it.key()] = it.value();
  return tmpl_->render(ctx);
}

Expected<std::vector<int32_t>> ChatFormatter::tokenize(const nlohmann::ordered_json& messages,
                                                       bool add_generation_prompt,
                                                       const nlohmann::ordered_json& extra) const {
  SILICA_ASSIGN_OR_RETURN(std::string text, render(messages, add_generation_prompt, extra));
  std::vector<int32_t> ids = lm_->tokenizer->encode(text, /*add_special=*/true,
                                                    /*parse_special=*/true);
  // Templates usually write the BOS text themselves: keep one.
  const int32_t bos = lm_->tokenizer->bos();
  if (ids.size() >= 2 && bos >= 0 && ids[0] == bos && ids[1] == bos) ids.erase(ids.begin());
  return ids;
}

}  // namespace silica

// Prompt rendering and tokenization for server requests.
#include "server/prompt.h"

namespace silica {

std::string render_fallback_chat(const Json& messages) {
  std::string out;
  for (const Json& m : messages) {
    out += "<|" + m.value("role", std::string("user")) + "|>\n";
    out += m.value("content", std::string()) + "\n";
  }
  out += "<|assistant|>\n";
  return out;
}

namespace {

std::string token_text(const Tokenizer& tok, int32_t id) {
  return id >= 0 && id < tok.n_vocab() ? tok.vocab().tokens[size_t(id)] : std::string();
}

Json template_context(const ServedModel& m, const Json& messages, const Json& tools) {
  const Tokenizer& tok = *m.lm.tokenizer;
  Json ctx = Json::object();
  ctx["messages"] = messages;
  if (tools.is_array() && !tools.empty()) ctx["tools"] = tools;
  ctx["add_generation_prompt"] = true;
  ctx["bos_token"] = token_text(tok, tok.bos());
  ctx["eos_token"] = token_text(tok, tok.eos());
  return ctx;
}

std::vector<int32_t> tokenize_prompt(const Tokenizer& tok, const std::string& text, bool add_bos) {
  std::vector<int32_t> ids = tok.encode(text, false, true);
  if (add_bos && tok.vocab().add_bos && tok.bos() >= 0 && (ids.empty() || ids[0] != tok.bos()))
    ids.insert(ids.begin(), tok.bos());
  return ids;
}

}  // namespace

Expected<std::string> render_chat(const ServedModel& m, const Json& messages, const Json& tools,
                                  const std::string& template_source) {
  const Json ctx = template_context(m, messages, tools);
  if (!template_source.empty()) {
    auto t = ChatTemplate::parse(template_source);
    if (!t) return make_error("the request's template does not parse: {}", t.message());
    return t->render(ctx);
  }
  if (!m.chat_template) return render_fallback_chat(messages);
  auto text = m.chat_template->render(ctx);
  if (!text) return make_error("{}: chat template failed: {}", m.name, text.message());
  return text;
}

Expected<std::vector<int32_t>> build_prompt_tokens(const ServedModel& m,
                                                   const InferenceRequest& r) {
  if (!r.suffix.empty())
    return make_error(
        "{} does not support insert (its template has no suffix / fill-in-the-middle "
        "slot)",
        m.name);
  std::string text;
  if (r.raw) {
    text = r.prompt;
  } else if (r.chat) {
    SILICA_ASSIGN_OR_RETURN(text, render_chat(m, r.messages, r.tools, r.template_source));
  } else {
    Json messages = Json::array();
    if (!r.system.empty()) messages.push_back({{"role", "system"}, {"content", r.system}});
    messages.push_back({{"role", "user"}, {"content", r.prompt}});
    SILICA_ASSIGN_OR_RETURN(text, render_chat(m, messages, Json(), r.template_source));
  }
  std::vector<int32_t> ids = r.context;
  const std::vector<int32_t> more = tokenize_prompt(*m.lm.tokenizer, text, r.context.empty());
  ids.insert(ids.end(), more.begin(), more.end());
  if (ids.empty()) return make_error("the prompt is empty after formatting");
  if (int64_t(ids.size()) >= m.n_ctx)
    return make_error(
        "the prompt is {} tokens, but the context holds {}: shorten the prompt or "
        "raise num_ctx",
        ids.size(), m.n_ctx);
  const int32_t n_vocab = m.lm.tokenizer->n_vocab();
  for (int32_t t : r.context)
    if (t < 0 || t >= n_vocab)
      return make_error("context holds token {}, outside the vocabulary of {}", t, n_vocab);
  return ids;
}

Expected<std::vector<int32_t>> embed_tokens(const ServedModel& m, const std::string& text,
                                            bool truncate) {
  std::vector<int32_t> ids = tokenize_prompt(*m.lm.tokenizer, text, true);
  if (int64_t(ids.size()) > m.n_ctx) {
    if (!truncate)
      return make_error("the input is {} tokens, but the context holds {} (set truncate to cut it)",
                        ids.size(), m.n_ctx);
    ids.resize(size_t(m.n_ctx));
  }
  if (ids.empty()) return make_error("the input is empty");
  return ids;
}

}  // namespace silica

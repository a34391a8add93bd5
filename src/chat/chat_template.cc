// Chat templates: the public face of the Jinja engine; turns its exceptions into Expected.
#include "chat/chat_template.h"

#include "chat/jinja_eval.h"
#include "chat/jinja_lexer.h"
#include "chat/jinja_parser.h"

namespace silica {

struct ChatTemplate::Impl {
  std::string source;
  jinja::NodeList program;
};

ChatTemplate::ChatTemplate(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;
ChatTemplate::~ChatTemplate() = default;

const std::string& ChatTemplate::source() const {
  return impl_->source;
}

namespace {

Error template_error(const char* stage, const jinja::JinjaError& e) {
  if (e.line() > 0)
    return make_error("chat template {} error at line {}: {}", stage, e.line(), e.what());
  return make_error("chat template {} error: {}", stage, e.what());
}

}  // namespace

Expected<ChatTemplate> ChatTemplate::parse(std::string source) {
  auto impl = std::make_unique<Impl>();
  impl->source = std::move(source);
  try {
    impl->program = jinja::parse(jinja::tokenize(impl->source));
  } catch (const jinja::JinjaError& e) {
    return template_error("syntax", e);
  }
  return ChatTemplate(std::move(impl));
}

Expected<std::string> ChatTemplate::render(const nlohmann::ordered_json& context) const {
  if (!context.is_object() && !context.is_null())
    return make_error("chat template context must be a JSON object, found {}", context.type_name());
  try {
    jinja::Environment env;
    jinja::setup_globals(env);
    if (context.is_object())
      for (auto it = context.begin(); it != context.end(); ++it)
        env.declare(it.key(), jinja::from_json(it.value()));
    jinja::Interpreter interp;
    return interp.render(impl_->program, env);
  } catch (const jinja::JinjaError& e) {
    return template_error("render", e);
  }
}

Expected<std::string> ChatTemplate::render(const nlohmann::json& context) const {
  return render(nlohmann::ordered_json::parse(context.dump()));
}

}  // namespace silica

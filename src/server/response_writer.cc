// Tool-call and reasoning parsing of generated text, in front of the API adapters.
#include "server/response_writer.h"

namespace silica {

ResponseWriter::ResponseWriter(std::shared_ptr<ResponseAdapter> adapter, bool parse,
                               ToolCallFormat fmt)
    : adapter_(std::move(adapter)), parse_(parse), fmt_(fmt), parser_(fmt) {}

bool ResponseWriter::wants_parsing(const InferenceRequest& r) {
  const bool chat_api = r.kind == ApiKind::kOllamaChat || r.kind == ApiKind::kOpenAiChat;
  return chat_api && r.chat && r.tools.is_array() && !r.tools.empty();
}

std::string ResponseWriter::emit(const OutputDelta& d, Completion& c) {
  if (d.empty()) return {};
  c.text += d.content;
  c.thinking += d.thinking;
  c.tool_calls.insert(c.tool_calls.end(), d.tool_calls.begin(), d.tool_calls.end());
  return adapter_->chunk(d);
}

std::string ResponseWriter::piece(const std::string& text, Completion& c) {
  if (!parse_) {
    OutputDelta d;
    d.content = text;
    return emit(d, c);
  }
  return emit(parser_.feed(text), c);
}

std::string ResponseWriter::end(Completion& c) {
  std::string out;
  if (parse_) out = emit(parser_.finish(), c);
  return out + adapter_->end(c);
}

Json ResponseWriter::whole(Completion& c) {
  if (parse_) {
    ParsedOutput p = parse_model_output(c.text, fmt_);
    c.text = std::move(p.content);
    c.thinking = std::move(p.thinking);
    c.tool_calls = std::move(p.tool_calls);
  }
  return adapter_->whole(c);
}

}  // namespace silica

// Between the engine's text pieces and an API's adapter: splits tool calls and reasoning out of
// chat output (when the request offered tools), the same way for both APIs, streamed or not.
#pragma once

#include <memory>
#include <string>

#include "chat/tool_calls.h"
#include "server/server_state.h"

namespace silica {

class ResponseWriter {
 public:
  // parse: split calls and reasoning out (see wants_parsing); fmt: how the model writes calls.
  ResponseWriter(std::shared_ptr<ResponseAdapter> adapter, bool parse, ToolCallFormat fmt);

  // Chat requests that offer tools get their output parsed (Ollama parses only then, too).
  static bool wants_parsing(const InferenceRequest& r);

  const char* stream_content_type() const { return adapter_->stream_content_type(); }
  // The bytes to send for one decoded piece (may be empty while a possible call is held).
  // Adds the piece's content and completed calls to `c`.
  std::string piece(const std::string& text, Completion& c);
  // The bytes that end a stream: what the parser still held, then the adapter's final event(s).
  std::string end(Completion& c);
  // The non-streamed response; c.text is the whole raw output and becomes its content.
  Json whole(Completion& c);
  std::string stream_error(const std::string& message) { return adapter_->stream_error(message); }

 private:
  std::string emit(const OutputDelta& d, Completion& c);

  std::shared_ptr<ResponseAdapter> adapter_;
  bool parse_;
  ToolCallFormat fmt_;
  ToolCallStreamParser parser_;
};

}  // namespace silica

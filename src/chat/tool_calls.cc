// Splitting model output into content, thinking and tool calls, whole or streamed; and
// picking the tool-call format from a chat template.
#include "chat/tool_calls.h"

#include "chat/tool_call_formats.h"

namespace silica {

using namespace tool_call_detail;

namespace {

constexpr std::string_view kThinkOpen = "<think>";
constexpr std::string_view kThinkClose = "</think>";
constexpr std::string_view kMistralThinkOpen = "[THINK]";
constexpr std::string_view kMistralThinkClose = "[/THINK]";

bool contains(const std::string& s, std::string_view what) {
  return s.find(what) != std::string::npos;
}

// Length of the longest proper prefix of `marker` that ends `text`.
size_t partial_suffix(std::string_view text, std::string_view marker) {
  for (size_t n = std::min(text.size(), marker.size() - 1); n > 0; --n) {
    if (text.substr(text.size() - n) == marker.substr(0, n)) return n;
  }
  return 0;
}

// Bytes at the end of `s` that begin a UTF-8 character not yet complete.
size_t incomplete_utf8_tail(const std::string& s) {
  for (size_t back = 1; back <= 3 && back <= s.size(); ++back) {
    const unsigned char c = static_cast<unsigned char>(s[s.size() - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: look further back
    const size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

}  // namespace

const char* tool_call_format_name(ToolCallFormat fmt) {
  switch (fmt) {
    case ToolCallFormat::kNone:
      return "none";
    case ToolCallFormat::kLlama3:
      return "llama3";
    case ToolCallFormat::kHermes:
      return "hermes";
    case ToolCallFormat::kMistral:
      return "mistral";
    case ToolCallFormat::kGeneric:
      return "generic";
  }
  return "unknown";
}

ToolCallFormat detect_tool_call_format(const std::string& tmpl) {
  if (contains(tmpl, kMistralOpen)) return ToolCallFormat::kMistral;
  if (contains(tmpl, kHermesOpen)) return ToolCallFormat::kHermes;
  if (contains(tmpl, kPythonTag) || contains(tmpl, "Environment: ipython"))
    return ToolCallFormat::kLlama3;
  // Llama 3.x derivatives that dropped the ipython header but kept Meta's tool prompt.
  if (contains(tmpl, "<|start_header_id|>") && contains(tmpl, "\"parameters\": dictionary"))
    return ToolCallFormat::kLlama3;
  if (contains(tmpl, "tools")) return ToolCallFormat::kGeneric;
  return ToolCallFormat::kNone;
}

ParsedOutput parse_model_output(std::string_view text, ToolCallFormat fmt,
                                bool starts_in_thinking) {
  ToolCallStreamParser parser(fmt, starts_in_thinking);
  ToolCallStreamParser::Delta a = parser.feed(text);
  ToolCallStreamParser::Delta b = parser.finish();
  ParsedOutput out;
  out.content = std::move(a.content) + b.content;
  out.thinking = std::move(a.thinking) + b.thinking;
  out.tool_calls = std::move(a.tool_calls);
  for (auto& c : b.tool_calls) out.tool_calls.push_back(std::move(c));
  return out;
}

ToolCallStreamParser::ToolCallStreamParser(ToolCallFormat fmt, bool starts_in_thinking)
    : fmt_(fmt) {
  if (starts_in_thinking) {
    state_ = State::kThinking;
    think_close_ = std::string(kThinkClose);
    block_boundary(thinking_);
  }
}

ToolCallStreamParser::Delta ToolCallStreamParser::feed(std::string_view piece) {
  Delta out;
  if (finished_) {
    out.content = std::string(piece);  // after finish() nothing is parsed any more
    return out;
  }
  buf_.append(piece);
  run(/*final=*/false, out);
  cut_utf8_tail(content_, out.content, false);
  cut_utf8_tail(thinking_, out.thinking, false);
  return out;
}

ToolCallStreamParser::Delta ToolCallStreamParser::finish() {
  Delta out;
  if (finished_) return out;
  run(/*final=*/true, out);
  flush(content_, out.content);
  flush(thinking_, out.thinking);
  cut_utf8_tail(content_, out.content, true);
  cut_utf8_tail(thinking_, out.thinking, true);
  finished_ = true;
  return out;
}

void ToolCallStreamParser::run(bool final, Delta& out) {
  for (;;) {
    bool progressed = false;
    switch (state_) {
      case State::kText:
        progressed = step_text(final, out);
        break;
      case State::kThinking:
        progressed = step_thinking(final, out);
        break;
      case State::kCall:
        progressed = step_call(final, out);
        break;
    }
    if (!progressed) return;
  }
}

// Llama 3 separates calls with ";": drop one (with the whitespace around it) after a call.
// Returns false while only whitespace is known.
bool ToolCallStreamParser::skip_llama_separator(bool final) {
  size_t i = 0;
  while (i < buf_.size() && is_ws(buf_[i])) ++i;
  if (i == buf_.size()) return final;
  if (buf_[i] == ';') {
    buf_.erase(0, i + 1);
    return true;
  }
  after_json_call_ = false;
  return true;
}

bool ToolCallStreamParser::step_text(bool final, Delta& out) {
  if (after_json_call_) {
    if (!skip_llama_separator(final)) return false;
    if (after_json_call_ && !final) return true;  // a ";" went: look again
    after_json_call_ = false;
  }
  struct Candidate {
    std::string_view lit;  // empty for the bare-JSON start
    int marker;            // -1: thinking opens
  };
  std::vector<Candidate> cands;
  if (!output_started_) {
    cands.push_back({kThinkOpen, -1});
    if (fmt_ == ToolCallFormat::kMistral) cands.push_back({kMistralThinkOpen, -1});
  }
  if (fmt_ == ToolCallFormat::kHermes) cands.push_back({kHermesOpen, kMarkerHermes});
  if (fmt_ == ToolCallFormat::kMistral) cands.push_back({kMistralOpen, kMarkerMistral});
  if (fmt_ == ToolCallFormat::kLlama3) cands.push_back({kPythonTag, kMarkerPythonTag});
  if (fmt_ == ToolCallFormat::kLlama3 || fmt_ == ToolCallFormat::kGeneric)
    cands.push_back({{}, kMarkerBareJson});

  const std::string_view buf = buf_;
  bool only_ws_before = true;  // thinking opens only before any content
  for (size_t i = 0; i < buf.size(); only_ws_before = only_ws_before && is_ws(buf[i]), ++i) {
    for (const Candidate& c : cands) {
      if (c.marker < 0 && !only_ws_before) continue;
      const Prefix p = c.lit.empty() ? match_bare_json_start(buf.substr(i))
                                     : match_literal(buf.substr(i), c.lit);
      if (p == Prefix::kNo || (p == Prefix::kPartial && final)) continue;
      put_text(content_, out.content, buf.substr(0, i));
      buf_.erase(0, i);
      if (p == Prefix::kPartial) return false;  // hold the would-be marker
      if (c.marker >= 0) {
        state_ = State::kCall;
        call_marker_ = c.marker;
        return true;
      }
      buf_.erase(0, c.lit.size());
      think_close_ = std::string(c.lit == kThinkOpen ? kThinkClose : kMistralThinkClose);
      block_boundary(content_);
      block_boundary(thinking_);
      state_ = State::kThinking;
      return true;
    }
  }
  put_text(content_, out.content, buf_);
  buf_.clear();
  return false;
}

bool ToolCallStreamParser::step_thinking(bool final, Delta& out) {
  const size_t close = buf_.find(think_close_);
  if (close == std::string::npos) {
    const size_t hold = final ? 0 : partial_suffix(buf_, think_close_);
    put_text(thinking_, out.thinking, std::string_view(buf_).substr(0, buf_.size() - hold));
    buf_.erase(0, buf_.size() - hold);
    return false;
  }
  put_text(thinking_, out.thinking, std::string_view(buf_).substr(0, close));
  buf_.erase(0, close + think_close_.size());
  block_boundary(thinking_);
  block_boundary(content_);
  state_ = State::kText;
  return true;
}

bool ToolCallStreamParser::step_call(bool final, Delta& out) {
  CallMatch m;
  switch (call_marker_) {
    case kMarkerHermes:
      m = match_hermes(buf_, final);
      break;
    case kMarkerMistral:
      m = match_mistral(buf_, final);
      break;
    case kMarkerPythonTag:
      m = match_python_tag(buf_, final);
      break;
    default:
      m = match_bare_json(buf_, final);
      break;
  }
  if (m.scan == Scan::kNeedMore) return false;
  state_ = State::kText;
  if (m.scan == Scan::kFail) {
    put_text(content_, out.content, std::string_view(buf_).substr(0, m.len));
    buf_.erase(0, m.len);
    return true;
  }
  buf_.erase(0, m.len);
  block_boundary(content_);
  output_started_ = true;
  after_json_call_ = fmt_ == ToolCallFormat::kLlama3 || fmt_ == ToolCallFormat::kGeneric;
  for (ToolCall& c : m.calls) {
    c.id = make_call_id(c);
    out.tool_calls.push_back(std::move(c));
  }
  return true;
}

void ToolCallStreamParser::put_text(Channel& ch, std::string& sink, std::string_view s) {
  size_t last = s.size();
  while (last > 0 && is_ws(s[last - 1])) --last;
  if (last == 0) {  // whitespace only: it may yet touch a block
    ch.held_ws.append(s);
    return;
  }
  // Leading whitespace right after a block, before anything else in this channel, only
  // separates the block from the text.
  const bool drop_held = ch.seg_after_block && !ch.seg_has_text && !ch.emitted_any;
  if (!drop_held) sink += ch.held_ws;
  ch.held_ws.clear();
  std::string_view body = s.substr(0, last);
  if (drop_held) {
    size_t b = 0;
    while (is_ws(body[b])) ++b;
    body.remove_prefix(b);
  }
  sink.append(body);
  ch.held_ws.assign(s.substr(last));
  ch.seg_has_text = true;
  ch.emitted_any = true;
  if (&ch == &content_) output_started_ = true;
}

void ToolCallStreamParser::block_boundary(Channel& ch) {
  ch.held_ws.clear();
  ch.seg_after_block = true;
  ch.seg_has_text = false;
}

void ToolCallStreamParser::flush(Channel& ch, std::string& sink) {
  // Trailing whitespace of real text (or of output with no blocks at all) is kept.
  if (ch.seg_has_text || !ch.seg_after_block) sink += ch.held_ws;
  ch.held_ws.clear();
}

void ToolCallStreamParser::cut_utf8_tail(Channel& ch, std::string& sink, bool final) {
  if (!ch.utf8_tail.empty()) {
    sink.insert(0, ch.utf8_tail);
    ch.utf8_tail.clear();
  }
  if (final) return;
  const size_t n = incomplete_utf8_tail(sink);
  ch.utf8_tail.assign(sink, sink.size() - n, n);
  sink.resize(sink.size() - n);
}

}  // namespace silica

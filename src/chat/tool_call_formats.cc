// Per-format recognizers of tool calls: bracket-balanced JSON spans, Hermes tags, Mistral
// [TOOL_CALLS] forms, Llama 3 <|python_tag|> forms, and call-object validation.
#include "chat/tool_call_formats.h"

#include <atomic>
#include <string>

#include "base/strings.h"

namespace silica::tool_call_detail {
namespace {

using Json = nlohmann::ordered_json;

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_ident_char(char c) {
  return is_alpha(c) || is_digit(c) || c == '_';
}
// Function names as Mistral writes them after [TOOL_CALLS] (no spaces, no brackets).
bool is_name_char(char c) {
  return is_ident_char(c) || c == '-' || c == '.';
}

size_t skip_ws(std::string_view t, size_t i) {
  while (i < t.size() && is_ws(t[i])) ++i;
  return i;
}

CallMatch need_more() {
  return {Scan::kNeedMore, 0, {}};
}
CallMatch fail(size_t len) {
  return {Scan::kFail, len, {}};
}
CallMatch need_or_fail(bool final, size_t len) {
  return final ? fail(len) : need_more();
}
CallMatch ok(size_t len, std::vector<ToolCall> calls) {
  return {Scan::kOk, len, std::move(calls)};
}

enum class Span { kNeedMore, kBad, kDone };
struct SpanEnd {
  Span kind;
  size_t end;  // kDone: one past the closing bracket; kBad: one past the mismatched one
};

// The extent of the JSON object or array opening at t[start], by bracket balance outside
// strings; the parse proper comes after, on exactly this span.
SpanEnd scan_json_span(std::string_view t, size_t start) {
  std::string closers;
  bool in_str = false, esc = false;
  for (size_t i = start; i < t.size(); ++i) {
    const char c = t[i];
    if (in_str) {
      if (esc) {
        esc = false;
      } else if (c == '\\') {
        esc = true;
      } else if (c == '"') {
        in_str = false;
      }
      continue;
    }
    if (c == '"') {
      in_str = true;
    } else if (c == '{') {
      closers.push_back('}');
    } else if (c == '[') {
      closers.push_back(']');
    } else if (c == '}' || c == ']') {
      if (closers.empty() || closers.back() != c) return {Span::kBad, i + 1};
      closers.pop_back();
      if (closers.empty()) return {Span::kDone, i + 1};
    }
  }
  return {Span::kNeedMore, t.size()};
}

std::optional<Json> parse_json(std::string_view s) {
  Json j = Json::parse(s.begin(), s.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

// Arguments end up an object: null / "" mean none, a string holding a JSON object is parsed.
std::optional<Json> normalize_arguments(const Json& a) {
  if (a.is_null()) return Json::object();
  if (a.is_object()) return a;
  if (!a.is_string()) return std::nullopt;
  const std::string_view s = trim_ascii_space(a.get_ref<const std::string&>());
  if (s.empty()) return Json::object();
  auto inner = parse_json(s);
  if (inner && inner->is_object()) return inner;
  return std::nullopt;
}

// An object is one call, {"tool_calls": [...]} or an array is several (none empty or invalid).
std::optional<std::vector<ToolCall>> calls_from_value(const Json& j, bool require_args) {
  const Json* list = nullptr;
  if (j.is_array()) {
    list = &j;
  } else if (j.is_object() && !j.contains("name")) {
    auto it = j.find("tool_calls");
    if (it != j.end() && it->is_array()) list = &*it;
  }
  std::vector<ToolCall> calls;
  if (list == nullptr) {
    auto c = call_from_json(j, require_args);
    if (!c) return std::nullopt;
    calls.push_back(std::move(*c));
    return calls;
  }
  if (list->empty()) return std::nullopt;
  for (const Json& e : *list) {
    auto c = call_from_json(e, /*require_args=*/false);
    if (!c) return std::nullopt;
    calls.push_back(std::move(*c));
  }
  return calls;
}

// Python literal in a built-in call's keyword arguments: "str", 'str', number, True/False/None.
// Returns the index past the literal, 0 when more text is needed, npos when it is not one.
size_t parse_py_literal(std::string_view t, size_t i, Json& out) {
  const char q = t[i];
  if (q == '"' || q == '\'') {
    std::string s;
    for (size_t k = i + 1; k < t.size(); ++k) {
      char c = t[k];
      if (c == q) {
        out = s;
        return k + 1;
      }
      if (c == '\\') {
        if (++k == t.size()) return 0;
        c = t[k];
        c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
      }
      s.push_back(c);
    }
    return 0;
  }
  size_t k = i;
  while (k < t.size() && (is_ident_char(t[k]) || t[k] == '.' || t[k] == '-' || t[k] == '+')) ++k;
  if (k == t.size()) return 0;  // the token may go on
  const std::string_view tok = t.substr(i, k - i);
  if (tok == "True" || tok == "False" || tok == "None") {
    out = tok == "True" ? Json(true) : tok == "False" ? Json(false) : Json(nullptr);
    return k;
  }
  auto num = parse_json(tok);
  if (!num || !num->is_number()) return std::string_view::npos;
  out = *num;
  return k;
}

// name.call(k=v, ...) after <|python_tag|>: Llama 3.1's built-in tools (brave_search, ...).
// nullopt: not this form (the text is raw code).
std::optional<CallMatch> match_builtin_call(std::string_view t, size_t i, bool final) {
  const auto more = [&]() -> std::optional<CallMatch> {
    if (final) return std::nullopt;
    return need_more();
  };
  size_t k = i;
  while (k < t.size() && is_ident_char(t[k])) ++k;
  if (k == i || is_digit(t[i])) return std::nullopt;
  if (k == t.size()) return more();
  ToolCall call;
  call.name = std::string(t.substr(i, k - i));
  const Prefix p = match_literal(t.substr(k), ".call(");
  if (p == Prefix::kNo) return std::nullopt;
  if (p == Prefix::kPartial) return more();
  k += 6;
  call.arguments = Json::object();
  for (;;) {
    k = skip_ws(t, k);
    if (k == t.size()) return more();
    if (t[k] == ')') break;
    const size_t key_begin = k;
    while (k < t.size() && is_ident_char(t[k])) ++k;
    const std::string key(t.substr(key_begin, k - key_begin));
    k = skip_ws(t, k);
    if (k == t.size()) return more();
    if (key.empty() || t[k] != '=') return std::nullopt;
    k = skip_ws(t, k + 1);
    if (k == t.size()) return more();
    Json value;
    const size_t end = parse_py_literal(t, k, value);
    if (end == 0) return more();
    if (end == std::string_view::npos) return std::nullopt;
    call.arguments[key] = std::move(value);
    k = skip_ws(t, end);
    if (k == t.size()) return more();
    if (t[k] == ',') {
      ++k;
    } else if (t[k] != ')') {
      return std::nullopt;
    }
  }
  std::vector<ToolCall> calls;
  calls.push_back(std::move(call));
  return ok(k + 1, std::move(calls));
}

// One JSON object or array starting at t[i] (after a marker), read as calls.
CallMatch match_json_calls(std::string_view t, size_t i, bool final, bool require_args) {
  const SpanEnd span = scan_json_span(t, i);
  if (span.kind == Span::kNeedMore) return need_or_fail(final, t.size());
  if (span.kind == Span::kBad) return fail(span.end);
  auto j = parse_json(t.substr(i, span.end - i));
  if (!j) return fail(span.end);
  auto calls = calls_from_value(*j, require_args);
  if (!calls) return fail(span.end);
  return ok(span.end, std::move(*calls));
}

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

// A parameter of the XML form is text; JSON-looking text (objects, arrays, numbers, booleans,
// null: what the template wrote with tojson) is read back as JSON. Without the tool's schema a
// numeric-looking string parameter becomes a number.
Json xml_param_value(std::string_view v) {
  if (starts_with(v, "\n")) v.remove_prefix(1);
  if (!v.empty() && v.back() == '\n') v.remove_suffix(1);
  auto j = parse_json(v);
  if (j && !j->is_string()) return *j;
  return Json(std::string(v));
}

// Qwen3-Coder / Qwen3.5 inside <tool_call>: <function=NAME> then <parameter=KEY>\nVALUE\n
// </parameter> for each argument, then </function>.
std::optional<std::vector<ToolCall>> calls_from_xml(std::string_view body) {
  constexpr std::string_view kFunction = "<function=", kFunctionEnd = "</function>";
  constexpr std::string_view kParam = "<parameter=", kParamEnd = "</parameter>";
  std::vector<ToolCall> calls;
  for (size_t i = skip_ws(body, 0); i < body.size(); i = skip_ws(body, i)) {
    if (!starts_with(body.substr(i), kFunction)) return std::nullopt;
    size_t gt = body.find('>', i);
    if (gt == std::string_view::npos) return std::nullopt;
    ToolCall call;
    call.name =
        std::string(trim_ascii_space(body.substr(i + kFunction.size(), gt - i - kFunction.size())));
    if (call.name.empty()) return std::nullopt;
    call.arguments = Json::object();
    for (i = skip_ws(body, gt + 1); !starts_with(body.substr(i), kFunctionEnd);
         i = skip_ws(body, i)) {
      if (!starts_with(body.substr(i), kParam)) return std::nullopt;
      gt = body.find('>', i);
      if (gt == std::string_view::npos) return std::nullopt;
      const std::string key(
          trim_ascii_space(body.substr(i + kParam.size(), gt - i - kParam.size())));
      const size_t end = body.find(kParamEnd, gt + 1);
      if (key.empty() || end == std::string_view::npos) return std::nullopt;
      call.arguments[key] = xml_param_value(body.substr(gt + 1, end - gt - 1));
      i = end + kParamEnd.size();
    }
    i += kFunctionEnd.size();
    calls.push_back(std::move(call));
  }
  if (calls.empty()) return std::nullopt;
  return calls;
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t fnv1a(std::string_view s, uint64_t h = 0xCBF29CE484222325ull) {
  for (unsigned char c : s) h = (h ^ c) * 0x100000001B3ull;
  return h;
}

}  // namespace

Prefix match_literal(std::string_view text, std::string_view lit) {
  if (text.size() >= lit.size())
    return text.substr(0, lit.size()) == lit ? Prefix::kFull : Prefix::kNo;
  return lit.substr(0, text.size()) == text ? Prefix::kPartial : Prefix::kNo;
}

Prefix match_bare_json_start(std::string_view text) {
  // The first key of every call object models write; anything else is ordinary JSON content.
  static constexpr std::string_view kKeys[] = {"name",       "type",      "function",
                                               "tool_calls", "arguments", "parameters"};
  if (text.empty() || text[0] != '{') return Prefix::kNo;
  size_t i = skip_ws(text, 1);
  if (i == text.size()) return Prefix::kPartial;
  if (text[i] != '"') return Prefix::kNo;
  ++i;
  const size_t close = text.find('"', i);
  const std::string_view key =
      close == std::string_view::npos ? text.substr(i) : text.substr(i, close - i);
  for (std::string_view k : kKeys) {
    if (close == std::string_view::npos && k.substr(0, std::min(k.size(), key.size())) == key &&
        key.size() <= k.size())
      return Prefix::kPartial;
    if (close != std::string_view::npos && key == k) return Prefix::kFull;
  }
  return Prefix::kNo;
}

std::optional<ToolCall> call_from_json(const Json& j, bool require_args) {
  if (!j.is_object()) return std::nullopt;
  const Json* obj = &j;
  auto fn = j.find("function");
  if (!j.contains("name") && fn != j.end() && fn->is_object()) obj = &*fn;
  auto name = obj->find("name");
  if (name == obj->end() || !name->is_string() || name->get_ref<const std::string&>().empty())
    return std::nullopt;
  auto args = obj->find("arguments");
  if (args == obj->end()) args = obj->find("parameters");
  ToolCall call;
  call.name = name->get<std::string>();
  if (args == obj->end()) {
    if (require_args) return std::nullopt;
    call.arguments = Json::object();
    return call;
  }
  auto normalized = normalize_arguments(*args);
  if (!normalized) return std::nullopt;
  call.arguments = std::move(*normalized);
  return call;
}

CallMatch match_hermes(std::string_view text, bool final) {
  const size_t body = kHermesOpen.size();
  const size_t close = text.find(kHermesClose, body);
  // Qwen2.5 sometimes stops at <|im_end|> before writing </tool_call>: a whole JSON body
  // at the very end still counts.
  const size_t len = close == std::string_view::npos ? text.size() : close + kHermesClose.size();
  if (close == std::string_view::npos && !final) return need_more();
  const std::string_view inner = trim_ascii_space(
      text.substr(body, (close == std::string_view::npos ? text.size() : close) - body));
  if (starts_with(inner, "<function=")) {
    auto calls = calls_from_xml(inner);
    if (!calls) return fail(len);
    return ok(len, std::move(*calls));
  }
  auto j = parse_json(inner);
  if (!j) return fail(len);
  auto calls = calls_from_value(*j, /*require_args=*/false);
  if (!calls) return fail(len);
  return ok(len, std::move(*calls));
}

CallMatch match_mistral(std::string_view text, bool final) {
  const size_t i = skip_ws(text, kMistralOpen.size());
  if (i == text.size()) return need_or_fail(final, text.size());
  if (text[i] == '[' || text[i] == '{') return match_json_calls(text, i, final, false);
  // name[ARGS]{...} or name[CALL_ID]id[ARGS]{...}
  size_t k = i;
  while (k < text.size() && is_name_char(text[k])) ++k;
  if (k == text.size()) return need_or_fail(final, text.size());
  if (k == i) return fail(i);
  const std::string name(text.substr(i, k - i));
  Prefix p = match_literal(text.substr(k), kMistralCallId);
  if (p == Prefix::kPartial) return need_or_fail(final, text.size());
  if (p == Prefix::kFull) {
    k += kMistralCallId.size();
    while (k < text.size() && is_ident_char(text[k])) ++k;
    if (k == text.size()) return need_or_fail(final, text.size());
  }
  p = match_literal(text.substr(k), kMistralArgs);
  if (p == Prefix::kPartial) return need_or_fail(final, text.size());
  if (p == Prefix::kNo) return fail(k);
  k = skip_ws(text, k + kMistralArgs.size());
  if (k == text.size()) return need_or_fail(final, text.size());
  if (text[k] != '{') return fail(k);
  const SpanEnd span = scan_json_span(text, k);
  if (span.kind == Span::kNeedMore) return need_or_fail(final, text.size());
  if (span.kind == Span::kBad) return fail(span.end);
  auto args = parse_json(text.substr(k, span.end - k));
  if (!args) return fail(span.end);
  auto normalized = normalize_arguments(*args);
  if (!normalized) return fail(span.end);
  std::vector<ToolCall> calls(1);
  calls[0].name = name;
  calls[0].arguments = std::move(*normalized);
  return ok(span.end, std::move(calls));
}

CallMatch match_python_tag(std::string_view text, bool final) {
  const size_t i = skip_ws(text, kPythonTag.size());
  if (i == text.size()) return need_or_fail(final, text.size());
  if (text[i] == '{') return match_json_calls(text, i, final, /*require_args=*/false);
  if (auto builtin = match_builtin_call(text, i, final)) return *builtin;
  // Raw code for the code interpreter: the rest of the output is the program.
  if (!final) return need_more();
  std::vector<ToolCall> calls(1);
  calls[0].name = "python";
  calls[0].arguments = Json::object();
  calls[0].arguments["code"] = std::string(trim_ascii_space(text.substr(i)));
  return ok(text.size(), std::move(calls));
}

CallMatch match_bare_json(std::string_view text, bool final) {
  return match_json_calls(text, 0, final, /*require_args=*/true);
}

std::string make_call_id(const ToolCall& call) {
  static constexpr char kAlphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  static std::atomic<uint64_t> counter{0};
  const std::string args = call.arguments.dump(-1, ' ', false, Json::error_handler_t::replace);
  uint64_t x = splitmix64(fnv1a(args, fnv1a(call.name)) + counter.fetch_add(1));
  std::string id = "call_";
  for (int half = 0; half < 2; ++half) {
    uint64_t v = x;
    for (int k = 0; k < 8; ++k, v /= 62) id.push_back(kAlphabet[v % 62]);
    x = splitmix64(x);
  }
  return id;
}

}  // namespace silica::tool_call_detail

// Translating Ollama and OpenAI request bodies into InferenceRequest / EmbedRequest.
#include "server/api_request.h"

#include "sample/sampler.h"
#include "server/options.h"

namespace silica {
namespace {

const char* type_name(const Json& v) {
  switch (v.type()) {
    case Json::value_t::string:
      return "a string";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::null:
      return "null";
    default:
      return "a number";
  }
}

Error wrong_type(std::string_view field, const char* expected, const Json& found) {
  return make_error("invalid type for field '{}': expected {}, found {}", field, expected,
                    type_name(found));
}

// Absent and null leave `out` unchanged.
const Json* field(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

Status get_string(const Json& obj, const char* key, std::string& out, std::string_view path = {}) {
  const Json* v = field(obj, key);
  if (!v) return {};
  if (!v->is_string()) return wrong_type(path.empty() ? key : path, "a string", *v);
  out = v->get<std::string>();
  return {};
}

Status get_bool(const Json& obj, const char* key, bool& out) {
  const Json* v = field(obj, key);
  if (!v) return {};
  if (!v->is_boolean()) return wrong_type(key, "a boolean", *v);
  out = v->get<bool>();
  return {};
}

template <typename T>
Status get_number(const Json& obj, const char* key, T& out, std::string_view path = {}) {
  const Json* v = field(obj, key);
  if (!v) return {};
  if (!v->is_number()) return wrong_type(path.empty() ? key : path, "a number", *v);
  if constexpr (std::is_integral_v<T>) {
    if (!v->is_number_integer()) return wrong_type(path.empty() ? key : path, "an integer", *v);
    out = T(v->get<int64_t>());
  } else {
    out = T(v->get<double>());
  }
  return {};
}

Status get_stop(const Json& obj, const char* key, std::vector<std::string>& out,
                std::string_view path) {
  const Json* v = field(obj, key);
  if (!v) return {};
  if (v->is_string()) {
    out = {v->get<std::string>()};
    return {};
  }
  if (!v->is_array()) return wrong_type(path, "a string or an array of strings", *v);
  out.clear();
  for (const Json& s : *v) {
    if (!s.is_string()) return wrong_type(path, "an array of strings", s);
    out.push_back(s.get<std::string>());
  }
  return {};
}

Status get_keep_alive(const Json& obj, std::optional<int64_t>& out) {
  const Json* v = field(obj, "keep_alive");
  if (!v) return {};
  SILICA_ASSIGN_OR_RETURN(out, parse_keep_alive(*v));
  return {};
}

Status require_object(const Json& body) {
  if (!body.is_object())
    return make_error("the request body must be a JSON object, found {}", type_name(body));
  return {};
}

Status get_model(const Json& body, std::string& model) {
  SILICA_RETURN_IF_ERROR(get_string(body, "model", model));
  if (model.empty()) return make_error("model is required");
  return {};
}

// Ollama's "format": "" / "json" / a JSON schema object.
Status get_ollama_format(const Json& body, InferenceRequest& r) {
  const Json* v = field(body, "format");
  if (!v) return {};
  if (v->is_string()) {
    const std::string f = v->get<std::string>();
    if (f.empty()) return {};
    if (f != "json")
      return make_error("invalid format '{}': use \"json\" or a JSON schema object", f);
    r.format = OutputFormat::kJson;
    return {};
  }
  if (!v->is_object()) return wrong_type("format", "\"json\" or a JSON schema object", *v);
  r.format = OutputFormat::kJsonSchema;
  r.schema = v->dump();
  return {};
}

// One chat message; `openai` accepts content parts and string tool-call arguments.
Expected<Json> parse_message(const Json& m, size_t i, bool openai) {
  const std::string where = fmt::format("messages[{}]", i);
  if (!m.is_object()) return wrong_type(where, "an object", m);
  Json out = Json::object();
  std::string role;
  SILICA_RETURN_IF_ERROR(get_string(m, "role", role, where + ".role"));
  if (role.empty()) return make_error("{}.role is required", where);
  out["role"] = role;
  std::string content;
  const Json* c = field(m, "content");
  if (c && c->is_array() && openai) {
    for (size_t k = 0; k < c->size(); ++k) {
      const Json& part = (*c)[k];
      if (!part.is_object())
        return wrong_type(fmt::format("{}.content[{}]", where, k), "an object", part);
      std::string type, text;
      SILICA_RETURN_IF_ERROR(get_string(part, "type", type, where + ".content[].type"));
      if (type == "text")
        SILICA_RETURN_IF_ERROR(get_string(part, "text", text, where + ".content[].text"));
      content += text;  // images and audio are not supported: ignored, as Ollama ignores images
    }
  } else {
    SILICA_RETURN_IF_ERROR(get_string(m, "content", content, where + ".content"));
  }
  out["content"] = content;
  if (const Json* tc = field(m, "tool_calls")) {
    if (!tc->is_array()) return wrong_type(where + ".tool_calls", "an array", *tc);
    Json calls = Json::array();
    for (const Json& call : *tc) {
      if (!call.is_object() || !call.contains("function") || !call["function"].is_object())
        return make_error("{}.tool_calls: each entry needs a \"function\" object", where);
      Json fn = call["function"];
      if (fn.contains("arguments") && fn["arguments"].is_string()) {
        // OpenAI sends arguments as a JSON string; templates expect the object.
        Json parsed = Json::parse(fn["arguments"].get<std::string>(), nullptr, false);
        if (parsed.is_discarded())
          return make_error("{}.tool_calls[].function.arguments is not valid JSON", where);
        fn["arguments"] = parsed;
      }
      Json entry = {{"function", fn}};
      if (call.contains("id")) entry["id"] = call["id"];
      if (openai) entry["type"] = "function";
      calls.push_back(entry);
    }
    out["tool_calls"] = calls;
  }
  std::string name;
  SILICA_RETURN_IF_ERROR(get_string(m, "tool_name", name, where + ".tool_name"));
  if (openai) SILICA_RETURN_IF_ERROR(get_string(m, "name", name, where + ".name"));
  if (!name.empty()) out["tool_name"] = name, out["name"] = name;
  std::string call_id;
  SILICA_RETURN_IF_ERROR(get_string(m, "tool_call_id", call_id, where + ".tool_call_id"));
  if (!call_id.empty()) out["tool_call_id"] = call_id;
  return out;
}

Status get_messages(const Json& body, InferenceRequest& r, bool openai) {
  const Json* v = field(body, "messages");
  if (!v) {
    if (openai) return make_error("messages is required");
    return {};
  }
  if (!v->is_array()) return wrong_type("messages", "an array", *v);
  for (size_t i = 0; i < v->size(); ++i) {
    SILICA_ASSIGN_OR_RETURN(Json m, parse_message((*v)[i], i, openai));
    r.messages.push_back(std::move(m));
  }
  r.chat = true;
  r.has_input = !r.messages.empty();
  return {};
}

Status get_tools(const Json& body, InferenceRequest& r) {
  const Json* v = field(body, "tools");
  if (!v) return {};
  if (!v->is_array()) return wrong_type("tools", "an array", *v);
  r.tools = *v;
  return {};
}

}  // namespace

Expected<int64_t> parse_keep_alive(const Json& v) {
  if (v.is_number()) return duration_from_seconds(v.get<double>());
  if (v.is_string()) {
    auto d = parse_duration(v.get<std::string>());
    if (!d) return make_error("invalid keep_alive: {}", d.message());
    return *d;
  }
  return wrong_type("keep_alive", "a number of seconds or a duration string", v);
}

GenerateParams ollama_default_params() {
  GenerateParams p;
  p.sampling.temperature = 0.8f;
  p.sampling.top_k = 40;
  p.sampling.top_p = 0.9f;
  p.sampling.min_p = 0.0f;
  p.sampling.repeat_penalty = 1.1f;
  p.sampling.repeat_last_n = 64;
  p.sampling.seed = kRandomSeed;
  return p;
}

GenerateParams openai_default_params() {
  GenerateParams p = ollama_default_params();
  p.sampling.temperature = 1.0f;
  p.sampling.top_p = 1.0f;
  p.sampling.repeat_penalty = 1.0f;
  return p;
}

Status apply_ollama_options(const Json& options, InferenceRequest& r) {
  if (options.is_null()) return {};
  if (!options.is_object()) return wrong_type("options", "an object", options);
  SamplerParams& s = r.params.sampling;
  SILICA_RETURN_IF_ERROR(get_number(options, "num_ctx", r.num_ctx, "options.num_ctx"));
  SILICA_RETURN_IF_ERROR(
      get_number(options, "num_predict", r.params.n_predict, "options.num_predict"));
  SILICA_RETURN_IF_ERROR(get_number(options, "temperature", s.temperature, "options.temperature"));
  SILICA_RETURN_IF_ERROR(get_number(options, "top_k", s.top_k, "options.top_k"));
  SILICA_RETURN_IF_ERROR(get_number(options, "top_p", s.top_p, "options.top_p"));
  SILICA_RETURN_IF_ERROR(get_number(options, "min_p", s.min_p, "options.min_p"));
  SILICA_RETURN_IF_ERROR(get_number(options, "typical_p", s.typical_p, "options.typical_p"));
  SILICA_RETURN_IF_ERROR(
      get_number(options, "repeat_penalty", s.repeat_penalty, "options.repeat_penalty"));
  SILICA_RETURN_IF_ERROR(
      get_number(options, "repeat_last_n", s.repeat_last_n, "options.repeat_last_n"));
  SILICA_RETURN_IF_ERROR(
      get_number(options, "presence_penalty", s.presence_penalty, "options.presence_penalty"));
  SILICA_RETURN_IF_ERROR(
      get_number(options, "frequency_penalty", s.frequency_penalty, "options.frequency_penalty"));
  int64_t seed = -1;
  if (field(options, "seed")) {
    SILICA_RETURN_IF_ERROR(get_number(options, "seed", seed, "options.seed"));
    s.seed = seed < 0 ? kRandomSeed : uint64_t(seed);
  }
  SILICA_RETURN_IF_ERROR(get_stop(options, "stop", r.params.stop, "options.stop"));
  int64_t unused = 0;  // accepted for compatibility; the engine picks its own batching
  SILICA_RETURN_IF_ERROR(get_number(options, "num_keep", unused, "options.num_keep"));
  SILICA_RETURN_IF_ERROR(get_number(options, "num_batch", unused, "options.num_batch"));
  SILICA_RETURN_IF_ERROR(get_number(options, "num_thread", r.n_threads, "options.num_thread"));
  if (r.num_ctx < 0) return make_error("options.num_ctx must be positive, got {}", r.num_ctx);
  if (r.n_threads < 0) return make_error("options.num_thread must be >= 0, got {}", r.n_threads);
  return {};
}

Expected<InferenceRequest> parse_ollama_generate(const Json& body) {
  SILICA_RETURN_IF_ERROR(require_object(body));
  InferenceRequest r;
  r.kind = ApiKind::kOllamaGenerate;
  r.params = ollama_default_params();
  SILICA_RETURN_IF_ERROR(get_model(body, r.model));
  SILICA_RETURN_IF_ERROR(get_string(body, "prompt", r.prompt));
  SILICA_RETURN_IF_ERROR(get_string(body, "suffix", r.suffix));
  SILICA_RETURN_IF_ERROR(get_string(body, "system", r.system));
  SILICA_RETURN_IF_ERROR(get_string(body, "template", r.template_source));
  SILICA_RETURN_IF_ERROR(get_bool(body, "raw", r.raw));
  SILICA_RETURN_IF_ERROR(get_bool(body, "stream", r.stream));
  SILICA_RETURN_IF_ERROR(get_ollama_format(body, r));
  SILICA_RETURN_IF_ERROR(get_keep_alive(body, r.keep_alive_ns));
  if (const Json* c = field(body, "context")) {
    if (!c->is_array()) return wrong_type("context", "an array of token ids", *c);
    for (const Json& t : *c) {
      if (!t.is_number_integer()) return wrong_type("context", "an array of integers", t);
      r.context.push_back(t.get<int32_t>());
    }
  }
  if (const Json* o = field(body, "options")) {
    SILICA_RETURN_IF_ERROR(apply_ollama_options(*o, r));
    r.given_options = *o;
  }
  r.has_input = !r.prompt.empty();
  return r;
}

Expected<InferenceRequest> parse_ollama_chat(const Json& body) {
  SILICA_RETURN_IF_ERROR(require_object(body));
  InferenceRequest r;
  r.kind = ApiKind::kOllamaChat;
  r.params = ollama_default_params();
  SILICA_RETURN_IF_ERROR(get_model(body, r.model));
  SILICA_RETURN_IF_ERROR(get_messages(body, r, false));
  r.chat = true;
  SILICA_RETURN_IF_ERROR(get_tools(body, r));
  SILICA_RETURN_IF_ERROR(get_bool(body, "stream", r.stream));
  SILICA_RETURN_IF_ERROR(get_ollama_format(body, r));
  SILICA_RETURN_IF_ERROR(get_keep_alive(body, r.keep_alive_ns));
  if (const Json* o = field(body, "options")) {
    SILICA_RETURN_IF_ERROR(apply_ollama_options(*o, r));
    r.given_options = *o;
  }
  return r;
}

namespace {

// Fields /v1/chat/completions and /v1/completions share.
Status parse_openai_common(const Json& body, InferenceRequest& r) {
  r.params = openai_default_params();
  r.stream = false;
  SILICA_RETURN_IF_ERROR(get_model(body, r.model));
  SILICA_RETURN_IF_ERROR(get_bool(body, "stream", r.stream));
  SamplerParams& s = r.params.sampling;
  SILICA_RETURN_IF_ERROR(get_number(body, "temperature", s.temperature));
  SILICA_RETURN_IF_ERROR(get_number(body, "top_p", s.top_p));
  SILICA_RETURN_IF_ERROR(get_number(body, "presence_penalty", s.presence_penalty));
  SILICA_RETURN_IF_ERROR(get_number(body, "frequency_penalty", s.frequency_penalty));
  if (field(body, "seed")) {
    int64_t seed = 0;
    SILICA_RETURN_IF_ERROR(get_number(body, "seed", seed));
    s.seed = seed < 0 ? kRandomSeed : uint64_t(seed);
  }
  SILICA_RETURN_IF_ERROR(get_number(body, "max_tokens", r.params.n_predict));
  SILICA_RETURN_IF_ERROR(get_number(body, "max_completion_tokens", r.params.n_predict));
  SILICA_RETURN_IF_ERROR(get_stop(body, "stop", r.params.stop, "stop"));
  // As Ollama's OpenAI layer: temperature and top_p are always the request's (1.0 when absent).
  Json& given = r.given_options;
  given["temperature"] = s.temperature;
  given["top_p"] = s.top_p;
  for (const char* key : {"presence_penalty", "frequency_penalty", "seed", "stop"})
    if (const Json* v = field(body, key)) given[key] = *v;
  for (const char* key : {"max_tokens", "max_completion_tokens"})
    if (const Json* v = field(body, key)) given["num_predict"] = *v;
  int64_t n = 1;
  SILICA_RETURN_IF_ERROR(get_number(body, "n", n));
  if (n != 1)
    return make_error("n must be 1: this server returns one choice per request, got {}", n);
  if (const Json* so = field(body, "stream_options")) {
    if (!so->is_object()) return wrong_type("stream_options", "an object", *so);
    SILICA_RETURN_IF_ERROR(get_bool(*so, "include_usage", r.include_usage));
  }
  if (const Json* rf = field(body, "response_format")) {
    if (!rf->is_object()) return wrong_type("response_format", "an object", *rf);
    std::string type;
    SILICA_RETURN_IF_ERROR(get_string(*rf, "type", type, "response_format.type"));
    if (type == "json_object") {
      r.format = OutputFormat::kJson;
    } else if (type == "json_schema") {
      const Json* js = field(*rf, "json_schema");
      if (!js || !js->is_object())
        return make_error("response_format.json_schema must be an object");
      const Json* schema = field(*js, "schema");
      if (!schema || !schema->is_object())
        return make_error("response_format.json_schema.schema must be an object");
      r.format = OutputFormat::kJsonSchema;
      r.schema = schema->dump();
    } else if (!type.empty() && type != "text") {
      return make_error("response_format.type '{}' is not one of text, json_object, json_schema",
                        type);
    }
  }
  SILICA_RETURN_IF_ERROR(get_keep_alive(body, r.keep_alive_ns));
  return {};
}

}  // namespace

Expected<InferenceRequest> parse_openai_chat(const Json& body) {
  SILICA_RETURN_IF_ERROR(require_object(body));
  InferenceRequest r;
  r.kind = ApiKind::kOpenAiChat;
  SILICA_RETURN_IF_ERROR(parse_openai_common(body, r));
  SILICA_RETURN_IF_ERROR(get_messages(body, r, true));
  if (r.messages.empty()) return make_error("messages must hold at least one message");
  SILICA_RETURN_IF_ERROR(get_tools(body, r));
  return r;
}

Expected<InferenceRequest> parse_openai_completion(const Json& body) {
  SILICA_RETURN_IF_ERROR(require_object(body));
  InferenceRequest r;
  r.kind = ApiKind::kOpenAiCompletion;
  r.raw = true;  // completions continue the text as given
  SILICA_RETURN_IF_ERROR(parse_openai_common(body, r));
  const Json* p = field(body, "prompt");
  if (!p) return make_error("prompt is required");
  if (p->is_array()) {
    if (p->size() != 1 || !(*p)[0].is_string())
      return make_error("prompt: only one string prompt per request is supported");
    r.prompt = (*p)[0].get<std::string>();
  } else if (p->is_string()) {
    r.prompt = p->get<std::string>();
  } else {
    return wrong_type("prompt", "a string", *p);
  }
  SILICA_RETURN_IF_ERROR(get_string(body, "suffix", r.suffix));
  if (r.prompt.empty()) return make_error("prompt must not be empty");
  r.has_input = true;
  return r;
}

Expected<EmbedRequest> parse_ollama_embed(const Json& body, bool legacy) {
  SILICA_RETURN_IF_ERROR(require_object(body));
  EmbedRequest r;
  r.legacy = legacy;
  SILICA_RETURN_IF_ERROR(get_model(body, r.model));
  SILICA_RETURN_IF_ERROR(get_keep_alive(body, r.keep_alive_ns));
  if (legacy) {
    std::string prompt;
    SILICA_RETURN_IF_ERROR(get_string(body, "prompt", prompt));
    if (!prompt.empty()) r.inputs.push_back(prompt);
  } else {
    SILICA_RETURN_IF_ERROR(get_bool(body, "truncate", r.truncate));
    if (const Json* in = field(body, "input")) {
      if (in->is_string()) {
        r.inputs.push_back(in->get<std::string>());
      } else if (in->is_array()) {
        for (const Json& s : *in) {
          if (!s.is_string()) return wrong_type("input", "a string or an array of strings", s);
          r.inputs.push_back(s.get<std::string>());
        }
      } else {
        return wrong_type("input", "a string or an array of strings", *in);
      }
    }
  }
  if (const Json* o = field(body, "options")) {
    InferenceRequest tmp;
    SILICA_RETURN_IF_ERROR(apply_ollama_options(*o, tmp));
    r.num_ctx = tmp.num_ctx;
    r.n_threads = tmp.n_threads;
  }
  return r;
}

Expected<EmbedRequest> parse_openai_embed(const Json& body) {
  SILICA_RETURN_IF_ERROR(require_object(body));
  EmbedRequest r;
  SILICA_RETURN_IF_ERROR(get_model(body, r.model));
  const Json* in = field(body, "input");
  if (!in) return make_error("input is required");
  if (in->is_string()) {
    r.inputs.push_back(in->get<std::string>());
  } else if (in->is_array()) {
    for (const Json& s : *in) {
      if (!s.is_string()) return wrong_type("input", "a string or an array of strings", s);
      r.inputs.push_back(s.get<std::string>());
    }
  } else {
    return wrong_type("input", "a string or an array of strings", *in);
  }
  if (r.inputs.empty()) return make_error("input must not be empty");
  std::string enc;
  SILICA_RETURN_IF_ERROR(get_string(body, "encoding_format", enc));
  if (!enc.empty() && enc != "float" && enc != "base64")
    return make_error("encoding_format '{}' is not float or base64", enc);
  r.base64 = enc == "base64";
  return r;
}

}  // namespace silica

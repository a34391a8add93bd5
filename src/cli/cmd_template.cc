// `silica template MODEL_OR_TEMPLATE --messages FILE.json`: the prompt a chat template renders.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "chat/chat_template.h"
#include "cli/commands.h"
#include "format/gguf.h"

namespace silica {
namespace {

using OrderedJson = nlohmann::ordered_json;

struct TemplateOptions {
  std::string source;  // a GGUF model, or a .jinja / .txt template file
  std::string messages;
  std::string batch;  // hidden: a file listing one messages file per line
  bool add_generation_prompt = false;
  std::vector<std::string> vars;
};

Expected<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cannot read '{}'", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The template text plus bos/eos token strings when the source is a GGUF model.
struct TemplateSource {
  std::string text;
  std::optional<std::string> bos, eos;
};

Expected<TemplateSource> load_source(const std::string& path) {
  SILICA_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  if (bytes.compare(0, 4, "GGUF") != 0) return TemplateSource{std::move(bytes), {}, {}};
  SILICA_ASSIGN_OR_RETURN(GgufFile file, GgufFile::open(path));
  auto text = file.get_string("tokenizer.chat_template");
  if (!text) return make_error("{}: no tokenizer.chat_template string in the GGUF metadata", path);
  TemplateSource src{*text, {}, {}};
  std::vector<std::string_view> tokens = file.get_string_array("tokenizer.ggml.tokens");
  auto token = [&](const char* key) -> std::optional<std::string> {
    auto id = file.get_int(key);
    if (!id || *id < 0 || size_t(*id) >= tokens.size()) return std::nullopt;
    return std::string(tokens[size_t(*id)]);
  };
  src.bos = token("tokenizer.ggml.bos_token_id");
  src.eos = token("tokenizer.ggml.eos_token_id");
  return src;
}

// The render context from a messages file: an array of messages or an object of variables.
Expected<OrderedJson> load_context(const std::string& path, const TemplateSource& src,
                                   const TemplateOptions& o) {
  SILICA_ASSIGN_OR_RETURN(std::string text, read_file(path));
  OrderedJson doc = OrderedJson::parse(text, nullptr, false);
  if (doc.is_discarded()) return make_error("{}: not valid JSON", path);
  OrderedJson ctx = OrderedJson::object();
  if (doc.is_array()) {
    ctx["messages"] = std::move(doc);
  } else if (doc.is_object()) {
    ctx = std::move(doc);
    if (!ctx.contains("messages"))
      return make_error("{}: the object has no \"messages\" key", path);
  } else {
    return make_error("{}: expected an array of messages or an object, found {}", path,
                      doc.type_name());
  }
  if (o.add_generation_prompt) {
    ctx["add_generation_prompt"] = true;
  } else if (!ctx.contains("add_generation_prompt")) {
    ctx["add_generation_prompt"] = false;
  }
  if (src.bos && !ctx.contains("bos_token")) ctx["bos_token"] = *src.bos;
  if (src.eos && !ctx.contains("eos_token")) ctx["eos_token"] = *src.eos;
  for (const std::string& kv : o.vars) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) return make_error("--var '{}': expected KEY=VALUE", kv);
    std::string value = kv.substr(eq + 1);
    OrderedJson parsed = OrderedJson::parse(value, nullptr, false);
    ctx[kv.substr(0, eq)] = parsed.is_discarded() ? OrderedJson(value) : parsed;
  }
  return ctx;
}

void write_stdout(const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), stdout);
}

// One JSON line per messages file: {"ok":true,"text":...} or {"ok":false,"error":...}.
void run_batch(const ChatTemplate& tmpl, const TemplateSource& src, const TemplateOptions& o) {
  auto list = read_file(o.batch);
  if (!list) fail(list.message());
  std::istringstream lines(*list);
  std::string path;
  while (std::getline(lines, path)) {
    if (path.empty()) continue;
    OrderedJson line;
    auto ctx = load_context(path, src, o);
    auto out = ctx ? tmpl.render(*ctx) : Expected<std::string>(ctx.error());
    line["ok"] = out.ok();
    if (out) {
      line["text"] = *out;
    } else {
      line["error"] = out.message();
    }
    write_stdout(line.dump(-1, ' ', false, OrderedJson::error_handler_t::replace) + "\n");
  }
}

void render_template(const TemplateOptions& o) {
  auto src = load_source(o.source);
  if (!src) fail(src.message());
  auto tmpl = ChatTemplate::parse(src->text);
  if (!tmpl) fail(fmt::format("{}: {}", o.source, tmpl.message()));
  if (!o.batch.empty()) return run_batch(*tmpl, *src, o);
  if (o.messages.empty()) fail("--messages FILE.json is required");
  auto ctx = load_context(o.messages, *src, o);
  if (!ctx) fail(ctx.message());
  auto out = tmpl->render(*ctx);
  if (!out) fail(fmt::format("{}: {}", o.source, out.message()));
  write_stdout(*out);
}

}  // namespace

void add_template_command(CLI::App& app) {
  auto o = std::make_shared<TemplateOptions>();
  CLI::App* cmd = app.add_subcommand(
      "template", "Print the prompt a model's chat template makes of a conversation");
  cmd->add_option("source", o->source, "A GGUF model, or a chat template file (.jinja / .txt)")
      ->required();
  cmd->add_option("--messages", o->messages,
                  "JSON file: an array of messages, or an object with \"messages\", \"tools\" and "
                  "any other template variables");
  cmd->add_flag("--add-generation-prompt", o->add_generation_prompt,
                "End with the assistant's turn header");
  cmd->add_option("--var", o->vars,
                  "KEY=VALUE: set a template variable (VALUE as JSON if it parses)");
  cmd->add_option("--batch", o->batch)->group("");  // tests: many renders in one process
  cmd->callback([o] { render_template(*o); });
}

}  // namespace silica

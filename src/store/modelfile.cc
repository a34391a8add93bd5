// Modelfile parsing and `create`: each instruction maps to one Ollama layer media type.
#include "store/modelfile.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "format/gguf.h"
#include "format/model_folder.h"
#include "store/hf_repo.h"

namespace silica {
namespace {
namespace fs = std::filesystem;

constexpr const char* kInstructions[] = {"from",    "parameter", "template", "system",
                                         "adapter", "license",   "message"};

// Reads a value starting at text[pos]: """...""" (may span lines), "..." (one line, \" and
// \\ escapes) or the rest of the line. Advances pos past it.
Expected<std::string> read_value(std::string_view text, size_t& pos, std::string_view where,
                                 int line) {
  if (text.substr(pos, 3) == "\"\"\"") {
    size_t end = text.find("\"\"\"", pos + 3);
    if (end == std::string_view::npos)
      return make_error("{}:{}: \"\"\" is never closed", where, line);
    std::string v(text.substr(pos + 3, end - pos - 3));
    pos = end + 3;
    return v;
  }
  size_t eol = std::min(text.find('\n', pos), text.size());
  if (pos < text.size() && text[pos] == '"') {
    std::string v;
    for (size_t i = pos + 1; i < eol; ++i) {
      if (text[i] == '\\' && i + 1 < eol) {
        v += text[++i];
      } else if (text[i] == '"') {
        pos = i + 1;
        return v;
      } else {
        v += text[i];
      }
    }
    return make_error("{}:{}: the quote is never closed", where, line);
  }
  std::string v(trim_ascii_space(text.substr(pos, eol - pos)));
  pos = eol;
  return v;
}

nlohmann::json typed_value(const std::string& v) {
  if (v == "true") return true;
  if (v == "false") return false;
  char* end = nullptr;
  long long i = std::strtoll(v.c_str(), &end, 10);
  if (!v.empty() && *end == '\0') return i;
  double d = std::strtod(v.c_str(), &end);
  if (!v.empty() && *end == '\0') return d;
  return v;
}

std::string gguf_arch(const std::string& path) {
  auto f = GgufFile::open(path);
  if (!f) return "";
  const GgufValue* v = f->find("general.architecture");
  return v ? std::string(v->as_string().value_or("")) : "";
}

void set_layer(std::vector<ManifestLayer>& layers, const ManifestLayer& l) {
  std::erase_if(layers, [&](const ManifestLayer& x) { return x.media_type == l.media_type; });
  layers.push_back(l);
}

// FROM a safetensors / MLX folder: the files a pull of the same repository would fetch, each a
// kMediaModelFile layer named after its file. The folder is checked first (config.json, readable
// safetensors headers) so a bad one leaves no blobs behind.
Expected<std::vector<ManifestLayer>> folder_layers(const Store& store, const ModelfileCommand& c,
                                                   const fs::path& dir) {
  auto d = describe_model_path(dir.string());
  if (!d)
    return make_error("FROM {} (line {}): not a usable model folder: {}", c.args, c.line,
                      d.message());
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file(ec) && is_wanted_repo_file(name)) names.push_back(name);
  }
  if (ec) return make_error("FROM {}: cannot list {}: {}", c.args, dir.string(), ec.message());
  std::sort(names.begin(), names.end());  // the same files give the same manifest
  std::vector<ManifestLayer> layers;
  for (const std::string& name : names) {
    SILICA_ASSIGN_OR_RETURN(ManifestLayer l,
                            store.add_blob_file((dir / name).string(), kMediaModelFile));
    l.file_name = name;
    layers.push_back(std::move(l));
  }
  return layers;
}

// FROM: a store model's layers, a GGUF file imported as the model layer, or a model folder.
Expected<std::vector<ManifestLayer>> from_layers(const Store& store, const ModelfileCommand& c,
                                                 const std::string& base_dir) {
  fs::path p(c.args);
  if (p.is_relative()) p = (fs::path(base_dir) / p).lexically_normal();
  std::error_code ec;
  if (fs::is_directory(p, ec)) return folder_layers(store, c, p);
  if (fs::is_regular_file(p, ec)) {
    if (!GgufFile::open(p.string()))
      return make_error("FROM {}: {} is not a GGUF file", c.args, p.string());
    SILICA_ASSIGN_OR_RETURN(ManifestLayer l, store.add_blob_file(p.string(), kMediaModel));
    return std::vector<ManifestLayer>{l};
  }
  auto base = store.resolve(c.args);
  if (!base)
    return make_error("FROM {} (line {}): not a file under {} and not a stored model: {}", c.args,
                      c.line, base_dir, base.message());
  return base->manifest.layers;
}

// The config blob: a GGUF model's architecture, or a folder model described through its folder
// view exactly as a pull describes it (so `list` and /api/tags show the same details).
Expected<ManifestLayer> config_layer(const Store& store, const ModelName& name, const Manifest& m) {
  if (const ManifestLayer* model = m.find(kMediaModel))
    return store.add_config_blob(m.layers, "gguf", gguf_arch(store.blob_path(model->digest)), "");
  if (!is_folder_manifest(m))
    return make_error("create {}: FROM gave no model layer", name.display());
  SILICA_ASSIGN_OR_RETURN(std::string folder, materialize_folder_view(store, m));
  auto d = describe_model_path(folder);
  if (!d)
    return make_error("create {}: the model files are not a usable model folder: {}",
                      name.display(), d.message());
  return folder_config_blob(store, m.layers, *d);
}

}  // namespace

Expected<Modelfile> parse_modelfile(std::string_view text, std::string_view where) {
  Modelfile mf;
  size_t pos = 0;
  int line = 0;
  while (pos < text.size()) {
    size_t eol = std::min(text.find('\n', pos), text.size());
    ++line;
    std::string head(trim_ascii_space(text.substr(pos, eol - pos)));
    if (head.empty() || head[0] == '#') {
      pos = eol + 1;
      continue;
    }
    while (pos < eol && is_ascii_space(text[pos])) ++pos;
    size_t word_end = pos;
    while (word_end < eol && !is_ascii_space(text[word_end])) ++word_end;
    std::string name(text.substr(pos, word_end - pos));
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    if (std::find(std::begin(kInstructions), std::end(kInstructions), name) ==
        std::end(kInstructions))
      return make_error("{}:{}: unknown instruction '{}'", where, line, name);
    pos = word_end;
    while (pos < eol && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
    int start_line = line;
    // PARAMETER and MESSAGE quote their second word, not their first.
    size_t value_at = pos;
    std::string prefix;
    if (name == "parameter" || name == "message") {
      while (value_at < eol && !is_ascii_space(text[value_at])) ++value_at;
      prefix = std::string(text.substr(pos, value_at - pos));
      while (value_at < eol && (text[value_at] == ' ' || text[value_at] == '\t')) ++value_at;
    }
    size_t vpos = value_at;
    SILICA_ASSIGN_OR_RETURN(std::string value, read_value(text, vpos, where, start_line));
    line += int(std::count(text.begin() + long(value_at), text.begin() + long(vpos), '\n'));
    std::string args = prefix.empty() ? value : prefix + " " + value;
    if (trim_ascii_space(args).empty())
      return make_error("{}:{}: {} needs a value", where, start_line, name);
    mf.commands.push_back({name, args, start_line});
    pos = std::min(text.find('\n', vpos), text.size()) + 1;
  }
  if (std::none_of(mf.commands.begin(), mf.commands.end(),
                   [](const auto& c) { return c.name == "from"; }))
    return make_error("{}: no FROM instruction", where);
  return mf;
}

Expected<std::pair<std::string, std::string>> split_first_word(const ModelfileCommand& c) {
  size_t sp = c.args.find(' ');
  if (sp == std::string::npos || sp == 0)
    return make_error("line {}: {} needs two values, found '{}'", c.line, c.name, c.args);
  return std::pair{c.args.substr(0, sp), c.args.substr(sp + 1)};
}

std::string params_json(const std::vector<std::pair<std::string, std::string>>& params,
                        std::string_view base_json) {
  nlohmann::json j = nlohmann::json::parse(base_json, nullptr, false);
  if (!j.is_object()) j = nlohmann::json::object();
  bool new_stop = false;
  for (const auto& [k, v] : params) {
    if (k == "stop") {
      if (!new_stop) j["stop"] = nlohmann::json::array();  // a Modelfile's stops replace FROM's
      new_stop = true;
      j["stop"].push_back(v);
    } else {
      j[k] = typed_value(v);
    }
  }
  return j.dump();
}

Expected<Manifest> create_model(const Store& store, const ModelName& name, const Modelfile& mf,
                                const std::string& base_dir) {
  std::vector<ManifestLayer> layers;
  std::vector<std::pair<std::string, std::string>> params;
  nlohmann::json messages = nlohmann::json::array();
  for (const auto& c : mf.commands) {
    if (c.name == "from") {
      SILICA_ASSIGN_OR_RETURN(layers, from_layers(store, c, base_dir));
    } else if (c.name == "parameter") {
      SILICA_ASSIGN_OR_RETURN(auto kv, split_first_word(c));
      params.push_back(kv);
    } else if (c.name == "message") {
      SILICA_ASSIGN_OR_RETURN(auto kv, split_first_word(c));
      if (kv.first != "system" && kv.first != "user" && kv.first != "assistant")
        return make_error("line {}: MESSAGE role '{}' is not system, user or assistant", c.line,
                          kv.first);
      messages.push_back({{"role", kv.first}, {"content", kv.second}});
    } else if (c.name == "template" || c.name == "system") {
      SILICA_ASSIGN_OR_RETURN(
          auto l,
          store.add_blob_bytes(c.args, c.name == "template" ? kMediaTemplate : kMediaSystem));
      set_layer(layers, l);
    } else if (c.name == "license") {
      SILICA_ASSIGN_OR_RETURN(auto l, store.add_blob_bytes(c.args, kMediaLicense));
      layers.push_back(l);
    } else if (c.name == "adapter") {
      fs::path p(c.args);
      if (p.is_relative()) p = fs::path(base_dir) / p;
      SILICA_ASSIGN_OR_RETURN(auto l, store.add_blob_file(p.string(), kMediaAdapter));
      layers.push_back(l);
    }
  }
  if (!params.empty()) {
    std::string base = "{}";
    for (const auto& l : layers) {
      if (l.media_type != kMediaParams) continue;
      SILICA_ASSIGN_OR_RETURN(base, store.read_blob_text(l.digest));
    }
    SILICA_ASSIGN_OR_RETURN(auto l, store.add_blob_bytes(params_json(params, base), kMediaParams));
    set_layer(layers, l);
  }
  if (!messages.empty()) {
    SILICA_ASSIGN_OR_RETURN(auto l, store.add_blob_bytes(messages.dump(), kMediaMessages));
    set_layer(layers, l);
  }
  Manifest m;
  m.layers = layers;
  SILICA_ASSIGN_OR_RETURN(m.config, config_layer(store, name, m));
  SILICA_RETURN_IF_ERROR(store.write_manifest(name, m));
  return m;
}

}  // namespace silica

// tokenizer.json parsing: model vocab / merges, added tokens, normalizer and pre-tokenizer
// mapped onto Vocab's flags and Split regexes.
#include "tokenizer/hf_tokenizer_json.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace silica {
namespace {

using Json = nlohmann::json;

// The GPT-2 pattern the ByteLevel pre-tokenizer applies when use_regex is true (HF's version,
// which ends in \s+ unlike llama.cpp's).
constexpr const char* kByteLevelRegex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

constexpr std::string_view kEscapedSpace = "\xE2\x96\x81";

std::string type_of(const Json& j) {
  return j.is_object() && j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>()
                                                                      : "";
}

// Normalizers we model: NFC, Replace " " -> U+2581, Prepend U+2581, and Sequences of them.
Status apply_normalizer(const Json& n, Vocab& v) {
  if (n.is_null()) return Status();
  const std::string type = type_of(n);
  if (type == "Sequence") {
    for (const Json& part : n.value("normalizers", Json::array())) {
      SILICA_RETURN_IF_ERROR(apply_normalizer(part, v));
    }
    return Status();
  }
  if (type == "NFC") {
    v.normalize_nfc = true;
    return Status();
  }
  if (type == "Replace" && n["pattern"].value("String", "") == " " &&
      n.value("content", "") == kEscapedSpace) {
    v.escape_whitespace = true;
    return Status();
  }
  if (type == "Prepend" && n.value("prepend", "") == kEscapedSpace) {
    v.add_space_prefix = true;
    return Status();
  }
  return make_error("tokenizer.json: unsupported normalizer {}", n.dump().substr(0, 200));
}

// Pre-tokenizers: Split by regex (Isolated), ByteLevel, and a Split on " " that the
// space-escaping normalizer has already made a no-op.
Status apply_pre_tokenizer(const Json& p, Vocab& v, bool& byte_level) {
  if (p.is_null()) return Status();
  const std::string type = type_of(p);
  if (type == "Sequence") {
    for (const Json& part : p.value("pretokenizers", Json::array())) {
      SILICA_RETURN_IF_ERROR(apply_pre_tokenizer(part, v, byte_level));
    }
    return Status();
  }
  if (type == "ByteLevel") {
    byte_level = true;
    if (p.value("add_prefix_space", false)) {
      return make_error(
          "tokenizer.json: ByteLevel pre-tokenizer with add_prefix_space is not "
          "supported");
    }
    if (p.value("use_regex", true)) v.pre_regexes->push_back(kByteLevelRegex);
    return Status();
  }
  if (type == "Split") {
    const Json& pat = p["pattern"];
    const std::string behavior = p.value("behavior", "");
    if (pat.contains("Regex") && behavior == "Isolated" && !p.value("invert", false)) {
      v.pre_regexes->push_back(pat["Regex"].get<std::string>());
      return Status();
    }
    if (pat.value("String", "") == " " && v.escape_whitespace) return Status();  // no spaces left
    return make_error(
        "tokenizer.json: unsupported Split pre-tokenizer {} (supported: a Regex "
        "with behavior Isolated)",
        p.dump().substr(0, 200));
  }
  return make_error("tokenizer.json: unsupported pre_tokenizer type '{}'", type);
}

// "a b" strings (older files) or ["a", "b"] pairs (newer ones) -> "a b".
Expected<std::vector<std::string>> read_merges(const Json& merges) {
  std::vector<std::string> out;
  out.reserve(merges.size());
  for (const Json& m : merges) {
    if (m.is_string()) {
      out.push_back(m.get<std::string>());
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      out.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
    } else {
      return make_error("tokenizer.json: model.merges entry {} is neither \"a b\" nor [a, b]",
                        m.dump().substr(0, 100));
    }
  }
  return out;
}

Status read_model(const Json& model, Vocab& v) {
  if (type_of(model) != "BPE") {
    return make_error("tokenizer.json: model type '{}' is not supported (supported: BPE)",
                      type_of(model));
  }
  const Json& vocab = model["vocab"];
  if (!vocab.is_object() || vocab.empty()) {
    return make_error("tokenizer.json: model.vocab missing or empty");
  }
  for (const auto& [text, id] : vocab.items()) {
    const int64_t i = id.get<int64_t>();
    if (i < 0 || i > (1 << 24)) {
      return make_error("tokenizer.json: token '{}' has id {} (expected 0..2^24)", text, i);
    }
    if (static_cast<size_t>(i) >= v.tokens.size()) v.tokens.resize(i + 1);
    v.tokens[i] = text;
  }
  SILICA_ASSIGN_OR_RETURN(v.merges, read_merges(model.value("merges", Json::array())));
  v.ignore_merges = model.value("ignore_merges", false);
  return Status();
}

Status read_added_tokens(const Json& added, Vocab& v, std::vector<uint8_t>& type_set) {
  for (const Json& a : added) {
    const int64_t id = a.value("id", int64_t{-1});
    if (id < 0 || id > (1 << 24)) {
      return make_error("tokenizer.json: added token {} has a bad id", a.dump().substr(0, 100));
    }
    if (static_cast<size_t>(id) >= v.tokens.size()) v.tokens.resize(id + 1);
    v.tokens[id] = a.value("content", "");
    if (type_set.size() < v.tokens.size()) type_set.resize(v.tokens.size());
    type_set[id] = a.value("special", false) ? kTokenControl : kTokenUserDefined;
  }
  return Status();
}

// A token named in tokenizer_config.json: a string or {"content": ...}; -1 if absent.
int32_t config_token(const Json& cfg, const char* key, const Vocab& v) {
  if (!cfg.is_object() || !cfg.contains(key)) return -1;
  const Json& t = cfg[key];
  std::string text;
  if (t.is_string()) text = t.get<std::string>();
  if (t.is_object()) text = t.value("content", "");
  if (text.empty()) return -1;
  const auto it = std::find(v.tokens.begin(), v.tokens.end(), text);
  return it == v.tokens.end() ? -1 : static_cast<int32_t>(it - v.tokens.begin());
}

// add_bos: tokenizer_config's add_bos_token, else a TemplateProcessing post-processor that
// starts with a special token.
void read_specials(const Json& root, const Json& cfg, Vocab& v) {
  v.bos = config_token(cfg, "bos_token", v);
  v.eos = config_token(cfg, "eos_token", v);
  v.pad = config_token(cfg, "pad_token", v);
  const int32_t unk = config_token(cfg, "unk_token", v);
  if (unk >= 0) v.unk = unk;
  const Json& post = root.value("post_processor", Json());
  // Llama 3.1 files wrap it: Sequence [ByteLevel, TemplateProcessing].
  std::vector<const Json*> posts = {&post};
  if (type_of(post) == "Sequence" && post.contains("processors") && post["processors"].is_array())
    for (const Json& p : post["processors"]) posts.push_back(&p);
  for (const Json* p : posts) {
    if (type_of(*p) != "TemplateProcessing") continue;
    const Json& single = p->value("single", Json::array());
    v.add_bos = !single.empty() && single[0].contains("SpecialToken");
  }
  if (cfg.is_object()) {
    if (cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean()) {
      v.add_bos = cfg["add_bos_token"].get<bool>();
    }
    if (cfg.contains("add_eos_token") && cfg["add_eos_token"].is_boolean()) {
      v.add_eos = cfg["add_eos_token"].get<bool>();
    }
  }
  if (v.bos < 0) v.add_bos = false;
  if (v.eos < 0) v.add_eos = false;
}

}  // namespace

Expected<Vocab> vocab_from_hf_json(std::string_view tokenizer_json,
                                   std::string_view tokenizer_config) {
  const Json root = Json::parse(tokenizer_json, nullptr, false);
  if (root.is_discarded() || !root.is_object()) {
    return make_error("tokenizer.json: not a JSON object");
  }
  Json cfg;
  if (!tokenizer_config.empty()) {
    cfg = Json::parse(tokenizer_config, nullptr, false);
    if (cfg.is_discarded()) return make_error("tokenizer_config.json: not valid JSON");
  }
  Vocab v;
  SILICA_RETURN_IF_ERROR(read_model(root.value("model", Json()), v));
  std::vector<uint8_t> types(v.tokens.size(), kTokenNormal);
  SILICA_RETURN_IF_ERROR(read_added_tokens(root.value("added_tokens", Json::array()), v, types));
  types.resize(v.tokens.size(), kTokenNormal);
  v.token_types.assign(types.begin(), types.end());
  // Ids no entry names (gaps before added tokens) can never be produced.
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    if (v.tokens[i].empty()) v.token_types[i] = kTokenUnused;
  }
  // unk_token of the model names the fallback for characters without a token.
  const Json& model = root["model"];
  if (model.contains("unk_token") && model["unk_token"].is_string()) {
    const auto it =
        std::find(v.tokens.begin(), v.tokens.end(), model["unk_token"].get<std::string>());
    if (it != v.tokens.end()) v.unk = static_cast<int32_t>(it - v.tokens.begin());
  }
  SILICA_RETURN_IF_ERROR(apply_normalizer(root.value("normalizer", Json()), v));
  v.pre_regexes.emplace();
  bool byte_level = false;
  SILICA_RETURN_IF_ERROR(apply_pre_tokenizer(root.value("pre_tokenizer", Json()), v, byte_level));
  v.model = byte_level ? kModelByteLevelBpe : kModelUtf8Bpe;
  if (!byte_level && !model.value("byte_fallback", false) && v.unk < 0) {
    return make_error(
        "tokenizer.json: BPE model without a ByteLevel pre-tokenizer, byte_fallback "
        "or unk_token cannot encode unseen characters");
  }
  if (model.value("byte_fallback", false)) {
    // The file has no token types: byte tokens are known by their "<0xAB>" names, and must
    // decode to their byte, not their name (HF's ByteFallback decoder).
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < v.tokens.size(); ++i) {
      const std::string& t = v.tokens[i];
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' &&
          std::string_view(kHex).find(t[3]) != std::string_view::npos &&
          std::string_view(kHex).find(t[4]) != std::string_view::npos &&
          v.token_types[i] == kTokenNormal) {
        v.token_types[i] = kTokenByte;
      }
    }
  }
  read_specials(root, cfg, v);
  fill_eog_ids(v);
  return v;
}

}  // namespace silica

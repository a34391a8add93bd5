// Hugging Face folders: tensor renaming, shard loading, tokenizer and chat template files.
#include "model/hf_folder.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "format/model_folder.h"
#include "tokenizer/hf_tokenizer_json.h"

namespace silica {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Per-layer names: HF suffix after "model.layers.N." -> silica suffix after "blk.N.".
constexpr std::pair<std::string_view, std::string_view> kLayerNames[] = {
    {"input_layernorm.weight", "attn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.q_proj.bias", "attn_q.bias"},
    {"self_attn.k_proj.bias", "attn_k.bias"},
    {"self_attn.v_proj.bias", "attn_v.bias"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
};

constexpr std::pair<std::string_view, std::string_view> kGlobalNames[] = {
    {"model.embed_tokens.weight", "token_embd.weight"},
    {"model.norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
};

Expected<std::string> read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return make_error("cannot read {}", p.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string rename_tensor(std::string_view hf) {
  return hf_to_silica_tensor_name(hf);
}

}  // namespace

std::string hf_to_silica_tensor_name(std::string_view hf) {
  for (const auto& [from, to] : kGlobalNames)
    if (hf == from) return std::string(to);
  constexpr std::string_view kLayers = "model.layers.";
  if (!hf.starts_with(kLayers)) return std::string(hf);
  const std::string_view rest = hf.substr(kLayers.size());
  const size_t dot = rest.find('.');
  if (dot == std::string_view::npos || dot == 0) return std::string(hf);
  const std::string_view layer = rest.substr(0, dot), suffix = rest.substr(dot + 1);
  if (layer.find_first_not_of("0123456789") != std::string_view::npos) return std::string(hf);
  if (suffix == "self_attn.rotary_emb.inv_freq") return "";  // recomputed from rope_theta
  for (const auto& [from, to] : kLayerNames)
    if (suffix == from) return "blk." + std::string(layer) + "." + std::string(to);
  return std::string(hf);
}

Expected<HfFolder> open_hf_folder(const std::string& dir) {
  SILICA_ASSIGN_OR_RETURN(ModelDescription d, describe_model_path(dir));
  if (d.format == kFormatMlx)
    return make_error(
        "{} is an MLX-quantized folder ({}): running MLX affine-quantized weights is not "
        "supported yet (silica runs F32/F16/BF16 safetensors folders); use the unquantized "
        "Hugging Face repository or a GGUF file",
        dir, d.quantization_level);
  const fs::path root(dir);
  SILICA_ASSIGN_OR_RETURN(std::string config_text, read_text(root / "config.json"));
  HfFolder f;
  SILICA_ASSIGN_OR_RETURN(f.config, parse_hf_config(config_text, (root / "config.json").string()));
  f.tensors.set_path(dir);
  for (const std::string& name : d.weight_files) {
    SILICA_ASSIGN_OR_RETURN(SafetensorsFile shard, SafetensorsFile::open((root / name).string()));
    SILICA_RETURN_IF_ERROR(f.tensors.add_shard(std::move(shard), &rename_tensor));
  }
  const ModelHParams& hp = f.config.hp;
  if (f.config.tie_word_embeddings) {
    // Some tied checkpoints store lm_head as well; the embedding is the one that is used.
  } else if (!f.tensors.find("output.weight")) {
    return make_error(
        "{}: lm_head.weight is missing and config.json says tie_word_embeddings is false", dir);
  }
  if (f.config.llama3_rope)
    f.tensors.add_owned_f32(
        "rope_freqs.weight",
        llama3_rope_freq_factors(*f.config.llama3_rope, hp.rope_freq_base, hp.rope_n_dims));
  return f;
}

Expected<Vocab> vocab_from_hf_folder(const std::string& dir, int64_t n_vocab) {
  const fs::path root(dir);
  std::error_code ec;
  if (!fs::is_regular_file(root / "tokenizer.json", ec))
    return make_error("{}: tokenizer.json is missing (silica reads the tokenizer from it)", dir);
  SILICA_ASSIGN_OR_RETURN(std::string tok, read_text(root / "tokenizer.json"));
  std::string cfg;
  if (fs::is_regular_file(root / "tokenizer_config.json", ec)) {
    SILICA_ASSIGN_OR_RETURN(cfg, read_text(root / "tokenizer_config.json"));
  }
  auto v = vocab_from_hf_json(tok, cfg);
  if (!v.ok()) return make_error("{}/tokenizer.json: {}", dir, v.message());
  Vocab vocab = std::move(v.value());
  if (int64_t(vocab.tokens.size()) > n_vocab)
    return make_error("{}: tokenizer.json has {} tokens but the embedding has only {} rows", dir,
                      vocab.tokens.size(), n_vocab);
  if (vocab.token_types.empty()) vocab.token_types.assign(vocab.tokens.size(), kTokenNormal);
  for (int64_t i = int64_t(vocab.tokens.size()); i < n_vocab; ++i) {
    vocab.tokens.push_back("[PAD" + std::to_string(i) + "]");
    vocab.token_types.push_back(kTokenUnused);
    if (!vocab.scores.empty()) vocab.scores.push_back(0.0f);
  }
  return vocab;
}

Expected<std::optional<std::string>> hf_chat_template(const std::string& dir) {
  const fs::path root(dir);
  std::error_code ec;
  if (fs::is_regular_file(root / "chat_template.jinja", ec)) {
    SILICA_ASSIGN_OR_RETURN(std::string t, read_text(root / "chat_template.jinja"));
    return std::optional<std::string>(std::move(t));
  }
  if (!fs::is_regular_file(root / "tokenizer_config.json", ec)) return std::optional<std::string>();
  SILICA_ASSIGN_OR_RETURN(std::string text, read_text(root / "tokenizer_config.json"));
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return make_error("{}: not a JSON object", (root / "tokenizer_config.json").string());
  auto it = j.find("chat_template");
  if (it == j.end() || it->is_null()) return std::optional<std::string>();
  if (it->is_string()) return std::optional<std::string>(it->get<std::string>());
  if (it->is_array())  // named templates: "default" is the chat one ("tool_use", "rag" ...)
    for (const auto& t : *it)
      if (t.is_object() && t.contains("name") && t["name"] == "default" && t.contains("template") &&
          t["template"].is_string())
        return std::optional<std::string>(t["template"].get<std::string>());
  return make_error("{}: \"chat_template\" is neither a string nor a list with a \"default\" entry",
                    (root / "tokenizer_config.json").string());
}

}  // namespace silica

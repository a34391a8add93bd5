// GGUF -> Hugging Face folder: names and shapes reversed, llama q/k rows un-permuted.
#include "model/hf_export.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "format/safetensors.h"
#include "model/hparams.h"

namespace silica {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

// silica name -> HF name (the inverse of hf_to_silica_tensor_name for the tensors we write).
std::string hf_name(const std::string& n) {
  static const std::map<std::string, std::string> kGlobal = {
      {"token_embd.weight", "model.embed_tokens.weight"},
      {"output_norm.weight", "model.norm.weight"},
      {"output.weight", "lm_head.weight"}};
  static const std::map<std::string, std::string> kLayer = {
      {"attn_norm.weight", "input_layernorm.weight"},
      {"attn_q.weight", "self_attn.q_proj.weight"},
      {"attn_k.weight", "self_attn.k_proj.weight"},
      {"attn_v.weight", "self_attn.v_proj.weight"},
      {"attn_q.bias", "self_attn.q_proj.bias"},
      {"attn_k.bias", "self_attn.k_proj.bias"},
      {"attn_v.bias", "self_attn.v_proj.bias"},
      {"attn_output.weight", "self_attn.o_proj.weight"},
      {"ffn_norm.weight", "post_attention_layernorm.weight"},
      {"ffn_gate.weight", "mlp.gate_proj.weight"},
      {"ffn_up.weight", "mlp.up_proj.weight"},
      {"ffn_down.weight", "mlp.down_proj.weight"}};
  if (auto it = kGlobal.find(n); it != kGlobal.end()) return it->second;
  if (n.starts_with("blk.")) {
    const size_t dot = n.find('.', 4);
    auto it = kLayer.find(n.substr(dot + 1));
    if (dot != std::string::npos && it != kLayer.end())
      return "model.layers." + n.substr(4, dot - 4) + "." + it->second;
  }
  return "";
}

std::optional<StDtype> st_type(DType t) {
  if (t == DType::kF32) return StDtype::kF32;
  if (t == DType::kF16) return StDtype::kF16;
  if (t == DType::kBF16) return StDtype::kBF16;
  return std::nullopt;
}

// HF row h*hd + j*hd/2 + i holds GGUF row h*hd + 2i + j (j in {0, 1}).
std::string unpermute_rows(const GgufTensorInfo& t, int64_t n_head) {
  const int64_t n_rows = t.ne[1], hd = n_rows / n_head;
  const size_t row = t.nbytes / size_t(n_rows);
  std::string out(t.nbytes, '\0');
  for (int64_t h = 0; h < n_head; ++h)
    for (int64_t j = 0; j < 2; ++j)
      for (int64_t i = 0; i < hd / 2; ++i)
        std::memcpy(out.data() + size_t(h * hd + j * hd / 2 + i) * row,
                    t.data + size_t(h * hd + 2 * i + j) * row, row);
  return out;
}

Expected<ordered_json> make_config(const GgufFile& f, const ModelHParams& hp, const char* dtype) {
  const GgufTensorInfo* emb = f.find_tensor("token_embd.weight");
  if (!emb || emb->ne.size() != 2) return make_error("{}: no token_embd.weight matrix", f.path());
  ordered_json c;
  c["architectures"] = {hp.arch == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM"};
  c["model_type"] = hp.arch;
  c["hidden_size"] = hp.n_embd;
  c["intermediate_size"] = hp.n_ff;
  c["num_hidden_layers"] = hp.n_layer;
  c["num_attention_heads"] = hp.n_head;
  c["num_key_value_heads"] = hp.n_head_kv;
  c["head_dim"] = hp.head_dim;
  c["max_position_embeddings"] = hp.n_ctx_train;
  c["rms_norm_eps"] = hp.rms_eps;
  c["rope_theta"] = hp.rope_freq_base;
  c["vocab_size"] = emb->ne[1];
  c["tie_word_embeddings"] = f.find_tensor("output.weight") == nullptr;
  c["torch_dtype"] = dtype;
  c["rope_scaling"] = nullptr;
  if (f.find_tensor("rope_freqs.weight")) {
    const std::string p = hp.arch + ".rope.scaling.";
    auto factor = f.get_float(p + "factor");
    auto low = f.get_float(p + "low_freq_factor"), high = f.get_float(p + "high_freq_factor");
    auto orig = f.get_int(p + "original_context_length");
    if (!factor || !low || !high || !orig)
      return make_error(
          "{}: rope_freqs.weight without the {}* keys: not expressible in config.json", f.path(),
          p);
    c["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", *factor},
                         {"low_freq_factor", *low},
                         {"high_freq_factor", *high},
                         {"original_max_position_embeddings", *orig}};
  }
  return c;
}

Status write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
  if (!out) return make_error("cannot write {}", p.string());
  return {};
}

}  // namespace

Status write_hf_folder(const GgufFile& f, const std::string& dir, const HfExportOptions& o) {
  SILICA_ASSIGN_OR_RETURN(ModelHParams hp, read_common_hparams(f));
  std::vector<std::string> bytes;  // owned tensor bytes (un-permuted copies)
  bytes.reserve(f.tensors().size());
  std::vector<StWriteTensor> tensors;
  const char* dtype = "float32";
  for (const GgufTensorInfo& t : f.tensors()) {
    if (t.name == "rope_freqs.weight") continue;  // recomputed from rope_scaling
    const std::string name = hf_name(t.name);
    const auto type = st_type(t.type);
    if (name.empty() || !type)
      return make_error("{}: tensor '{}' ({}) has no Hugging Face counterpart", f.path(), t.name,
                        dtype_name(t.type));
    if (t.ne.size() == 2 && t.type != DType::kF32)
      dtype = t.type == DType::kF16 ? "float16" : "bfloat16";
    const bool q = t.name.ends_with("attn_q.weight"), k = t.name.ends_with("attn_k.weight");
    if (hp.arch == "llama" && (q || k))
      bytes.push_back(unpermute_rows(t, q ? hp.n_head : hp.n_head_kv));
    else
      bytes.emplace_back(reinterpret_cast<const char*>(t.data), t.nbytes);
    tensors.push_back({name, *type, std::vector<int64_t>(t.ne.rbegin(), t.ne.rend()),
                       std::string_view(bytes.back())});
  }
  SILICA_ASSIGN_OR_RETURN(ordered_json config, make_config(f, hp, dtype));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error("cannot create {}: {}", dir, ec.message());
  SILICA_RETURN_IF_ERROR(write_text(fs::path(dir) / "config.json", config.dump(2)));
  const int n = std::max(1, o.n_shards);
  if (n == 1) {
    SILICA_RETURN_IF_ERROR(write_safetensors((fs::path(dir) / "model.safetensors").string(),
                                             tensors, {{"format", "pt"}}));
  } else {
    ordered_json index = {{"metadata", ordered_json::object()},
                          {"weight_map", ordered_json::object()}};
    for (int s = 0; s < n; ++s) {
      const std::string file = fmt::format("model-{:05}-of-{:05}.safetensors", s + 1, n);
      std::vector<StWriteTensor> part;
      for (size_t i = size_t(s); i < tensors.size(); i += size_t(n)) {
        part.push_back(tensors[i]);
        index["weight_map"][tensors[i].name] = file;
      }
      SILICA_RETURN_IF_ERROR(
          write_safetensors((fs::path(dir) / file).string(), part, {{"format", "pt"}}));
    }
    SILICA_RETURN_IF_ERROR(
        write_text(fs::path(dir) / "model.safetensors.index.json", index.dump(2)));
  }
  for (const auto& [src, dst] : {std::pair{o.tokenizer_json, "tokenizer.json"},
                                 std::pair{o.tokenizer_config, "tokenizer_config.json"}}) {
    if (src.empty()) continue;
    fs::copy_file(src, fs::path(dir) / dst, fs::copy_options::overwrite_existing, ec);
    if (ec) return make_error("cannot copy {} into {}: {}", src, dir, ec.message());
  }
  return {};
}

}  // namespace silica

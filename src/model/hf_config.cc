// config.json keys of LlamaForCausalLM / MistralForCausalLM / Qwen2ForCausalLM -> ModelHParams.
#include "model/hf_config.h"

#include <fmt/ranges.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <numbers>

namespace silica {
namespace {

using nlohmann::json;

struct ArchName {
  const char* hf;      // architectures[0]
  const char* silica;  // registry name
};

constexpr ArchName kArchNames[] = {
    {"LlamaForCausalLM", "llama"},
    {"MistralForCausalLM", "llama"},
    {"Qwen2ForCausalLM", "qwen2"},
};

Expected<int64_t> require_positive(const json& j, const char* key, const std::string& path) {
  auto it = j.find(key);
  if (it == j.end()) return make_error("{}: key \"{}\" is missing", path, key);
  if (!it->is_number_integer() || it->get<int64_t>() <= 0)
    return make_error("{}: key \"{}\" must be a positive integer, found {}", path, key, it->dump());
  return it->get<int64_t>();
}

// An optional positive integer; `fallback` when absent or null.
Expected<int64_t> optional_positive(const json& j, const char* key, int64_t fallback,
                                    const std::string& path) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  return require_positive(j, key, path);
}

// json::value throws on a type mismatch (a null "torch_dtype"); these fall back instead.
std::string string_or(const json& j, const char* key, std::string fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

bool bool_or(const json& j, const char* key, bool fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

double number_or(const json& j, const char* key, double fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

Status read_rope_scaling(const json& j, const std::string& path, HfConfig& c) {
  auto it = j.find("rope_scaling");
  if (it == j.end() || it->is_null()) return {};
  if (!it->is_object())
    return make_error("{}: \"rope_scaling\" must be an object or null, found {}", path, it->dump());
  const json& r = *it;
  // Older files say "type", newer "rope_type".
  const std::string type = string_or(r, "rope_type", string_or(r, "type", ""));
  if (type == "default") return {};
  const double factor = number_or(r, "factor", 0.0);
  if (factor <= 0.0)
    return make_error("{}: rope_scaling \"factor\" must be positive, found {}", path,
                      r.contains("factor") ? r["factor"].dump() : "nothing");
  if (type == "linear") {
    c.hp.rope_freq_scale = float(1.0 / factor);
    return {};
  }
  if (type != "llama3")
    return make_error(
        "{}: rope_scaling type \"{}\" is not supported yet (supported: default, linear, llama3)",
        path, type);
  Llama3RopeScaling s;
  s.factor = factor;
  s.low_freq_factor = number_or(r, "low_freq_factor", s.low_freq_factor);
  s.high_freq_factor = number_or(r, "high_freq_factor", s.high_freq_factor);
  SILICA_ASSIGN_OR_RETURN(s.original_max_position_embeddings,
                          optional_positive(r, "original_max_position_embeddings",
                                            s.original_max_position_embeddings, path));
  if (s.low_freq_factor <= 0.0 || s.high_freq_factor <= s.low_freq_factor)
    return make_error(
        "{}: rope_scaling needs 0 < low_freq_factor < high_freq_factor, found {} and {}", path,
        s.low_freq_factor, s.high_freq_factor);
  c.llama3_rope = s;
  return {};
}

Status read_sizes(const json& j, const std::string& path, ModelHParams& hp) {
  SILICA_ASSIGN_OR_RETURN(hp.n_embd, require_positive(j, "hidden_size", path));
  SILICA_ASSIGN_OR_RETURN(hp.n_layer, require_positive(j, "num_hidden_layers", path));
  SILICA_ASSIGN_OR_RETURN(hp.n_head, require_positive(j, "num_attention_heads", path));
  SILICA_ASSIGN_OR_RETURN(hp.n_ff, require_positive(j, "intermediate_size", path));
  SILICA_ASSIGN_OR_RETURN(hp.n_head_kv,
                          optional_positive(j, "num_key_value_heads", hp.n_head, path));
  SILICA_ASSIGN_OR_RETURN(hp.n_ctx_train,
                          optional_positive(j, "max_position_embeddings", 2048, path));
  if (hp.n_head % hp.n_head_kv != 0)
    return make_error("{}: {} attention heads cannot be grouped over {} key/value heads", path,
                      hp.n_head, hp.n_head_kv);
  if (!j.contains("head_dim") && hp.n_embd % hp.n_head != 0)
    return make_error("{}: hidden_size {} is not a multiple of num_attention_heads {}", path,
                      hp.n_embd, hp.n_head);
  SILICA_ASSIGN_OR_RETURN(hp.head_dim,
                          optional_positive(j, "head_dim", hp.n_embd / hp.n_head, path));
  if (hp.head_dim % 2 != 0)
    return make_error("{}: head size {} must be even for RoPE", path, hp.head_dim);
  hp.rope_n_dims = hp.head_dim;
  hp.rms_eps = float(number_or(j, "rms_norm_eps", 1e-6));
  hp.rope_freq_base = float(number_or(j, "rope_theta", 10000.0));
  return {};
}

}  // namespace

Expected<HfConfig> parse_hf_config(std::string_view text, const std::string& path) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return make_error("{}: not a JSON object", path);
  HfConfig c;
  auto archs = j.find("architectures");
  if (archs == j.end() || !archs->is_array() || archs->empty() || !(*archs)[0].is_string())
    return make_error("{}: key \"architectures\" is missing (expected e.g. [\"LlamaForCausalLM\"])",
                      path);
  c.architecture = (*archs)[0].get<std::string>();
  std::vector<std::string> known;
  for (const auto& a : kArchNames) {
    known.emplace_back(a.hf);
    if (c.architecture == a.hf) c.hp.arch = a.silica;
  }
  if (c.hp.arch.empty())
    return make_error(
        "{}: architecture \"{}\" is not supported in Hugging Face folders yet "
        "(supported: {})",
        path, c.architecture, fmt::join(known, ", "));
  c.hp.name = string_or(j, "_name_or_path", "");
  SILICA_RETURN_IF_ERROR(read_sizes(j, path, c.hp));
  SILICA_ASSIGN_OR_RETURN(c.vocab_size, require_positive(j, "vocab_size", path));
  c.tie_word_embeddings = bool_or(j, "tie_word_embeddings", false);
  c.torch_dtype = string_or(j, "torch_dtype", string_or(j, "dtype", ""));
  // HF applies rotate_half (pairs i, i + d/2) to q and k as stored: NeoX-style RoPE. GGUF
  // converters permute q/k rows so the interleaved style applies instead; here nothing is
  // permuted, so every folder architecture runs NeoX-style.
  c.hp.rope_type = RopeType::kNeox;
  SILICA_RETURN_IF_ERROR(read_rope_scaling(j, path, c));
  return c;
}

std::vector<float> llama3_rope_freq_factors(const Llama3RopeScaling& r, double rope_theta,
                                            int64_t rope_n_dims) {
  const double orig = double(r.original_max_position_embeddings);
  const double low_freq_wavelen = orig / r.low_freq_factor;
  const double high_freq_wavelen = orig / r.high_freq_factor;
  std::vector<float> out(size_t(rope_n_dims / 2));
  for (int64_t i = 0; i < rope_n_dims / 2; ++i) {
    const double wavelen =
        2.0 * std::numbers::pi * std::pow(rope_theta, 2.0 * double(i) / double(rope_n_dims));
    double divisor = 1.0;  // high frequencies: unchanged
    if (wavelen > low_freq_wavelen) {
      divisor = r.factor;
    } else if (wavelen >= high_freq_wavelen) {
      // smooth = 1 keeps the frequency, 0 divides it by factor; inverted for a divisor.
      const double smooth =
          (orig / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
      divisor = 1.0 / ((1.0 - smooth) / r.factor + smooth);
    }
    out[size_t(i)] = float(divisor);
  }
  return out;
}

}  // namespace silica

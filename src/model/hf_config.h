// Hugging Face config.json -> silica hyper-parameters, for the architectures silica runs.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/hparams.h"

namespace silica {

// Llama 3.1 rope scaling (config.json rope_scaling with rope_type "llama3").
struct Llama3RopeScaling {
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

struct HfConfig {
  ModelHParams hp;           // arch is silica's name ("llama", "qwen2")
  std::string architecture;  // config.json architectures[0] ("LlamaForCausalLM")
  std::string torch_dtype;   // "bfloat16", "float16", "float32" or ""
  bool tie_word_embeddings = false;
  std::optional<Llama3RopeScaling> llama3_rope;
  int64_t vocab_size = 0;
};

// Parses the text of config.json; `path` names the file in messages. Errors name the key and
// what was expected: an unknown architecture, a missing or non-positive size, an unsupported
// rope_scaling type.
Expected<HfConfig> parse_hf_config(std::string_view text, const std::string& path);

// Per-frequency divisors for Llama 3.1 rope scaling ([head_dim / 2], the GGUF rope_freqs.weight
// values): wavelengths above original_ctx / low_freq_factor are divided by `factor`, those below
// original_ctx / high_freq_factor kept, the band between interpolated (Meta's published formula).
std::vector<float> llama3_rope_freq_factors(const Llama3RopeScaling& r, double rope_theta,
                                            int64_t rope_n_dims);

}  // namespace silica

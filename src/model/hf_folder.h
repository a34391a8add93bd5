// A Hugging Face model folder opened for running: config.json, the safetensors shards under
// silica's tensor names, the tokenizer files and the chat template.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "model/hf_config.h"
#include "model/tensor_source.h"
#include "tokenizer/vocab.h"

namespace silica {

struct HfFolder {
  HfConfig config;
  TensorSource tensors;  // silica names; rope_freqs.weight computed for llama3 rope scaling
};

// silica's name for a Hugging Face tensor name ("model.layers.3.self_attn.q_proj.weight" ->
// "blk.3.attn_q.weight"); names without a silica counterpart are kept as they are, and
// "" skips tensors a loader must ignore (rotary inv_freq buffers of old checkpoints).
std::string hf_to_silica_tensor_name(std::string_view hf_name);

// Opens config.json and every weight file (those the index names, else all *.safetensors).
// Errors name the file: MLX-quantized folders ("not yet"), unsupported architectures or dtypes,
// a missing config key or shard.
Expected<HfFolder> open_hf_folder(const std::string& dir);

// tokenizer.json (+ tokenizer_config.json) of the folder, padded with unused "[PAD<id>]" tokens
// up to n_vocab rows of the embedding (checkpoints round the embedding up; GGUF converters pad
// the same way).
Expected<Vocab> vocab_from_hf_folder(const std::string& dir, int64_t n_vocab);

// The folder's chat template: chat_template.jinja when present, else tokenizer_config.json
// "chat_template" (a string, or a list of {name, template} where "default" is taken).
Expected<std::optional<std::string>> hf_chat_template(const std::string& dir);

}  // namespace silica

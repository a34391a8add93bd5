// Writes a Hugging Face folder (config.json, safetensors shards, tokenizer files) from a GGUF
// llama / qwen2 model with F32 / F16 / BF16 tensors: the inverse of running a folder, for test
// models and goldens made from the same weights as a GGUF.
#pragma once

#include <string>

#include "base/status.h"
#include "format/gguf.h"

namespace silica {

struct HfExportOptions {
  int n_shards = 1;  // >1: model-0000K-of-0000N.safetensors plus model.safetensors.index.json
  std::string tokenizer_json;    // copied when not empty
  std::string tokenizer_config;  // copied when not empty
};

// llama: q/k rows are un-permuted (GGUF = permute(HF), the GGUF converters' row order for
// interleaved RoPE). rope_freqs.weight becomes rope_scaling "llama3" from the
// <arch>.rope.scaling.* keys (it must match them; the folder loader recomputes the factors).
// Norms and biases are written as f32, matrices in their GGUF type.
Status write_hf_folder(const GgufFile& f, const std::string& dir, const HfExportOptions& o = {});

}  // namespace silica

// The Llama family forward pass (Llama 2/3, Mistral, and variants that differ only in flags).
#pragma once

#include <memory>

#include "model/blocks.h"
#include "model/model.h"

namespace silica {

struct LlamaVariant {
  RopeType rope_type = RopeType::kNorm;
  bool qkv_bias = false;  // Qwen2 adds biases to q, k and v
};

Expected<std::unique_ptr<Model>> create_llama_family(TensorSource src, ModelHParams hp,
                                                     const LlamaVariant& variant);

}  // namespace silica

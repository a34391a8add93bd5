// Qwen2 / Qwen2.5: the Llama block with q/k/v biases and NeoX-style (half-split) RoPE.
#include "model/arch/llama.h"
#include "model/arch/registry.h"

namespace silica {

Expected<std::unique_ptr<Model>> create_qwen2(TensorSource src, ModelHParams hp) {
  return create_llama_family(std::move(src), std::move(hp),
                             LlamaVariant{RopeType::kNeox, /*qkv_bias=*/true});
}

}  // namespace silica

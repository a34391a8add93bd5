// The architecture table: general.architecture (or config.json's, mapped) -> constructor, one entry
// per architecture.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "model/model.h"

namespace silica {

using ArchFactory = Expected<std::unique_ptr<Model>> (*)(TensorSource src, ModelHParams hp);

// One per file in model/arch/.
Expected<std::unique_ptr<Model>> create_llama(TensorSource src, ModelHParams hp);
Expected<std::unique_ptr<Model>> create_qwen2(TensorSource src, ModelHParams hp);

// The factory for an architecture name, or nullptr.
ArchFactory find_architecture(const std::string& name);

}  // namespace silica

// The architecture table: general.architecture -> constructor, one entry per architecture.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "model/model.h"

namespace silica {

using ArchFactory = Expected<std::unique_ptr<Model>> (*)(GgufFile file, ModelHParams hp);

// One per file in model/arch/.
Expected<std::unique_ptr<Model>> create_llama(GgufFile file, ModelHParams hp);
Expected<std::unique_ptr<Model>> create_qwen2(GgufFile file, ModelHParams hp);

// The factory for an architecture name, or nullptr.
ArchFactory find_architecture(const std::string& name);

}  // namespace silica

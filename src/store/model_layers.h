// A stored model's text layers (SYSTEM, TEMPLATE, PARAMETER, MESSAGE, LICENSE), read for the CLI.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "base/status.h"
#include "store/store.h"

namespace silica {

struct ModelLayers {
  std::string model_path;     // the model blob
  std::string template_text;  // Ollama writes Go templates here
  std::string system;
  std::string license;                        // every license layer, blank-line separated
  nlohmann::ordered_json params = nullptr;    // the params object, or null
  nlohmann::ordered_json messages = nullptr;  // [{role, content}], or null
};

// Errors name the blob that could not be read or parsed.
Expected<ModelLayers> read_model_layers(const Store& store, const ResolvedModel& m);

// For the CLI: a path to an existing file is a bare model (no layers); otherwise a name in the
// default store. The error says what was tried.
Expected<ModelLayers> resolve_model_layers(const std::string& name_or_path);

}  // namespace silica

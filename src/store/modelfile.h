// Modelfiles (FROM, PARAMETER, TEMPLATE, SYSTEM, ADAPTER, LICENSE, MESSAGE) and `create`, which
// turns one into a stored model whose layers are blobs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "store/store.h"

namespace silica {

struct ModelfileCommand {
  std::string name;  // lowercase instruction: "from", "parameter", ...
  std::string args;  // the argument text, quotes removed
  int line = 0;
};

struct Modelfile {
  std::vector<ModelfileCommand> commands;
};

// Parses a Modelfile: one instruction per line, '#' comments, "..." and """multi-line""" values.
// `where` names the file in errors, which also give the line.
Expected<Modelfile> parse_modelfile(std::string_view text, std::string_view where);

// Splits "key value" / "role content" (the value may be quoted); error if either is missing.
Expected<std::pair<std::string, std::string>> split_first_word(const ModelfileCommand& c);

// Builds and stores model `name`: FROM is a store name, a .gguf path or a Hugging Face
// safetensors / MLX folder (relative paths are resolved against base_dir; a folder's files become
// kMediaModelFile layers, as a pull of the repository makes); the other instructions become
// layers. Returns the manifest.
Expected<Manifest> create_model(const Store& store, const ModelName& name, const Modelfile& mf,
                                const std::string& base_dir);

// The params layer's JSON for PARAMETER lines: numbers and booleans typed, "stop" a list.
std::string params_json(const std::vector<std::pair<std::string, std::string>>& params,
                        std::string_view base_json);

}  // namespace silica

// What the model routes report about a model: Ollama "details", model_info (general.* and <arch>.*
// keys), the file's sha256 digest (cached by path, size and mtime), a stored model's text layers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "format/model_folder.h"
#include "server/api_request.h"
#include "store/store.h"

namespace silica {

// {format, family, families, parameter_size, quantization_level, parent_model}.
Json gguf_details(const GgufFile& f);
// The same "details" for any described model (folders: safetensors / mlx).
Json description_details(const ModelDescription& d);
// /api/show for a folder model: details, model_info (general.architecture, parameter_count,
// format), the chat template of tokenizer_config.json, and no capabilities (not runnable yet).
Json folder_show_json(const ModelDescription& d);
// general.* and <arch>.* metadata as JSON (arrays longer than kMaxInfoArray become null).
Json gguf_model_info(const GgufFile& f);
inline constexpr size_t kMaxInfoArray = 1024;
// "1.24B", "8.03M": Ollama's parameter_size spelling.
std::string parameter_size_text(int64_t n_params);
// "sha256:<hex>", computed once per (path, size, mtime).
Expected<std::string> file_digest(const std::string& path);

// A file's modification time as unix nanoseconds (0 when it cannot be read).
int64_t file_mtime_unix_ns(const std::string& path);

struct FolderModel {
  std::string name;  // NAME:latest for NAME.gguf
  std::string path;
  int64_t size = 0;
  int64_t modified_ns = 0;  // unix time
};
// *.gguf files directly in `dir`, sorted by name; an absent folder lists nothing.
std::vector<FolderModel> list_folder_models(const std::string& dir);

// The text layers of a stored model; empty / null where the manifest has no such layer.
struct StoreModelLayers {
  std::string template_text;  // the template layer (Ollama writes Go templates there)
  std::string system;
  std::string license;  // every license layer, blank-line separated
  Json params;          // the params layer's object, or null
  Json messages;        // the messages layer's array, or null
};
// Errors name the blob that could not be read or parsed.
Expected<StoreModelLayers> read_store_layers(const Store& store, const Manifest& m);
// Ollama's /api/show "parameters": one "key value" line per value (a list gives one line per
// element), the key padded to kParamKeyWidth, string values quoted.
std::string parameters_text(const Json& params);
inline constexpr int kParamKeyWidth = 30;

}  // namespace silica

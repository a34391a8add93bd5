// What the model routes report about a GGUF file: Ollama "details", model_info (general.* and
// <arch>.* keys), the file's sha256 digest (cached by path, size and mtime).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "server/api_request.h"

namespace silica {

// {format, family, families, parameter_size, quantization_level, parent_model}.
Json gguf_details(const GgufFile& f);
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

}  // namespace silica

// What a model path is: a .gguf file, a Hugging Face safetensors folder or an MLX folder, with the
// facts Ollama reports as "details" (format, family, parameter_size, quantization_level).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "format/gguf.h"

namespace silica {

inline constexpr const char* kFormatGguf = "gguf";
inline constexpr const char* kFormatSafetensors = "safetensors";
inline constexpr const char* kFormatMlx = "mlx";

struct ModelDescription {
  std::string path;
  std::string format;  // kFormatGguf / kFormatSafetensors / kFormatMlx
  std::string family;  // "llama", "qwen2": GGUF general.architecture or config.json model_type
  std::vector<std::string> families;
  int64_t n_params = 0;
  std::string parameter_size;  // parameter_size_label(n_params)
  // GGUF: general.file_type's name ("Q4_K_M"), else the type holding most bytes.
  // safetensors: the dtype holding most bytes of the matrices ("BF16").
  // MLX: "Q<bits>_G<group_size>" from config.json "quantization" ("Q4_G64").
  std::string quantization_level;
  std::vector<std::string> weight_files;  // folders: the *.safetensors files, relative names
};

// Ollama's spelling of a parameter count: "8B", "1.2B", "494.03M", "12K", "999".
std::string parameter_size_label(int64_t n_params);

// Describes a .gguf file or a model folder. Errors name the path and what was expected: a folder
// needs config.json and at least one .safetensors file (all those the index names, if any).
Expected<ModelDescription> describe_model_path(const std::string& path);
// The GGUF half of describe_model_path, for a file already open.
ModelDescription describe_gguf(const GgufFile& f);

// The error `run` gives for a folder model: stored and described, but not runnable yet.
std::string folder_not_runnable_message(const ModelDescription& d);

}  // namespace silica

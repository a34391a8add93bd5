// Model path detection: GGUF headers, or config.json plus safetensors headers of a folder.
#include "format/model_folder.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "format/safetensors.h"
#include "tensor/dtype.h"

namespace silica {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kConfigFile = "config.json";
constexpr const char* kIndexFile = "model.safetensors.index.json";
constexpr int kU32Bits = 32;  // MLX packs quantized values into uint32 words

// llama.cpp's general.file_type ids (a file-format fact), spelled as Ollama prints them.
const char* gguf_file_type_name(int64_t t) {
  static const std::map<int64_t, const char*> kNames = {
      {0, "F32"},     {1, "F16"},     {2, "Q4_0"},    {3, "Q4_1"},    {7, "Q8_0"},
      {8, "Q5_0"},    {9, "Q5_1"},    {10, "Q2_K"},   {11, "Q3_K_S"}, {12, "Q3_K_M"},
      {13, "Q3_K_L"}, {14, "Q4_K_S"}, {15, "Q4_K_M"}, {16, "Q5_K_S"}, {17, "Q5_K_M"},
      {18, "Q6_K"},   {32, "BF16"}};
  auto it = kNames.find(t);
  return it == kNames.end() ? nullptr : it->second;
}

// The key with the most bytes ("" when empty), upper-cased.
std::string heaviest(const std::map<std::string, uint64_t>& bytes) {
  std::string best;
  uint64_t most = 0;
  for (const auto& [name, n] : bytes)
    if (n > most) best = name, most = n;
  std::transform(best.begin(), best.end(), best.begin(),
                 [](char c) { return char(std::toupper(static_cast<unsigned char>(c))); });
  return best.empty() ? "unknown" : best;
}

Expected<json> read_json(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return make_error("cannot read {}", p.string());
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return make_error("{}: not a JSON object", p.string());
  return j;
}

// The weight files: those the index names (each must exist), else every *.safetensors.
Expected<std::vector<std::string>> weight_files(const fs::path& dir) {
  std::set<std::string> files;
  std::error_code ec;
  if (fs::is_regular_file(dir / kIndexFile, ec)) {
    SILICA_ASSIGN_OR_RETURN(json index, read_json(dir / kIndexFile));
    auto map = index.find("weight_map");
    if (map == index.end() || !map->is_object())
      return make_error("{}: no \"weight_map\" object", (dir / kIndexFile).string());
    for (const auto& [tensor, file] : map->items()) {
      const std::string f = file.is_string() ? file.get<std::string>() : "";
      // The index must not send the reader outside the folder.
      if (f.empty() || f.find('/') != std::string::npos || f == "." || f == "..")
        return make_error("{}: tensor '{}' maps to '{}', expected a file name in the folder",
                          (dir / kIndexFile).string(), tensor, file.dump());
      if (!fs::is_regular_file(dir / f, ec))
        return make_error("{}: tensor '{}' is in {}, which is missing", (dir / kIndexFile).string(),
                          tensor, f);
      files.insert(f);
    }
  } else {
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      if (e.path().extension() == ".safetensors" && e.is_regular_file(ec))
        files.insert(e.path().filename().string());
    }
  }
  if (files.empty())
    return make_error("{}: has config.json but no .safetensors weights", dir.string());
  return std::vector<std::string>(files.begin(), files.end());
}

// "llama" from model_type, else "LlamaForCausalLM" -> "llama".
std::string config_family(const json& config) {
  if (auto t = config.find("model_type"); t != config.end() && t->is_string())
    return t->get<std::string>();
  auto a = config.find("architectures");
  if (a == config.end() || !a->is_array() || a->empty() || !(*a)[0].is_string()) return "";
  std::string arch = (*a)[0].get<std::string>();
  for (const char* suffix : {"ForCausalLM", "ForConditionalGeneration", "Model"}) {
    const std::string s = suffix;
    if (arch.size() > s.size() && arch.ends_with(s)) {
      arch.resize(arch.size() - s.size());
      break;
    }
  }
  std::transform(arch.begin(), arch.end(), arch.begin(),
                 [](char c) { return char(std::tolower(static_cast<unsigned char>(c))); });
  return arch;
}

struct MlxQuant {
  int bits = 0;
  int group_size = 0;
  std::map<std::string, int> layer_bits;  // per-layer overrides ("model.layers.0.mlp.up_proj")
};

std::optional<MlxQuant> mlx_quant(const json& config) {
  auto q = config.find("quantization");
  if (q == config.end() || !q->is_object()) return std::nullopt;
  MlxQuant m;
  m.bits = q->value("bits", 0);
  m.group_size = q->value("group_size", 0);
  if (m.bits <= 0 || m.bits > kU32Bits || m.group_size <= 0) return std::nullopt;
  for (const auto& [key, v] : q->items()) {
    if (v.is_object() && v.contains("bits") && v["bits"].is_number_integer())
      m.layer_bits[key] = v["bits"].get<int>();
  }
  return m;
}

// Parameters of one folder: quantized MLX weights (uint32 with a sibling .scales) count
// 32/bits values per word; their .scales/.biases are quantization data, not parameters.
int64_t count_params(const std::vector<SafetensorsFile>& files, const std::optional<MlxQuant>& q,
                     std::map<std::string, uint64_t>& matrix_bytes) {
  std::set<std::string> names;
  for (const auto& f : files)
    for (const auto& t : f.tensors()) names.insert(t.name);
  auto prefix_of = [](const std::string& n, const std::string& suffix) {
    return n.ends_with(suffix) ? n.substr(0, n.size() - suffix.size()) : std::string();
  };
  auto is_quant_data = [&](const std::string& name) {
    if (!q) return false;
    for (const char* s : {".scales", ".biases"}) {
      const std::string base = prefix_of(name, s);
      if (!base.empty() && names.count(base + ".weight")) return true;
    }
    return false;
  };
  int64_t n = 0;
  for (const auto& f : files) {
    for (const auto& t : f.tensors()) {
      if (t.shape.size() >= 2) matrix_bytes[st_dtype_name(t.dtype)] += t.nbytes();
      std::string base = prefix_of(t.name, ".weight");
      const bool packed =
          q && !base.empty() && t.dtype == StDtype::kU32 && names.count(base + ".scales");
      if (packed) {
        auto it = q->layer_bits.find(base);
        const int bits = it != q->layer_bits.end() && it->second > 0 ? it->second : q->bits;
        n += t.n_elements() * kU32Bits / bits;
        continue;
      }
      if (!is_quant_data(t.name)) n += t.n_elements();
    }
  }
  return n;
}

Expected<ModelDescription> describe_folder(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_regular_file(dir / kConfigFile, ec))
    return make_error("{}: a folder without config.json is not a Hugging Face or MLX model folder",
                      dir.string());
  SILICA_ASSIGN_OR_RETURN(json config, read_json(dir / kConfigFile));
  ModelDescription d;
  d.path = dir.string();
  SILICA_ASSIGN_OR_RETURN(d.weight_files, weight_files(dir));
  std::vector<SafetensorsFile> files;
  for (const auto& name : d.weight_files) {
    SILICA_ASSIGN_OR_RETURN(SafetensorsFile f, SafetensorsFile::open_header((dir / name).string()));
    files.push_back(std::move(f));
  }
  const auto q = mlx_quant(config);
  d.format = q ? kFormatMlx : kFormatSafetensors;
  d.family = config_family(config);
  if (!d.family.empty()) d.families = {d.family};
  std::map<std::string, uint64_t> bytes;
  d.n_params = count_params(files, q, bytes);
  d.parameter_size = parameter_size_label(d.n_params);
  d.quantization_level = q ? fmt::format("Q{}_G{}", q->bits, q->group_size) : heaviest(bytes);
  return d;
}

}  // namespace

std::string parameter_size_label(int64_t n) {
  // Ollama's format.HumanNumber: whole numbers without decimals, else 1 (B) or 2 (M) decimals.
  auto spell = [](double v, int decimals, const char* unit) {
    if (v == std::floor(v)) return fmt::format("{:.0f}{}", v, unit);
    return fmt::format("{:.{}f}{}", v, decimals, unit);
  };
  if (n >= 1000000000) return spell(double(n) / 1e9, 1, "B");
  if (n >= 1000000) return spell(double(n) / 1e6, 2, "M");
  if (n >= 1000) return fmt::format("{:.0f}K", double(n) / 1e3);
  return fmt::format("{}", n);
}

ModelDescription describe_gguf(const GgufFile& f) {
  ModelDescription d;
  d.path = f.path();
  d.format = kFormatGguf;
  d.family = f.get_string("general.architecture").value_or("unknown");
  d.families = {d.family};
  std::map<std::string, uint64_t> bytes;
  for (const GgufTensorInfo& t : f.tensors()) {
    d.n_params += t.n_elements();
    if (t.ne.size() >= 2) bytes[dtype_name(t.type)] += t.nbytes;
  }
  d.parameter_size = parameter_size_label(d.n_params);
  if (auto ft = f.get_int("general.file_type"); ft && gguf_file_type_name(*ft))
    d.quantization_level = gguf_file_type_name(*ft);
  else
    d.quantization_level = heaviest(bytes);
  return d;
}

Expected<ModelDescription> describe_model_path(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return describe_folder(path);
  if (!fs::is_regular_file(path, ec))
    return make_error("{}: no such file or folder (expected a .gguf file or a model folder)", path);
  SILICA_ASSIGN_OR_RETURN(GgufFile f, GgufFile::open(path));
  return describe_gguf(f);
}

std::string folder_not_runnable_message(const ModelDescription& d) {
  return fmt::format(
      "{} is a {} model folder ({}, {} parameters, {}): silica stores and describes this format "
      "but cannot run it yet. Convert it to GGUF (for example with llama.cpp's "
      "convert_hf_to_gguf.py{}), then `silica create NAME` with `FROM /path/to/model.gguf`",
      d.path, d.format == kFormatMlx ? "MLX" : "Hugging Face safetensors",
      d.family.empty() ? "unknown family" : d.family, d.parameter_size, d.quantization_level,
      d.format == kFormatMlx ? " on the original, unquantized weights" : "");
}

}  // namespace silica

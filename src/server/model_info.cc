// GGUF metadata, file facts and stored models' layers for /api/tags, /api/show, /api/ps and
// /v1/models.
#include "server/model_info.h"

#include <openssl/evp.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include "tensor/dtype.h"

namespace silica {

namespace fs = std::filesystem;

namespace {

// llama.cpp's general.file_type ids (a file-format fact) and Ollama's spelling of them.
const char* file_type_name(int64_t t) {
  switch (t) {
    case 0:
      return "F32";
    case 1:
      return "F16";
    case 2:
      return "Q4_0";
    case 3:
      return "Q4_1";
    case 7:
      return "Q8_0";
    case 8:
      return "Q5_0";
    case 9:
      return "Q5_1";
    case 10:
      return "Q2_K";
    case 11:
      return "Q3_K_S";
    case 12:
      return "Q3_K_M";
    case 13:
      return "Q3_K_L";
    case 14:
      return "Q4_K_S";
    case 15:
      return "Q4_K_M";
    case 16:
      return "Q5_K_S";
    case 17:
      return "Q5_K_M";
    case 18:
      return "Q6_K";
    case 32:
      return "BF16";
    default:
      return nullptr;
  }
}

std::string dominant_type_name(const GgufFile& f) {
  std::map<std::string, size_t> bytes;
  for (const GgufTensorInfo& t : f.tensors())
    if (t.ne.size() >= 2) bytes[dtype_name(t.type)] += t.nbytes;
  std::string best;
  size_t most = 0;
  for (const auto& [name, n] : bytes)
    if (n > most) best = name, most = n;
  std::transform(best.begin(), best.end(), best.begin(),
                 [](char c) { return char(std::toupper(c)); });
  return best.empty() ? "unknown" : best;
}

Json value_json(const GgufValue& v) {
  if (v.is_array()) {
    if (v.array_size() > kMaxInfoArray) return nullptr;
    Json a = Json::array();
    for (size_t i = 0; i < v.array_size(); ++i) a.push_back(value_json(v.at(i)));
    return a;
  }
  if (auto s = v.as_string()) return std::string(*s);
  if (v.type() == GgufValueType::kBool) return v.as_bool().value_or(false);
  if (v.type() == GgufValueType::kF32 || v.type() == GgufValueType::kF64)
    return v.as_float().value_or(0);
  if (auto i = v.as_int()) return *i;
  return nullptr;
}

}  // namespace

std::string parameter_size_text(int64_t n) {
  if (n >= 1000000000) return fmt::format("{:.2f}B", double(n) / 1e9);
  if (n >= 1000000) return fmt::format("{:.2f}M", double(n) / 1e6);
  if (n >= 1000) return fmt::format("{:.2f}K", double(n) / 1e3);
  return fmt::format("{}", n);
}

Json gguf_details(const GgufFile& f) {
  const std::string arch = f.get_string("general.architecture").value_or("unknown");
  int64_t n_params = 0;
  for (const GgufTensorInfo& t : f.tensors()) n_params += t.n_elements();
  std::string quant;
  if (auto ft = f.get_int("general.file_type"); ft && file_type_name(*ft))
    quant = file_type_name(*ft);
  if (quant.empty()) quant = dominant_type_name(f);
  return {{"parent_model", ""},
          {"format", "gguf"},
          {"family", arch},
          {"families", Json::array({arch})},
          {"parameter_size", parameter_size_text(n_params)},
          {"quantization_level", quant}};
}

Json gguf_model_info(const GgufFile& f) {
  const std::string arch = f.get_string("general.architecture").value_or("");
  Json info = Json::object();
  for (const auto& [key, value] : f.metadata()) {
    const bool general = key.rfind("general.", 0) == 0;
    const bool own = !arch.empty() && key.rfind(arch + ".", 0) == 0;
    if (general || own) info[key] = value_json(value);
  }
  int64_t n_params = 0;
  for (const GgufTensorInfo& t : f.tensors()) n_params += t.n_elements();
  info["general.parameter_count"] = n_params;
  return info;
}

Expected<std::string> file_digest(const std::string& path) {
  struct Entry {
    uintmax_t size;
    fs::file_time_type mtime;
    std::string digest;
  };
  static std::mutex mutex;
  static std::map<std::string, Entry> cache;
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) return make_error("{}: {}", path, ec.message());
  const fs::file_time_type mtime = fs::last_write_time(path, ec);
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache.find(path);
    if (it != cache.end() && it->second.size == size && it->second.mtime == mtime)
      return it->second.digest;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("{}: cannot open for reading", path);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), std::streamsize(buf.size()));
    EVP_DigestUpdate(ctx, buf.data(), size_t(in.gcount()));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx, md, &n);
  EVP_MD_CTX_free(ctx);
  std::string hex = "sha256:";
  for (unsigned int i = 0; i < n; ++i) hex += fmt::format("{:02x}", md[i]);
  std::lock_guard<std::mutex> lock(mutex);
  cache[path] = Entry{size, mtime, hex};
  return hex;
}

int64_t file_mtime_unix_ns(const std::string& path) {
  std::error_code ec;
  const auto mt = fs::last_write_time(path, ec);
  if (ec) return 0;
  const auto sys = std::chrono::file_clock::to_sys(mt);
  return std::chrono::duration_cast<std::chrono::nanoseconds>(sys.time_since_epoch()).count();
}

std::vector<FolderModel> list_folder_models(const std::string& dir) {
  std::vector<FolderModel> out;
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir, ec)) return out;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file(ec) || e.path().extension() != ".gguf") continue;
    FolderModel m;
    m.name = e.path().stem().string() + ":latest";
    m.path = e.path().string();
    m.size = int64_t(e.file_size(ec));
    m.modified_ns = file_mtime_unix_ns(m.path);
    out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(),
            [](const FolderModel& a, const FolderModel& b) { return a.name < b.name; });
  return out;
}

Expected<StoreModelLayers> read_store_layers(const Store& store, const Manifest& m) {
  StoreModelLayers out;
  out.params = nullptr;
  out.messages = nullptr;
  for (const ManifestLayer& l : m.layers) {
    const bool text = l.media_type == kMediaTemplate || l.media_type == kMediaSystem ||
                      l.media_type == kMediaLicense || l.media_type == kMediaParams ||
                      l.media_type == kMediaMessages;
    if (!text) continue;
    SILICA_ASSIGN_OR_RETURN(std::string body, store.read_blob_text(l.digest));
    if (l.media_type == kMediaTemplate) {
      out.template_text = std::move(body);
    } else if (l.media_type == kMediaSystem) {
      out.system = std::move(body);
    } else if (l.media_type == kMediaLicense) {
      out.license += (out.license.empty() ? "" : "\n\n") + body;
    } else {
      Json j = Json::parse(body, nullptr, false);
      const bool params = l.media_type == kMediaParams;
      if (params ? !j.is_object() : !j.is_array())
        return make_error("blob {} ({}): expected a JSON {}", l.digest, l.media_type,
                          params ? "object" : "array");
      (params ? out.params : out.messages) = std::move(j);
    }
  }
  return out;
}

std::string parameters_text(const Json& params) {
  if (!params.is_object()) return "";
  std::vector<std::string> lines;
  auto line = [&](const std::string& key, const Json& v) {
    lines.push_back(fmt::format("{:<{}} {}", key, kParamKeyWidth, v.dump()));
  };
  for (const auto& [key, value] : params.items()) {
    if (value.is_array()) {
      for (const Json& v : value) line(key, v);
    } else {
      line(key, value);
    }
  }
  std::string out;
  for (const std::string& l : lines) out += (out.empty() ? "" : "\n") + l;
  return out;
}

}  // namespace silica

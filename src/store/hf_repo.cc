// Pulling whole safetensors / MLX repositories file by file, and the folder views over their blobs.
#include "store/hf_repo.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "format/model_folder.h"
#include "store/http_client.h"
#include "store/sha256.h"

namespace silica {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFoldersDir = "folders";
constexpr size_t kReadChunk = 1 << 20;

// The small files a model folder uses besides its weights (loaders read them by these names).
constexpr const char* kSideFiles[] = {
    "config.json",       "generation_config.json", "model.safetensors.index.json",
    "tokenizer.json",    "tokenizer_config.json",  "special_tokens_map.json",
    "added_tokens.json", "tokenizer.model",        "vocab.json",
    "merges.txt",        "chat_template.json",     "chat_template.jinja",
};

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void report(const PullOptions& o, PullProgress p) {
  if (o.progress) o.progress(p);
}

// Git's object id of a file: sha1("blob <size>\0" + bytes), the "blobId" HF lists.
Expected<std::string> git_blob_sha1(const std::string& path, int64_t size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cannot read {}", path);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha1(), nullptr);
  const std::string head = "blob " + std::to_string(size);
  EVP_DigestUpdate(ctx, head.c_str(), head.size() + 1);  // with its NUL
  std::vector<char> buf(kReadChunk);
  while (in) {
    in.read(buf.data(), std::streamsize(buf.size()));
    EVP_DigestUpdate(ctx, buf.data(), size_t(in.gcount()));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx, md, &n);
  EVP_MD_CTX_free(ctx);
  std::string hex;
  for (unsigned int i = 0; i < n; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

int64_t size_or_minus_one(const std::string& path) {
  std::error_code ec;
  auto n = fs::file_size(path, ec);
  return ec ? -1 : int64_t(n);
}

// A file kept in git (not LFS): small, so fetched whole into a private temp file, checked
// against the listed size and git blob sha1, then committed under its sha256.
Expected<ManifestLayer> fetch_git_file(const Store& store, const std::string& url,
                                       const std::vector<std::string>& hdrs, const HfFile& f,
                                       const PullOptions& o) {
  const std::string temp = store.temp_path("hf");
  DownloadOptions d{hdrs, o.cancel, [&](int64_t done) {
                      report(o, {"pulling " + f.name, "", f.size, done});
                    }};
  Status st = http_download(url, temp, d);
  auto fail = [&](Error e) -> Error {
    std::remove(temp.c_str());
    return e;
  };
  if (!st.ok()) return fail(Error{st.message()});
  const int64_t have = size_or_minus_one(temp);
  if (f.size >= 0 && have != f.size)
    return fail(make_error("{} from {}: got {} bytes, the repository lists {}; download deleted",
                           f.name, url, have, f.size));
  if (!f.blob_id.empty()) {
    SILICA_ASSIGN_OR_RETURN(std::string sha1, git_blob_sha1(temp, have));
    if (sha1 != lower(f.blob_id))
      return fail(
          make_error("{} from {}: git blob id {} does not match the listed {}: content "
                     "does not match its digest; download deleted",
                     f.name, url, sha1, f.blob_id));
  }
  SILICA_ASSIGN_OR_RETURN(std::string hex, sha256_file_hex(temp));
  ManifestLayer l{kMediaModelFile, "sha256:" + hex, have, f.name};
  SILICA_RETURN_IF_ERROR(store.commit_blob(temp, l.digest));
  return l;
}

std::string file_url(const std::string& endpoint, const std::string& repo,
                     const std::string& file) {
  return endpoint + "/" + repo + "/resolve/main/" + url_escape(file);
}

Expected<ManifestLayer> fetch_repo_file(const Store& store, const std::string& endpoint,
                                        const std::string& repo,
                                        const std::vector<std::string>& hdrs, const HfFile& f,
                                        const PullOptions& o) {
  const std::string url = file_url(endpoint, repo, f.name);
  if (f.sha256.empty()) return fetch_git_file(store, url, hdrs, f, o);
  ManifestLayer l{kMediaModelFile, "sha256:" + lower(f.sha256), f.size, f.name};
  if (!is_valid_digest(l.digest) || f.size < 0)
    return make_error("hf.co/{}: file {} has a malformed LFS sha256 '{}' or no size", repo, f.name,
                      f.sha256);
  SILICA_RETURN_IF_ERROR(fetch_blob(store, url, hdrs, l.digest, l.size, o));
  return l;
}

std::string folder_key(const Manifest& m) {
  std::string text;
  for (const auto& l : m.layers)
    if (l.media_type == kMediaModelFile) text += l.file_name + '\0' + l.digest + '\n';
  return sha256_hex(text);
}

}  // namespace

// model_type carries the parameter size, as Ollama's own ConfigV2 does for folders.
Expected<ManifestLayer> folder_config_blob(const Store& store, const std::vector<ManifestLayer>& ls,
                                           const ModelDescription& d) {
  nlohmann::ordered_json diff = nlohmann::ordered_json::array();
  for (const auto& l : ls) diff.push_back(l.digest);
  nlohmann::ordered_json j{{"model_format", d.format},
                           {"model_family", d.family},
                           {"model_families", d.families},
                           {"model_type", d.parameter_size},
                           {"file_type", d.quantization_level},
                           {"architecture", "amd64"},
                           {"os", "linux"},
                           {"rootfs", {{"type", "layers"}, {"diff_ids", diff}}}};
  return store.add_blob_bytes(j.dump(), kConfigMediaType);
}

bool is_wanted_repo_file(const std::string& name) {
  if (name.find('/') != std::string::npos) return false;
  const std::string l = lower(name);
  if (l.size() > 12 && l.ends_with(".safetensors")) return true;
  return std::any_of(std::begin(kSideFiles), std::end(kSideFiles),
                     [&](const char* s) { return l == s; });
}

bool is_safetensors_repo(const std::vector<HfFile>& files) {
  bool weights = false;
  for (const auto& f : files) {
    const std::string l = lower(f.name);
    if (l.ends_with(".gguf")) return false;
    weights = weights || (is_wanted_repo_file(f.name) && l.ends_with(".safetensors"));
  }
  return weights;
}

Status pull_hf_repo(const Store& store, const ModelName& n, const std::string& endpoint,
                    const std::string& repo, const std::vector<std::string>& hdrs,
                    const std::vector<HfFile>& files, const PullOptions& o) {
  if (n.tag != kDefaultTag)
    return make_error("hf.co/{} is a safetensors repository, pulled whole: drop the tag ':{}'",
                      repo, n.tag);
  std::vector<const HfFile*> want;
  for (const auto& f : files)
    if (is_wanted_repo_file(f.name)) want.push_back(&f);
  if (std::none_of(want.begin(), want.end(), [](auto* f) { return f->name == "config.json"; }))
    return make_error("hf.co/{} has .safetensors files but no config.json: not a model folder",
                      repo);
  Manifest m;
  for (const HfFile* f : want) {
    SILICA_ASSIGN_OR_RETURN(ManifestLayer l, fetch_repo_file(store, endpoint, repo, hdrs, *f, o));
    m.layers.push_back(std::move(l));
  }
  SILICA_ASSIGN_OR_RETURN(std::string folder, materialize_folder_view(store, m));
  auto d = describe_model_path(folder);
  if (!d) {
    std::error_code ec;
    fs::remove_all(folder, ec);
    return make_error("hf.co/{}: the downloaded files are not a usable model folder: {}", repo,
                      d.message());
  }
  SILICA_ASSIGN_OR_RETURN(m.config, folder_config_blob(store, m.layers, *d));
  report(o, {"writing manifest", "", 0, 0});
  return store.write_manifest(n, m);
}

bool is_folder_manifest(const Manifest& m) {
  return !m.find(kMediaModel) && m.find(kMediaModelFile);
}

Expected<std::string> materialize_folder_view(const Store& store, const Manifest& m) {
  const fs::path dir = fs::path(store.root()) / kFoldersDir / folder_key(m);
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return dir.string();
  for (const auto& l : m.layers) {
    if (l.media_type == kMediaModelFile && !store.has_blob(l.digest))
      return make_error("folder model file {} (blob {}) is missing from the store at {}",
                        l.file_name, l.digest, store.root());
  }
  // Built under a temp name and renamed: a reader never sees half a folder.
  const fs::path temp =
      fs::path(store.root()) / kFoldersDir / fs::path(store.temp_path("folder")).filename();
  fs::create_directories(temp, ec);
  if (ec) return make_error("cannot create {}: {}", temp.string(), ec.message());
  for (const auto& l : m.layers) {
    if (l.media_type != kMediaModelFile) continue;
    // Relative links: the store can move as a whole.
    const fs::path target =
        fs::path("../../blobs") / fs::path(store.blob_path(l.digest)).filename();
    fs::create_symlink(target, temp / l.file_name, ec);
    if (ec) {
      fs::remove_all(temp);
      return make_error("cannot link {} in {}: {}", l.file_name, temp.string(), ec.message());
    }
  }
  fs::rename(temp, dir, ec);
  if (ec) {  // another pull made the same view first
    fs::remove_all(temp);
    if (!fs::is_directory(dir))
      return make_error("cannot rename {} to {}: {}", temp.string(), dir.string(), ec.message());
  }
  return dir.string();
}

Status prune_folder_views(const Store& store) {
  const fs::path base = fs::path(store.root()) / kFoldersDir;
  std::error_code ec;
  if (!fs::is_directory(base, ec)) return {};
  SILICA_ASSIGN_OR_RETURN(auto models, store.list());
  std::set<std::string> used;
  for (const auto& sm : models) {
    auto m = store.read_manifest(sm.name);
    if (m && is_folder_manifest(*m)) used.insert(folder_key(*m));
  }
  for (const auto& e : fs::directory_iterator(base, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("tmp-", 0) == 0 || used.count(name)) continue;  // tmp-: a live pull's
    fs::remove_all(e.path(), ec);
  }
  return {};
}

}  // namespace silica

// Store operations over the file system: every write goes to a unique temp name and is renamed
// into place, so a reader never sees half a blob or half a manifest.
#include "store/store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "store/hf_repo.h"
#include "store/sha256.h"

namespace silica {
namespace fs = std::filesystem;
namespace {

Expected<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cannot read {}: {}", path, std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes data to `temp`, fsyncs, then renames it over `path`.
Status write_atomic(const std::string& path, const std::string& temp, std::string_view data) {
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) return make_error("cannot create {}: {}", temp, std::strerror(errno));
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n <= 0) {
      ::close(fd);
      ::unlink(temp.c_str());
      return make_error("cannot write {}: {}", temp, std::strerror(errno));
    }
    off += size_t(n);
  }
  ::fsync(fd);
  ::close(fd);
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    ::unlink(temp.c_str());
    return make_error("cannot rename {} to {}: {}", temp, path, std::strerror(errno));
  }
  return {};
}

int64_t mtime_unix(const fs::path& p) {
  struct stat st;
  if (::stat(p.c_str(), &st) != 0) return 0;
  return int64_t(st.st_mtime);
}

}  // namespace

std::string Store::default_root() {
  if (const char* env = std::getenv("SILICA_MODELS"); env && *env) return env;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.silica/models";
}

Expected<Store> Store::open(const std::string& root) {
  std::error_code ec;
  for (const char* sub : {"blobs", "manifests"}) {
    fs::create_directories(fs::path(root) / sub, ec);
    if (ec) return make_error("cannot create the store folder {}/{}: {}", root, sub, ec.message());
  }
  return Store(root);
}

std::string Store::blob_path(std::string_view digest) const {
  // "sha256:<hex>" -> "sha256-<hex>": a ':' is not portable in file names.
  return root_ + "/blobs/sha256-" + std::string(digest.substr(7));
}

std::string Store::partial_path(std::string_view digest) const {
  return blob_path(digest) + "-partial";
}

bool Store::has_blob(std::string_view digest) const {
  std::error_code ec;
  return is_valid_digest(digest) && fs::is_regular_file(blob_path(digest), ec);
}

std::string Store::temp_path(std::string_view hint) const {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{}/blobs/tmp-{}-{}-{}-{:x}", root_, hint, ::getpid(), counter++, rng());
}

Expected<Manifest> Store::read_manifest(const ModelName& name) const {
  std::string path = root_ + "/" + name.manifest_rel_path();
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    return make_error("model '{}' not found in the store at {}", name.display(), root_);
  SILICA_ASSIGN_OR_RETURN(std::string text, read_file(path));
  return parse_manifest(text, path);
}

Expected<ResolvedModel> Store::resolve(const ModelName& name) const {
  ResolvedModel r;
  r.name = name;
  r.manifest_path = root_ + "/" + name.manifest_rel_path();
  SILICA_ASSIGN_OR_RETURN(r.manifest, read_manifest(name));
  const ManifestLayer* model = r.manifest.find(kMediaModel);
  if (!model && is_folder_manifest(r.manifest)) {  // safetensors / MLX: loaders take the folder
    SILICA_ASSIGN_OR_RETURN(r.model_path, materialize_folder_view(*this, r.manifest));
    return r;
  }
  if (!model)
    return make_error("model '{}' ({}) has no model layer", name.display(), r.manifest_path);
  r.model_path = blob_path(model->digest);
  if (!has_blob(model->digest))
    return make_error("model '{}': its model blob {} is missing from {}", name.display(),
                      model->digest, r.model_path);
  return r;
}

Expected<ResolvedModel> Store::resolve(std::string_view name) const {
  SILICA_ASSIGN_OR_RETURN(ModelName n, parse_model_name(name));
  return resolve(n);
}

Status Store::write_manifest(const ModelName& name, const Manifest& m) const {
  std::vector<const ManifestLayer*> all{&m.config};
  for (const auto& l : m.layers) all.push_back(&l);
  std::error_code ec;
  for (const ManifestLayer* l : all) {
    if (!has_blob(l->digest))
      return make_error("manifest for '{}': blob {} is not in the store", name.display(),
                        l->digest);
    auto size = fs::file_size(blob_path(l->digest), ec);
    if (ec || int64_t(size) != l->size)
      return make_error("manifest for '{}': blob {} has {} bytes, the manifest says {}",
                        name.display(), l->digest, ec ? -1 : int64_t(size), l->size);
  }
  fs::path path = fs::path(root_) / name.manifest_rel_path();
  fs::create_directories(path.parent_path(), ec);
  if (ec) return make_error("cannot create {}: {}", path.parent_path().string(), ec.message());
  std::string temp =
      fmt::format("{}.tmp-{}", path.string(), fs::path(temp_path("m")).filename().string());
  return write_atomic(path.string(), temp, serialize_manifest(m));
}

Expected<std::vector<StoredModel>> Store::list() const {
  std::vector<StoredModel> out;
  fs::path base = fs::path(root_) / "manifests";
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(base, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    fs::path rel = fs::relative(it->path(), base, ec);
    std::vector<std::string> parts;
    for (const auto& p : rel) parts.push_back(p.string());
    if (parts.size() != 4 || parts[3].find(".tmp-") != std::string::npos) continue;
    auto name = parse_model_name(parts[0] + "/" + parts[1] + "/" + parts[2] + ":" + parts[3]);
    if (!name) continue;
    auto text = read_file(it->path().string());
    if (!text) continue;
    auto m = parse_manifest(*text, it->path().string());
    if (!m) continue;
    out.push_back({*name, sha256_hex(*text), m->total_size(), mtime_unix(it->path())});
  }
  if (ec) return make_error("cannot list {}: {}", base.string(), ec.message());
  return out;
}

Expected<int> Store::garbage_collect() const {
  std::set<std::string> used;
  SILICA_ASSIGN_OR_RETURN(auto models, list());
  for (const auto& sm : models) {
    SILICA_ASSIGN_OR_RETURN(Manifest m, read_manifest(sm.name));
    used.insert(blob_path(m.config.digest));
    for (const auto& l : m.layers) used.insert(blob_path(l.digest));
  }
  int removed = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(root_) / "blobs", ec)) {
    std::string file = e.path().filename().string();
    // Only finished blobs: "sha256-" + 64 hex; partials and temp files belong to live pulls.
    if (file.size() != 7 + 64 || file.rfind("sha256-", 0) != 0) continue;
    if (used.count(e.path().string())) continue;
    if (fs::remove(e.path(), ec)) ++removed;
  }
  return removed;
}

Status Store::remove(const ModelName& name) const {
  fs::path path = fs::path(root_) / name.manifest_rel_path();
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    return make_error("model '{}' not found in the store at {}", name.display(), root_);
  if (!fs::remove(path, ec)) return make_error("cannot remove {}: {}", path.string(), ec.message());
  // Drop the now empty model / namespace / host folders.
  fs::path dir = path.parent_path();
  for (int i = 0; i < 3 && fs::is_empty(dir, ec); ++i, dir = dir.parent_path()) fs::remove(dir, ec);
  SILICA_ASSIGN_OR_RETURN(int n, garbage_collect());
  (void)n;
  return prune_folder_views(*this);
}

Status Store::copy(const ModelName& src, const ModelName& dst) const {
  SILICA_ASSIGN_OR_RETURN(Manifest m, read_manifest(src));
  return write_manifest(dst, m);
}

Expected<ManifestLayer> Store::add_blob_bytes(std::string_view data, std::string media_type) const {
  ManifestLayer l{std::move(media_type), "sha256:" + sha256_hex(data), int64_t(data.size()), ""};
  if (has_blob(l.digest)) return l;
  SILICA_RETURN_IF_ERROR(write_atomic(blob_path(l.digest), temp_path("b"), data));
  return l;
}

Expected<ManifestLayer> Store::add_blob_file(const std::string& path,
                                             std::string media_type) const {
  FILE* in = std::fopen(path.c_str(), "rb");
  if (!in) return make_error("cannot open {}: {}", path, std::strerror(errno));
  std::string temp = temp_path("import");
  FILE* out = std::fopen(temp.c_str(), "wb");
  if (!out) {
    std::fclose(in);
    return make_error("cannot create {}: {}", temp, std::strerror(errno));
  }
  Sha256 h;
  std::vector<char> buf(1 << 20);
  int64_t total = 0;
  size_t n;
  bool ok = true;
  while ((n = std::fread(buf.data(), 1, buf.size(), in)) > 0) {
    h.update(buf.data(), n);
    ok = ok && std::fwrite(buf.data(), 1, n, out) == n;
    total += int64_t(n);
  }
  ok = ok && !std::ferror(in);
  std::fclose(in);
  ok = (std::fclose(out) == 0) && ok;
  if (!ok) {
    std::remove(temp.c_str());
    return make_error("cannot copy {} into the store at {}", path, root_);
  }
  ManifestLayer l{std::move(media_type), "sha256:" + h.finish_hex(), total, ""};
  if (std::rename(temp.c_str(), blob_path(l.digest).c_str()) != 0) {
    std::remove(temp.c_str());
    return make_error("cannot rename {} into place: {}", temp, std::strerror(errno));
  }
  return l;
}

Status Store::commit_blob(const std::string& temp, std::string_view digest) const {
  SILICA_ASSIGN_OR_RETURN(std::string hex, sha256_file_hex(temp));
  if ("sha256:" + hex != digest) {
    std::remove(temp.c_str());
    return make_error(
        "download of blob {} has sha256:{}: content does not match its digest; "
        "the download was deleted",
        digest, hex);
  }
  if (std::rename(temp.c_str(), blob_path(digest).c_str()) != 0)
    return make_error("cannot rename {} to {}: {}", temp, blob_path(digest), std::strerror(errno));
  return {};
}

Expected<std::string> Store::read_blob_text(std::string_view digest) const {
  if (!has_blob(digest)) return make_error("blob {} is not in the store at {}", digest, root_);
  return read_file(blob_path(digest));
}

Expected<ManifestLayer> Store::add_config_blob(const std::vector<ManifestLayer>& layers,
                                               const std::string& model_format,
                                               const std::string& family,
                                               const std::string& file_type) const {
  nlohmann::ordered_json diff = nlohmann::ordered_json::array();
  for (const auto& l : layers) diff.push_back(l.digest);
  nlohmann::ordered_json j{{"model_format", model_format},
                           {"model_family", family},
                           {"model_families", family.empty() ? nlohmann::ordered_json::array()
                                                             : nlohmann::ordered_json{family}},
                           {"model_type", ""},
                           {"file_type", file_type},
                           {"architecture", "amd64"},
                           {"os", "linux"},
                           {"rootfs", {{"type", "layers"}, {"diff_ids", diff}}}};
  return add_blob_bytes(j.dump(), kConfigMediaType);
}

Expected<std::string> resolve_model_path(const std::string& name_or_path) {
  std::error_code ec;
  if (fs::exists(name_or_path, ec)) return name_or_path;
  auto name = parse_model_name(name_or_path);
  if (!name)
    return make_error("'{}' is neither an existing file or folder nor a model name ({})",
                      name_or_path, name.message());
  SILICA_ASSIGN_OR_RETURN(Store store, Store::open(Store::default_root()));
  auto r = store.resolve(*name);
  if (!r)
    return make_error("'{}' is not a file, and {} (pull it with `silica pull {}`)", name_or_path,
                      r.message(), name_or_path);
  return r->model_path;
}

}  // namespace silica

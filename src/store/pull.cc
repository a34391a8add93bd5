// Registry and Hugging Face pulls over http_client, with a per-blob lock and atomic commits.
#include "store/pull.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/log.h"
#include "format/gguf.h"
#include "store/hf_repo.h"
#include "store/http_client.h"
#include "store/sha256.h"

namespace silica {
namespace {
namespace fs = std::filesystem;

constexpr const char* kDefaultHfEndpoint = "https://huggingface.co";
constexpr const char* kDefaultQuant = "Q4_K_M";
constexpr auto kLockPoll = std::chrono::milliseconds(100);

PullProgress step(std::string status) {
  PullProgress p;
  p.status = std::move(status);
  return p;
}

void report(const PullOptions& o, PullProgress p) {
  if (o.progress) o.progress(p);
}

bool cancelled(const PullOptions& o) {
  return o.cancel && o.cancel->load();
}

// An exclusive flock on <blob>-partial.lock, so two pulls never write one partial file.
class BlobLock {
 public:
  ~BlobLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status acquire(const std::string& path, const PullOptions& o) {
    path_ = path;
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);
    if (fd_ < 0) return make_error("cannot open lock {}: {}", path, std::strerror(errno));
    while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK) return make_error("cannot lock {}: {}", path, std::strerror(errno));
      if (cancelled(o)) return make_error("interrupted while waiting for {}", path);
      std::this_thread::sleep_for(kLockPoll);
    }
    return {};
  }
  // After a commit: waiters that get the unlinked lock find the blob present and stop.
  void unlink() { ::unlink(path_.c_str()); }

 private:
  int fd_ = -1;
  std::string path_;
};

int64_t file_size_or_zero(const std::string& path) {
  std::error_code ec;
  auto n = fs::file_size(path, ec);
  return ec ? 0 : int64_t(n);
}

}  // namespace

namespace {

// Blobs above this many bytes are fetched as Range parts of this size.
constexpr int64_t kDefaultPartSize = int64_t(64) << 20;
// Parts in flight at once.
constexpr int kDefaultParts = 4;
// How often the part progress file is rewritten and progress reported while parts run.
constexpr auto kPartsTick = std::chrono::milliseconds(100);
constexpr auto kPartsSaveInterval = std::chrono::milliseconds(500);

int64_t env_int(const char* key, int64_t fallback) {
  const char* v = std::getenv(key);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long long n = std::strtoll(v, &end, 10);
  return (*end == '\0' && n > 0) ? int64_t(n) : fallback;
}

// One Range part of a blob: bytes [begin, end), of which `done` from begin are in the file.
struct BlobPart {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t done = 0;
};

std::string parts_path(const std::string& partial) {
  return partial + ".parts.json";
}

// The recorded parts of a resumed download, if the file describes this blob; else empty.
std::vector<BlobPart> load_parts(const std::string& path, const std::string& digest, int64_t size) {
  std::ifstream in(path);
  if (!in) return {};
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || j.value("digest", "") != digest || j.value("size", int64_t(-1)) != size ||
      !j.contains("parts") || !j["parts"].is_array())
    return {};
  std::vector<BlobPart> parts;
  int64_t at = 0;
  for (const auto& p : j["parts"]) {
    if (!p.is_array() || p.size() != 3 || !p[0].is_number_integer() || !p[1].is_number_integer() ||
        !p[2].is_number_integer())
      return {};
    BlobPart b{p[0].get<int64_t>(), p[1].get<int64_t>(), p[2].get<int64_t>()};
    if (b.begin != at || b.end <= b.begin || b.done < 0 || b.done > b.end - b.begin) return {};
    at = b.end;
    parts.push_back(b);
  }
  return at == size ? parts : std::vector<BlobPart>{};
}

// Written to a temp name and renamed, so a kill mid-write leaves the previous record.
Status save_parts(const std::string& path, const std::string& digest, int64_t size,
                  const std::vector<BlobPart>& parts) {
  nlohmann::json list = nlohmann::json::array();
  for (const BlobPart& p : parts) list.push_back({p.begin, p.end, p.done});
  const std::string text =
      nlohmann::json{{"digest", digest}, {"size", size}, {"parts", list}}.dump() + "\n";
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << text;
    if (!out.flush()) return make_error("cannot write {}: {}", temp, std::strerror(errno));
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0)
    return make_error("cannot rename {} to {}: {}", temp, path, std::strerror(errno));
  return {};
}

// Fresh parts of part_size bytes; the first `have` bytes (a single-stream partial) count as done.
std::vector<BlobPart> plan_parts(int64_t size, int64_t part_size, int64_t have) {
  std::vector<BlobPart> parts;
  for (int64_t b = 0; b < size; b += part_size) {
    BlobPart p{b, std::min(size, b + part_size), 0};
    p.done = std::clamp(have - p.begin, int64_t(0), p.end - p.begin);
    parts.push_back(p);
  }
  return parts;
}

// Shared by the part workers and the thread that watches them.
struct PartsRun {
  std::vector<BlobPart> parts;
  std::unique_ptr<std::atomic<int64_t>[]> done;  // [n_parts] bytes in the file per part
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};  // user cancel, a failed part, or Range ignored
  std::atomic<bool> range_ignored{false};
  std::mutex mutex;
  Status error;  // the first part that failed for good

  int64_t completed() const {
    int64_t n = 0;
    for (size_t i = 0; i < parts.size(); ++i) n += done[i].load();
    return n;
  }
  std::vector<BlobPart> snapshot() const {
    std::vector<BlobPart> out = parts;
    for (size_t i = 0; i < out.size(); ++i) out[i].done = done[i].load();
    return out;
  }
};

// Takes parts off the queue and downloads each, retrying (resumed) up to o.max_attempts.
void part_worker(PartsRun& run, const std::string& url, const std::vector<std::string>& hdrs,
                 int fd, const PullOptions& o) {
  for (size_t i; (i = run.next++) < run.parts.size();) {
    const BlobPart& p = run.parts[i];
    Status last;
    for (int attempt = 0; attempt < o.max_attempts && !run.stop; ++attempt) {
      const int64_t base = run.done[i].load();
      if (p.begin + base >= p.end) break;
      DownloadOptions d;
      d.headers = hdrs;
      d.cancel = &run.stop;
      d.on_progress = [&run, i, base](int64_t w) { run.done[i] = base + w; };
      bool ignored = false;
      last = http_download_range(url, fd, p.begin + base, p.end, d, &ignored);
      if (ignored) run.range_ignored = true;
      if (last.ok() || ignored) break;
    }
    if (run.stop) return;
    if (!last.ok()) {
      std::lock_guard<std::mutex> lock(run.mutex);
      if (run.error.ok()) run.error = last;
      run.stop = true;
      return;
    }
  }
}

// Fetches a blob as concurrent Range parts into `partial` (full size, written in place), with
// per-part progress in <partial>.parts.json so an interrupted pull resumes each part. Sets
// *range_ignored (and returns an error) when the server answers a Range request with 200.
Status fetch_parts(const std::string& url, const std::vector<std::string>& hdrs,
                   const std::string& partial, const std::string& digest, int64_t size,
                   const std::string& label, const PullOptions& o, bool* range_ignored) {
  *range_ignored = false;
  const std::string record = parts_path(partial);
  PartsRun run;
  run.parts = load_parts(record, digest, size);
  if (run.parts.empty()) {
    run.parts = plan_parts(size, env_int("SILICA_PULL_PART_SIZE", kDefaultPartSize),
                           std::min(file_size_or_zero(partial), size));
  }
  // The record comes first: a full-size partial without one would read as complete.
  SILICA_RETURN_IF_ERROR(save_parts(record, digest, size, run.parts));
  const int fd = ::open(partial.c_str(), O_RDWR | O_CREAT, 0644);
  if (fd < 0) return make_error("cannot open {}: {}", partial, std::strerror(errno));
  if (::ftruncate(fd, size) != 0) {
    ::close(fd);
    return make_error("cannot size {} to {} bytes: {}", partial, size, std::strerror(errno));
  }
  run.done = std::make_unique<std::atomic<int64_t>[]>(run.parts.size());
  for (size_t i = 0; i < run.parts.size(); ++i) run.done[i] = run.parts[i].done;
  const size_t n_threads =
      std::min(run.parts.size(), size_t(env_int("SILICA_PULL_PARTS", kDefaultParts)));
  std::atomic<size_t> running{n_threads};
  std::vector<std::thread> workers;
  for (size_t t = 0; t < n_threads; ++t) {
    workers.emplace_back([&] {
      part_worker(run, url, hdrs, fd, o);
      --running;
    });
  }
  // This thread reports progress, saves the record, and passes a user cancel on to the parts.
  auto last_save = std::chrono::steady_clock::now();
  int64_t last_reported = -1;
  while (running > 0) {
    if (cancelled(o)) run.stop = true;
    const int64_t now_done = run.completed();
    if (now_done != last_reported) report(o, {label, digest, size, last_reported = now_done});
    if (std::chrono::steady_clock::now() - last_save >= kPartsSaveInterval) {
      (void)save_parts(record, digest, size, run.snapshot());  // best effort; the final one counts
      last_save = std::chrono::steady_clock::now();
    }
    std::this_thread::sleep_for(kPartsTick);
  }
  for (auto& w : workers) w.join();
  const bool closed = ::close(fd) == 0;
  const int64_t have = run.completed();
  SILICA_RETURN_IF_ERROR(save_parts(record, digest, size, run.snapshot()));
  report(o, {label, digest, size, have});
  if (run.range_ignored) {
    *range_ignored = true;
    return make_error("GET {}: the server ignores Range requests", url);
  }
  if (cancelled(o))
    return make_error(
        "interrupted: {} of {} bytes of {} kept in {} ({} parts); pull again to resume", have, size,
        digest, partial, run.parts.size());
  if (!run.error.ok()) return run.error;
  if (!closed) return make_error("cannot write {}: {}", partial, std::strerror(errno));
  if (have != size) return make_error("blob {}: the parts hold {} of {} bytes", digest, have, size);
  return {};
}

}  // namespace

// Downloads one blob into its partial file (resuming), checks size and sha256, renames it. A blob
// above SILICA_PULL_PART_SIZE comes as concurrent Range parts unless the server ignores Range.
Status fetch_blob(const Store& store, const std::string& url, const std::vector<std::string>& hdrs,
                  const std::string& digest, int64_t size, const PullOptions& o) {
  std::string label = "pulling " + digest.substr(7, 12);
  if (store.has_blob(digest)) return report(o, {label, digest, size, size}), Status();
  std::string partial = store.partial_path(digest);
  BlobLock lock;
  SILICA_RETURN_IF_ERROR(lock.acquire(partial + ".lock", o));
  if (store.has_blob(digest)) return report(o, {label, digest, size, size}), Status();
  const std::string record = parts_path(partial);
  std::error_code ec;
  // A started parts download stays one, whatever the part size setting says now.
  if (size > env_int("SILICA_PULL_PART_SIZE", kDefaultPartSize) || fs::exists(record, ec)) {
    bool range_ignored = false;
    Status st = fetch_parts(url, hdrs, partial, digest, size, label, o, &range_ignored);
    if (!range_ignored && !st.ok()) return st;
    if (range_ignored) {
      log_info("{}: no Range support; downloading {} as one stream", url, digest);
      std::remove(partial.c_str());
      std::remove(record.c_str());
    } else {
      report(o, {"verifying sha256 digest", digest, size, size});
      Status committed = store.commit_blob(partial, digest);
      std::remove(record.c_str());  // a mismatch deleted the data too: start over next time
      SILICA_RETURN_IF_ERROR(committed);
      lock.unlink();
      return {};
    }
  }
  DownloadOptions d;
  d.headers = hdrs;
  d.cancel = o.cancel;
  d.on_progress = [&](int64_t done) { report(o, {label, digest, size, done}); };
  Status last;
  for (int attempt = 0; attempt < o.max_attempts; ++attempt) {
    if (size > 0 && file_size_or_zero(partial) >= size) break;
    report(o, {label, digest, size, file_size_or_zero(partial)});
    last = http_download(url, partial, d);
    if (last.ok() || cancelled(o)) break;
  }
  if (cancelled(o))
    return make_error("interrupted: {} of {} bytes of {} kept in {}; pull again to resume",
                      file_size_or_zero(partial), size, digest, partial);
  int64_t have = file_size_or_zero(partial);
  if (!last.ok() && have < size) return last;
  if (have != size) {
    std::remove(partial.c_str());
    return make_error("blob {} from {}: got {} bytes, the manifest says {}; download deleted",
                      digest, url, have, size);
  }
  report(o, {"verifying sha256 digest", digest, size, size});
  SILICA_RETURN_IF_ERROR(store.commit_blob(partial, digest));
  lock.unlink();
  return {};
}

namespace {

std::string registry_base(const ModelName& n, const PullOptions& o) {
  std::string scheme = !n.scheme.empty() ? n.scheme : (o.insecure ? "http" : "https");
  return scheme + "://" + n.host + "/v2/" + n.name_space + "/" + n.model;
}

Status pull_registry(const Store& store, const ModelName& n, const PullOptions& o) {
  std::string base = registry_base(n, o);
  report(o, step("pulling manifest"));
  std::string url = base + "/manifests/" + n.tag;
  SILICA_ASSIGN_OR_RETURN(HttpResponse r,
                          http_get(url, {std::string("Accept: ") + kManifestMediaType}, o.cancel));
  if (r.status == 404) return make_error("pull {}: model not found at {}", n.display(), url);
  if (r.status != 200)
    return make_error("pull {}: GET {} answered HTTP {}: {}", n.display(), url, r.status,
                      r.body.substr(0, 300));
  SILICA_ASSIGN_OR_RETURN(Manifest m, parse_manifest(r.body, url));
  std::vector<const ManifestLayer*> all{&m.config};
  for (const auto& l : m.layers) all.push_back(&l);
  for (const ManifestLayer* l : all) {
    SILICA_RETURN_IF_ERROR(
        fetch_blob(store, base + "/blobs/" + l->digest, {}, l->digest, l->size, o));
  }
  report(o, step("writing manifest"));
  return store.write_manifest(n, m);
}

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Expected<std::vector<HfFile>> hf_list(const std::string& endpoint, const std::string& repo,
                                      const std::vector<std::string>& hdrs, const PullOptions& o) {
  std::string url = endpoint + "/api/models/" + repo + "?blobs=true";
  SILICA_ASSIGN_OR_RETURN(HttpResponse r, http_get(url, hdrs, o.cancel));
  if (r.status != 200)
    return make_error("Hugging Face repository {}: GET {} answered HTTP {}", repo, url, r.status);
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.contains("siblings") || !j["siblings"].is_array())
    return make_error("Hugging Face repository {}: {} has no siblings list", repo, url);
  std::vector<HfFile> files;
  for (const auto& s : j["siblings"]) {
    if (!s.is_object() || !s.contains("rfilename") || !s["rfilename"].is_string()) continue;
    HfFile f;
    f.name = s["rfilename"].get<std::string>();
    if (s.contains("size") && s["size"].is_number_integer()) f.size = s["size"].get<int64_t>();
    if (s.contains("blobId") && s["blobId"].is_string()) f.blob_id = s["blobId"];
    if (s.contains("lfs") && s["lfs"].is_object()) {
      const auto& lfs = s["lfs"];
      if (lfs.contains("sha256") && lfs["sha256"].is_string()) f.sha256 = lfs["sha256"];
      if (lfs.contains("size") && lfs["size"].is_number_integer()) f.size = lfs["size"];
    }
    files.push_back(std::move(f));
  }
  return files;
}

namespace {

std::string env_or(const char* key, const std::string& fallback) {
  const char* v = std::getenv(key);
  return v && *v ? std::string(v) : fallback;
}

// A GGUF's general.architecture and general.file_type for the config blob; empty if unreadable.
std::pair<std::string, std::string> gguf_family(const std::string& path) {
  auto f = GgufFile::open(path);
  if (!f) return {};
  std::string arch;
  if (const GgufValue* v = f->find("general.architecture"))
    arch = std::string(v->as_string().value_or(""));
  return {arch, ""};
}

// Downloads a file whose sha256 the API did not give: hashed after download, then committed.
Expected<std::string> fetch_unhashed(const Store& store, const std::string& url,
                                     const std::vector<std::string>& hdrs, const PullOptions& o) {
  std::string partial = store.root() + "/blobs/hf-" + sha256_hex(url).substr(0, 32) + "-partial";
  BlobLock lock;
  SILICA_RETURN_IF_ERROR(lock.acquire(partial + ".lock", o));
  DownloadOptions d{hdrs, o.cancel, [&](int64_t done) {
                      report(o, {"pulling file", "", 0, done});
                    }};
  SILICA_RETURN_IF_ERROR(http_download(url, partial, d));
  SILICA_ASSIGN_OR_RETURN(std::string hex, sha256_file_hex(partial));
  SILICA_RETURN_IF_ERROR(store.commit_blob(partial, "sha256:" + hex));
  lock.unlink();
  return "sha256:" + hex;
}

Status pull_hf(const Store& store, const ModelName& n, const PullOptions& o) {
  std::string endpoint =
      !o.hf_endpoint.empty() ? o.hf_endpoint : env_or("SILICA_HF_ENDPOINT", kDefaultHfEndpoint);
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  std::string token = !o.hf_token.empty() ? o.hf_token : env_or("HF_TOKEN", "");
  std::vector<std::string> hdrs;
  if (!token.empty()) hdrs.push_back("Authorization: Bearer " + token);
  std::string repo = n.name_space + "/" + n.model;
  report(o, step("pulling manifest"));
  SILICA_ASSIGN_OR_RETURN(auto files, hf_list(endpoint, repo, hdrs, o));
  if (is_safetensors_repo(files)) return pull_hf_repo(store, n, endpoint, repo, hdrs, files, o);
  std::vector<std::string> names;
  for (const auto& f : files) names.push_back(f.name);
  SILICA_ASSIGN_OR_RETURN(std::string file, choose_gguf_file(names, n.tag, repo));
  const HfFile& hf =
      *std::find_if(files.begin(), files.end(), [&](auto& f) { return f.name == file; });
  std::string url = endpoint + "/" + repo + "/resolve/main/";
  for (size_t s = 0, e; s <= file.size(); s = e + 1) {  // escape each path segment
    e = std::min(file.find('/', s), file.size());
    url += (s ? "/" : "") + url_escape(file.substr(s, e - s));
  }
  ManifestLayer model{kMediaModel, "", hf.size, ""};
  if (!hf.sha256.empty() && hf.size >= 0) {
    model.digest = "sha256:" + lower(hf.sha256);
    if (!is_valid_digest(model.digest))
      return make_error("{}: file {} has a malformed sha256 '{}'", repo, file, hf.sha256);
    SILICA_RETURN_IF_ERROR(fetch_blob(store, url, hdrs, model.digest, hf.size, o));
  } else {
    SILICA_ASSIGN_OR_RETURN(model.digest, fetch_unhashed(store, url, hdrs, o));
    model.size = file_size_or_zero(store.blob_path(model.digest));
  }
  auto [family, file_type] = gguf_family(store.blob_path(model.digest));
  std::vector<ManifestLayer> layers{model};
  SILICA_ASSIGN_OR_RETURN(ManifestLayer config,
                          store.add_config_blob(layers, "gguf", family, file_type));
  Manifest m;
  m.config = config;
  m.layers = layers;
  report(o, step("writing manifest"));
  return store.write_manifest(n, m);
}

}  // namespace

Expected<std::string> choose_gguf_file(const std::vector<std::string>& files,
                                       const std::string& tag, const std::string& repo) {
  std::vector<std::string> ggufs;
  for (const auto& f : files) {
    std::string l = lower(f);
    if (l.size() > 5 && l.ends_with(".gguf") && l.find("mmproj") == std::string::npos)
      ggufs.push_back(f);
  }
  if (ggufs.empty()) return make_error("Hugging Face repository {} holds no .gguf file", repo);
  for (const auto& f : ggufs) {
    if (f == tag || fs::path(f).filename() == tag) return f;
  }
  bool by_default = tag == kDefaultTag;
  std::string want = lower(by_default ? kDefaultQuant : tag);
  std::vector<std::string> hits;
  for (const auto& f : ggufs) {
    std::string stem = lower(fs::path(f).filename().string());
    stem.resize(stem.size() - 5);
    // The quant must stand as its own token: "q4_k" must not match "q4_k_m".
    for (size_t p = stem.find(want); p != std::string::npos; p = stem.find(want, p + 1)) {
      size_t end = p + want.size();
      bool left = p == 0 || std::strchr("-._/", stem[p - 1]);
      bool right = end == stem.size() || std::strchr("-._", stem[end]);
      if (left && right) {
        hits.push_back(f);
        break;
      }
    }
  }
  if (hits.empty() && by_default && ggufs.size() == 1) return ggufs[0];
  if (hits.empty()) {
    std::string avail;
    for (const auto& f : ggufs) avail += (avail.empty() ? "" : ", ") + f;
    return make_error("Hugging Face repository {} has no .gguf for '{}'; it has: {}", repo,
                      by_default ? kDefaultQuant : tag, avail);
  }
  // Split models (-00001-of-00003) are not supported yet: take the shortest name.
  std::sort(hits.begin(), hits.end(), [](auto& a, auto& b) { return a.size() < b.size(); });
  return hits[0];
}

Expected<ModelName> pull_model(const Store& store, const std::string& name, const PullOptions& o) {
  SILICA_ASSIGN_OR_RETURN(ModelName n, parse_model_name(name));
  if (n.is_hugging_face()) {
    n.host = "hf.co";
    SILICA_RETURN_IF_ERROR(pull_hf(store, n, o));
  } else {
    SILICA_RETURN_IF_ERROR(pull_registry(store, n, o));
  }
  report(o, step("success"));
  n.scheme.clear();
  return n;
}

}  // namespace silica

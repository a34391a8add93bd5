// Loading, sharing and unloading served models.
#include "server/model_manager.h"

#include <algorithm>
#include <filesystem>
#include <regex>

#include "base/log.h"
#include "base/timer.h"
#include "server/model_info.h"
#include "store/sha256.h"

namespace silica {

namespace fs = std::filesystem;

ServedModel::~ServedModel() {
  scheduler.reset();
}

bool is_plain_model_name(const std::string& name) {
  if (name.empty() || name.size() > 200 || name.find("..") != std::string::npos) return false;
  int colons = 0;
  for (char c : name) {
    if (c == ':') {
      ++colons;
    } else if (!std::isalnum(uint8_t(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return colons <= 1 && name.front() != '.' && name.front() != ':';
}

ModelManager::ModelManager(const ServerOptions& opts) : opts_(opts) {
  reaper_ = std::thread([this] { reaper(); });
}

ModelManager::~ModelManager() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  reaper_.join();
  unload_all();
}

std::string ModelManager::folder_path(const std::string& name) const {
  if (!is_plain_model_name(name) || opts_.models_dir.empty()) return {};
  const size_t colon = name.find(':');
  if (colon == std::string::npos) return opts_.models_dir + "/" + name + ".gguf";
  const std::string base = name.substr(0, colon), tag = name.substr(colon + 1);
  if (tag.empty() || tag == "latest") return opts_.models_dir + "/" + base + ".gguf";
  return opts_.models_dir + "/" + base + "-" + tag + ".gguf";
}

Expected<Store> ModelManager::store() const {
  if (opts_.models_dir.empty()) return make_error("no models folder is set (SILICA_MODELS)");
  return Store::open(opts_.models_dir);
}

namespace {

// A store model for `name`, when the name parses and its manifest and model blob are there.
std::optional<ModelRef> lookup_store(const std::string& models_dir, const std::string& name) {
  std::error_code ec;
  if (models_dir.empty() || !fs::is_directory(models_dir + "/manifests", ec)) return std::nullopt;
  auto parsed = parse_model_name(name);
  if (!parsed) return std::nullopt;
  auto store = Store::open(models_dir);
  if (!store) return std::nullopt;
  auto r = store->resolve(*parsed);
  if (!r) return std::nullopt;
  ModelRef ref;
  ref.path = r->model_path;
  ref.in_store = true;
  ref.name = r->name;
  ref.name.scheme.clear();
  ref.manifest = std::move(r->manifest);
  auto hex = sha256_file_hex(r->manifest_path);
  if (hex) ref.manifest_digest = "sha256:" + *hex;
  return ref;
}

}  // namespace

std::optional<ModelRef> ModelManager::lookup(const std::string& name) const {
  if (auto ref = lookup_store(opts_.models_dir, name)) return ref;
  std::error_code ec;
  auto file = [](std::string p) {
    ModelRef ref;
    ref.path = std::move(p);
    return std::optional<ModelRef>(std::move(ref));
  };
  const bool looks_like_path = name.find('/') != std::string::npos ||
                               (name.size() > 5 && name.substr(name.size() - 5) == ".gguf");
  if (looks_like_path) return fs::is_regular_file(name, ec) ? file(name) : std::nullopt;
  std::string p = folder_path(name);
  if (!p.empty() && fs::is_regular_file(p, ec)) return file(p);
  // NAME:latest may also be stored as NAME-latest.gguf.
  const size_t colon = name.find(':');
  if (colon != std::string::npos && name.substr(colon + 1) == "latest" &&
      is_plain_model_name(name)) {
    p = opts_.models_dir + "/" + name.substr(0, colon) + "-latest.gguf";
    if (fs::is_regular_file(p, ec)) return file(p);
  }
  return std::nullopt;
}

bool is_go_template(const std::string& text) {
  // Go actions: {{ .Field }}, {{ if }}, {{ range }}, {{ end }}; Jinja writes {% if %} instead.
  static const std::regex go(R"(\{\{-?\s*(\.|(if|range|end|else|with|template|block|define)\b))");
  return std::regex_search(text, go);
}

namespace {

// The request's options over the model's PARAMETER values over the API's defaults.
Status apply_params(const Json& params, const std::string& model, InferenceRequest& r) {
  const bool openai = r.kind == ApiKind::kOpenAiChat || r.kind == ApiKind::kOpenAiCompletion;
  InferenceRequest merged;
  merged.params = openai ? openai_default_params() : ollama_default_params();
  if (Status st = apply_ollama_options(params, merged); !st.ok())
    return make_error("model '{}': its PARAMETER layer: {}", model, st.message());
  SILICA_RETURN_IF_ERROR(apply_ollama_options(r.given_options, merged));
  r.params.n_predict = merged.params.n_predict;
  r.params.sampling = merged.params.sampling;
  r.params.stop = merged.params.stop;
  r.num_ctx = merged.num_ctx;
  r.n_threads = merged.n_threads;
  return {};
}

// MESSAGE turns first, then the request's; SYSTEM leads unless the request starts with its own.
Json chat_messages(const StoreModelLayers& l, const Json& request_messages) {
  Json out = Json::array();
  const bool own_system = !request_messages.empty() && request_messages[0].is_object() &&
                          request_messages[0].value("role", "") == "system";
  if (!l.system.empty() && !own_system) out.push_back({{"role", "system"}, {"content", l.system}});
  if (l.messages.is_array())
    for (const Json& m : l.messages) out.push_back(m);
  for (const Json& m : request_messages) out.push_back(m);
  return out;
}

}  // namespace

Status ModelManager::apply_model_layers(InferenceRequest& r) const {
  auto ref = lookup(r.model);
  if (!ref || !ref->in_store) return {};
  SILICA_ASSIGN_OR_RETURN(Store store, this->store());
  SILICA_ASSIGN_OR_RETURN(StoreModelLayers l, read_store_layers(store, ref->manifest));
  if (l.params.is_object()) SILICA_RETURN_IF_ERROR(apply_params(l.params, r.model, r));
  if (r.raw) return {};  // raw prompts go to the model as they are
  if (!l.template_text.empty() && r.template_source.empty() && !is_go_template(l.template_text))
    r.template_source = l.template_text;
  if (r.chat) {
    r.messages = chat_messages(l, r.messages);
  } else if (r.kind == ApiKind::kOllamaGenerate && l.messages.is_array() && r.context.empty()) {
    // Ollama puts MESSAGE turns between the system prompt and a fresh generate prompt.
    Json own = Json::array();
    if (!r.system.empty()) own.push_back({{"role", "system"}, {"content", r.system}});
    own.push_back({{"role", "user"}, {"content", r.prompt}});
    r.messages = chat_messages(l, own);
    r.chat = true;
  } else if (r.system.empty()) {
    r.system = l.system;
  }
  return {};
}

std::string ModelManager::resolve(const std::string& name) const {
  auto ref = lookup(name);
  return ref ? ref->path : std::string();
}

namespace {

Expected<std::shared_ptr<ServedModel>> load_served(const std::string& name, const std::string& path,
                                                   const ServerOptions& opts, int64_t num_ctx) {
  auto m = std::make_shared<ServedModel>();
  m->name = name;
  m->path = path;
  SILICA_ASSIGN_OR_RETURN(m->lm, load_model_with_tokenizer(path));
  const ModelHParams& hp = m->lm.model->hparams();
  int64_t n_ctx = num_ctx > 0 ? num_ctx : opts.n_ctx;
  if (hp.n_ctx_train > 0 && n_ctx > hp.n_ctx_train) n_ctx = hp.n_ctx_train;
  m->n_ctx = n_ctx;
  SchedulerOptions so;
  so.n_parallel = opts.n_parallel;
  so.n_ctx = n_ctx;
  so.n_threads = opts.n_threads;
  so.max_queue = opts.max_queue;
  SILICA_ASSIGN_OR_RETURN(m->scheduler, Scheduler::create(m->lm, so));
  if (const auto& src = m->lm.model->chat_template()) {
    auto t = ChatTemplate::parse(*src);
    if (t) {
      m->chat_template.emplace(std::move(*t));
      m->tool_format = detect_tool_call_format(*src);  // once per model, not per request
    } else {
      m->template_error = t.message();
      log_warn("{}: chat template not usable ({}); using the fallback format", path, t.message());
    }
  }
  // K and V per layer, f32 (the cache's element size is the engine's business; an estimate).
  const size_t kv = size_t(2) * size_t(hp.n_layer) * size_t(n_ctx) * size_t(opts.n_parallel) *
                    size_t(hp.n_head_kv) * size_t(hp.head_dim) * sizeof(float);
  m->size_bytes = m->lm.model->weight_bytes() + kv;
  return m;
}

// The context a load with num_ctx would get: capped at what the model was trained for.
int64_t effective_ctx(const ServedModel& m, int64_t num_ctx) {
  const int64_t train = m.lm.model->hparams().n_ctx_train;
  return train > 0 ? std::min(num_ctx, train) : num_ctx;
}

}  // namespace

Expected<std::shared_ptr<ServedModel>> ModelManager::acquire(const std::string& name,
                                                             const std::string& path,
                                                             int64_t num_ctx) {
  std::lock_guard<std::mutex> load_lock(load_mutex_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = models_.find(path);
    if (it != models_.end() &&
        (num_ctx <= 0 || effective_ctx(*it->second, num_ctx) == it->second->n_ctx)) {
      ++it->second->in_flight;
      it->second->expires_at_ns = kKeepForever;
      return it->second;
    }
    if (it != models_.end()) models_.erase(it);  // reload with the new context size
  }
  log_info("loading {}", path);
  auto m = load_served(name, path, opts_, num_ctx);
  if (!m) return make_error("failed to load model '{}': {}", name, m.message());
  ++(*m)->in_flight;
  std::lock_guard<std::mutex> lock(mutex_);
  models_[path] = *m;
  return *m;
}

void ModelManager::release(const std::shared_ptr<ServedModel>& m,
                           std::optional<int64_t> keep_alive_ns) {
  const int64_t keep = keep_alive_ns.value_or(opts_.keep_alive_ns);
  const int left = --m->in_flight;
  if (left > 0) return;
  m->expires_at_ns = keep == kKeepForever ? kKeepForever : now_ns() + keep;
  if (keep == 0) {
    unload(m->path);
  } else {
    wake_.notify_all();
  }
}

bool ModelManager::unload(const std::string& path) {
  std::shared_ptr<ServedModel> gone;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = models_.find(path);
    if (it == models_.end()) return false;
    gone = std::move(it->second);
    models_.erase(it);
  }
  log_info("unloading {}", path);
  return true;  // `gone` frees the model here unless a request still holds it
}

void ModelManager::unload_all() {
  std::map<std::string, std::shared_ptr<ServedModel>> gone;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    gone.swap(models_);
  }
}

std::vector<std::shared_ptr<ServedModel>> ModelManager::loaded() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::shared_ptr<ServedModel>> out;
  for (const auto& [path, m] : models_) out.push_back(m);
  return out;
}

void ModelManager::reaper() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    wake_.wait_for(lock, std::chrono::milliseconds(500));
    const int64_t now = now_ns();
    std::vector<std::shared_ptr<ServedModel>> gone;
    for (auto it = models_.begin(); it != models_.end();) {
      ServedModel& m = *it->second;
      if (m.in_flight == 0 && m.expires_at_ns != kKeepForever && m.expires_at_ns <= now) {
        log_info("keep_alive expired: unloading {}", it->first);
        gone.push_back(std::move(it->second));
        it = models_.erase(it);
      } else {
        ++it;
      }
    }
    lock.unlock();
    gone.clear();  // free outside the lock
    lock.lock();
  }
}

}  // namespace silica

// Which models are loaded: resolves names to GGUF files (a store model, a path, or NAME[:TAG].gguf
// in the models folder), loads on demand with one Scheduler each, and unloads after keep_alive.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "chat/chat_template.h"
#include "chat/tool_calls.h"
#include "engine/scheduler.h"
#include "engine/session.h"
#include "server/api_request.h"
#include "server/options.h"
#include "store/store.h"

namespace silica {

// A loaded model and what serves it. Held by shared_ptr: a request keeps it alive until it
// ends even when the manager drops it (reload with another num_ctx, keep_alive 0, shutdown).
struct ServedModel {
  std::string name;  // as the client asked for it
  std::string path;
  LoadedModel lm;
  std::unique_ptr<Scheduler> scheduler;
  std::optional<ChatTemplate> chat_template;           // none: the fallback format (see prompt.h)
  std::string template_error;                          // why the GGUF template could not be used
  ToolCallFormat tool_format = ToolCallFormat::kNone;  // how the template's model writes calls
  int64_t n_ctx = 0;
  int n_threads = 0;
  size_t size_bytes = 0;                             // weights plus K/V cache
  std::atomic<int64_t> expires_at_ns{kKeepForever};  // steady clock; kKeepForever: never
  std::atomic<int> in_flight{0};

  ~ServedModel();  // stops the scheduler before the model it reads goes away
};

enum class ResolveError { kNone, kNotFound, kInvalidName };

// Where a model name led: a model in the store (its manifest names the layers) or a .gguf file.
struct ModelRef {
  std::string path;  // the GGUF file (a store model's model blob)
  bool in_store = false;
  ModelName name;               // in_store: the parsed store name
  Manifest manifest;            // in_store: config and layers
  std::string manifest_digest;  // in_store: "sha256:<hex>" of the manifest file (Ollama's ID)
};

class ModelManager {
 public:
  explicit ModelManager(const ServerOptions& opts);
  ~ModelManager();
  ModelManager(const ModelManager&) = delete;
  ModelManager& operator=(const ModelManager&) = delete;

  // In this order: a store name ([host/][namespace/]model[:tag]) whose manifest is in the store
  // at models_dir; a path to an existing .gguf file; NAME / NAME:TAG in the models folder
  // (NAME.gguf, NAME-TAG.gguf; NAME:latest also finds NAME.gguf). nullopt when none matches.
  std::optional<ModelRef> lookup(const std::string& name) const;
  // A store model's layers applied to a request, as Ollama does: PARAMETER values are defaults
  // under r.given_options; SYSTEM is the system prompt unless the request has one; MESSAGE turns
  // go before the request's messages; a Jinja TEMPLATE replaces the GGUF's chat template (a Go
  // template is kept for show only). Not a store model: nothing changes.
  Status apply_model_layers(InferenceRequest& r) const;
  // lookup(name)'s GGUF path; empty when not found.
  std::string resolve(const std::string& name) const;
  // The model store rooted at the models folder (created on first use).
  Expected<Store> store() const;
  // The folder file a name would have (for copy); empty for names that are not plain.
  std::string folder_path(const std::string& name) const;
  const std::string& models_dir() const { return opts_.models_dir; }
  const ServerOptions& options() const { return opts_; }

  // The loaded model for `name` (loads it if needed; reloads when num_ctx differs). Marks it in
  // use until release(). Errors: the load failed (the file is named).
  Expected<std::shared_ptr<ServedModel>> acquire(const std::string& name, const std::string& path,
                                                 int64_t num_ctx);
  // Ends one use; the model unloads keep_alive_ns after its last use (0: now).
  void release(const std::shared_ptr<ServedModel>& m, std::optional<int64_t> keep_alive_ns);
  bool unload(const std::string& path);
  void unload_all();
  std::vector<std::shared_ptr<ServedModel>> loaded() const;

 private:
  void reaper();

  ServerOptions opts_;
  mutable std::mutex mutex_;
  std::mutex load_mutex_;  // one load at a time: loads are memory- and disk-heavy
  std::map<std::string, std::shared_ptr<ServedModel>> models_;  // by path
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread reaper_;
};

// Whether a TEMPLATE layer is a Go template (Ollama's format), which silica does not render.
bool is_go_template(const std::string& text);

// Plain model names only: letters, digits, '.', '_', '-', one ':' (no '/' or "..").
bool is_plain_model_name(const std::string& name);

}  // namespace silica

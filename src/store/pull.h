// `pull`: fetch a model from an Ollama registry or a Hugging Face GGUF repository into the store,
// resumable, sha256-verified, safe against a second pull of the same model at the same time.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "base/status.h"
#include "store/store.h"

namespace silica {

// One progress event, shaped like Ollama's /api/pull NDJSON lines.
struct PullProgress {
  std::string status;  // "pulling manifest", "pulling <digest12>", "verifying sha256 digest", ...
  std::string digest;  // set while a blob downloads
  int64_t total = 0;
  int64_t completed = 0;
};

struct PullOptions {
  bool insecure = false;  // http instead of https for registry hosts
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(const PullProgress&)> progress;
  int max_attempts = 4;     // per blob; each retry resumes with a Range request
  std::string hf_endpoint;  // empty: $SILICA_HF_ENDPOINT or https://huggingface.co
  std::string hf_token;     // empty: $HF_TOKEN
};

// Pulls `name` ([scheme://][host/][namespace/]model[:tag] or hf.co/org/repo[:quant|file]).
// Blobs are committed one by one after their sha256 checks; the manifest is written last, so an
// interrupted or failed pull never shows in list(). Returns the stored name.
Expected<ModelName> pull_model(const Store& store, const std::string& name, const PullOptions& o);

// Picks the .gguf file of a Hugging Face repository for a tag: an exact file name, else the
// file whose name holds the quant tag ("latest" means Q4_K_M, or the only .gguf there is).
Expected<std::string> choose_gguf_file(const std::vector<std::string>& files,
                                       const std::string& tag, const std::string& repo);

}  // namespace silica

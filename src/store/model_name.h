// Model names ([scheme://][host/][namespace/]model[:tag]) parsed and checked so a name can never
// name a path outside the store.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace silica {

inline constexpr const char* kDefaultHost = "registry.ollama.ai";
inline constexpr const char* kDefaultNamespace = "library";
inline constexpr const char* kDefaultTag = "latest";
inline constexpr size_t kMaxHostLength = 253 + 6;  // DNS name and ":port"
inline constexpr size_t kMaxPartLength = 80;       // namespace, model and tag (as Ollama)

struct ModelName {
  std::string scheme;  // "http" / "https" when the name was given as a URL, else empty
  std::string host;
  std::string name_space;  // "namespace" is a keyword
  std::string model;
  std::string tag;

  // host/namespace/model:tag, every part present.
  std::string full() const;
  // The short form users type: "m:tag" on the default host and namespace.
  std::string display() const;
  // manifests/<host>/<namespace>/<model>/<tag>, relative to the store root.
  std::string manifest_rel_path() const;
  bool is_hugging_face() const { return host == "hf.co" || host == "huggingface.co"; }
  bool operator==(const ModelName& o) const {
    return host == o.host && name_space == o.name_space && model == o.model && tag == o.tag;
  }
};

// Parses and validates a name; the error says which part is wrong and why.
Expected<ModelName> parse_model_name(std::string_view text);

}  // namespace silica

// Ollama image manifests (schemaVersion 2): a config blob and typed layers, all by sha256 digest.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace silica {

inline constexpr const char* kManifestMediaType =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* kConfigMediaType = "application/vnd.docker.container.image.v1+json";
inline constexpr const char* kMediaModel = "application/vnd.ollama.image.model";
inline constexpr const char* kMediaTemplate = "application/vnd.ollama.image.template";
inline constexpr const char* kMediaSystem = "application/vnd.ollama.image.system";
inline constexpr const char* kMediaParams = "application/vnd.ollama.image.params";
inline constexpr const char* kMediaLicense = "application/vnd.ollama.image.license";
inline constexpr const char* kMediaAdapter = "application/vnd.ollama.image.adapter";
inline constexpr const char* kMediaMessages = "application/vnd.ollama.image.messages";

struct ManifestLayer {
  std::string media_type;
  std::string digest;  // "sha256:<64 lowercase hex>"
  int64_t size = 0;
  // annotations["org.opencontainers.image.title"]: the file name of a model-folder layer
  // (config.json, model.safetensors): a plain name, never a path.
  std::string file_name;
};

inline constexpr const char* kAnnotationTitle = "org.opencontainers.image.title";

struct Manifest {
  int schema_version = 2;
  std::string media_type = kManifestMediaType;
  ManifestLayer config;
  std::vector<ManifestLayer> layers;

  // The first layer of a media type, or nullptr.
  const ManifestLayer* find(std::string_view media_type) const;
  // Bytes of the config and every layer.
  int64_t total_size() const;
};

// True for "sha256:" followed by exactly 64 lowercase hex digits.
bool is_valid_digest(std::string_view digest);

// Parses manifest JSON; `where` (a file or URL) names the source in errors. Every digest is
// checked, so a manifest can never name a blob path outside the store.
Expected<Manifest> parse_manifest(std::string_view json, std::string_view where);
// Compact JSON in the field order Ollama writes.
std::string serialize_manifest(const Manifest& m);

}  // namespace silica

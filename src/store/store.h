// The model store: content-addressed blobs (blobs/sha256-<hex>) and Ollama manifests
// (manifests/<host>/<namespace>/<model>/<tag>) under one root, written only by atomic renames.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "store/manifest.h"
#include "store/model_name.h"

namespace silica {

struct StoredModel {
  ModelName name;
  std::string manifest_sha256;  // hex sha256 of the manifest file: Ollama's model ID
  int64_t size = 0;             // config + layers, bytes
  int64_t modified_unix = 0;    // manifest mtime, seconds
};

struct ResolvedModel {
  ModelName name;
  Manifest manifest;
  std::string manifest_path;
  std::string model_path;  // the blob of the model layer
};

class Store {
 public:
  // $SILICA_MODELS, else $HOME/.silica/models.
  static std::string default_root();
  // Opens (creating blobs/ and manifests/ if needed) the store at root.
  static Expected<Store> open(const std::string& root);

  const std::string& root() const { return root_; }
  // Paths of a blob and its resumable download; digest must pass is_valid_digest.
  std::string blob_path(std::string_view digest) const;
  std::string partial_path(std::string_view digest) const;
  bool has_blob(std::string_view digest) const;
  // A fresh unique file name in blobs/ for a temporary file (never a blob's name).
  std::string temp_path(std::string_view hint) const;

  Expected<std::vector<StoredModel>> list() const;
  Expected<Manifest> read_manifest(const ModelName& name) const;
  Expected<ResolvedModel> resolve(const ModelName& name) const;
  Expected<ResolvedModel> resolve(std::string_view name) const;
  // Writes atomically, after checking that every blob it names is present with its size.
  Status write_manifest(const ModelName& name, const Manifest& m) const;
  // Removes the manifest, then every blob no manifest references.
  Status remove(const ModelName& name) const;
  // Deletes unreferenced blobs (partial downloads stay: they are resumable); returns the count.
  Expected<int> garbage_collect() const;
  Status copy(const ModelName& src, const ModelName& dst) const;

  // Adds content as a blob (hashed, written to a temp file, renamed).
  Expected<ManifestLayer> add_blob_bytes(std::string_view data, std::string media_type) const;
  // Copies a file into the store as a blob, hashing while copying.
  Expected<ManifestLayer> add_blob_file(const std::string& path, std::string media_type) const;
  // Moves a finished temp file into place as the blob `digest` after checking its sha256.
  Status commit_blob(const std::string& temp, std::string_view digest) const;
  Expected<std::string> read_blob_text(std::string_view digest) const;
  // A config blob in Ollama's shape (model_format, model_family, file_type, rootfs.diff_ids).
  Expected<ManifestLayer> add_config_blob(const std::vector<ManifestLayer>& layers,
                                          const std::string& model_format,
                                          const std::string& family,
                                          const std::string& file_type) const;

 private:
  explicit Store(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

// For the CLI: an existing file or folder path wins; otherwise a model name in the default store,
// resolved to its model blob. The error says what was tried.
Expected<std::string> resolve_model_path(const std::string& name_or_path);

}  // namespace silica

// Whole Hugging Face repositories (safetensors and MLX model folders) in the store: which files
// to fetch, how each is verified, and the folder view a loader opens by path.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "format/model_folder.h"
#include "store/pull.h"
#include "store/store.h"

namespace silica {

// One file of a folder model; the manifest layer's file_name says where it goes in the folder.
inline constexpr const char* kMediaModelFile = "application/vnd.silica.model.file";

// A file in a repository listing (GET /api/models/<repo>?blobs=true "siblings").
struct HfFile {
  std::string name;
  std::string sha256;   // from the LFS pointer; empty for files kept in git itself
  std::string blob_id;  // the git blob sha1 ("blobId"); verifies non-LFS files
  int64_t size = -1;
};

// The repository's files; errors name the repository and the URL (defined in pull.cc).
Expected<std::vector<HfFile>> hf_list(const std::string& endpoint, const std::string& repo,
                                      const std::vector<std::string>& hdrs, const PullOptions& o);
// Downloads one blob of known digest and size, resuming its partial file, checking its sha256
// before it is committed (defined in pull.cc).
Status fetch_blob(const Store& store, const std::string& url, const std::vector<std::string>& hdrs,
                  const std::string& digest, int64_t size, const PullOptions& o);

// True for a repository with *.safetensors weights and no .gguf file.
bool is_safetensors_repo(const std::vector<HfFile>& files);
// The files a model folder needs: config, weights (+ index), tokenizer and generation files;
// not READMEs, images, or .bin/.pt/.pth pickles, and nothing in sub-folders.
bool is_wanted_repo_file(const std::string& name);

// The config blob of a folder model in Ollama's shape: format, family, parameter size (in
// "model_type", as Ollama does) and quantization level ("file_type") from `d`; rootfs.diff_ids
// lists `layers`. Pulls and `create FROM <folder>` both write it, so both list alike.
Expected<ManifestLayer> folder_config_blob(const Store& store,
                                           const std::vector<ManifestLayer>& layers,
                                           const ModelDescription& d);

// Pulls every wanted file as a blob (LFS files by their sha256, the rest by size and git blob
// sha1), checks the folder is a model (config.json, valid safetensors headers), and writes a
// manifest of kMediaModelFile layers plus a config blob with format, family, parameter size
// (Ollama's "model_type") and quantization level ("file_type").
Status pull_hf_repo(const Store& store, const ModelName& n, const std::string& endpoint,
                    const std::string& repo, const std::vector<std::string>& hdrs,
                    const std::vector<HfFile>& files, const PullOptions& o);

// True when the manifest is a folder model (kMediaModelFile layers, no GGUF model layer).
bool is_folder_manifest(const Manifest& m);
// <root>/folders/<key>: one folder of symlinks to the blobs, named after the layers' names and
// digests (so two models with the same files share it). Created on first use, atomically.
Expected<std::string> materialize_folder_view(const Store& store, const Manifest& m);
// Removes folder views no manifest uses any more (after `rm`).
Status prune_folder_views(const Store& store);

}  // namespace silica

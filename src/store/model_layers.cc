// Reading a stored model's text layers from their blobs.
#include "store/model_layers.h"

#include <filesystem>

namespace silica {

Expected<ModelLayers> read_model_layers(const Store& store, const ResolvedModel& m) {
  ModelLayers out;
  out.model_path = m.model_path;
  for (const ManifestLayer& l : m.manifest.layers) {
    const bool json = l.media_type == kMediaParams || l.media_type == kMediaMessages;
    if (!json && l.media_type != kMediaTemplate && l.media_type != kMediaSystem &&
        l.media_type != kMediaLicense)
      continue;
    SILICA_ASSIGN_OR_RETURN(std::string body, store.read_blob_text(l.digest));
    if (l.media_type == kMediaTemplate) out.template_text = std::move(body);
    if (l.media_type == kMediaSystem) out.system = std::move(body);
    if (l.media_type == kMediaLicense) out.license += (out.license.empty() ? "" : "\n\n") + body;
    if (!json) continue;
    auto j = nlohmann::ordered_json::parse(body, nullptr, false);
    const bool params = l.media_type == kMediaParams;
    if (params ? !j.is_object() : !j.is_array())
      return make_error("blob {} ({}) of {}: expected a JSON {}", l.digest, l.media_type,
                        m.name.display(), params ? "object" : "array");
    (params ? out.params : out.messages) = std::move(j);
  }
  return out;
}

Expected<ModelLayers> resolve_model_layers(const std::string& name_or_path) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(name_or_path, ec)) {
    ModelLayers bare;
    bare.model_path = name_or_path;
    return bare;
  }
  SILICA_ASSIGN_OR_RETURN(std::string path, resolve_model_path(name_or_path));
  SILICA_ASSIGN_OR_RETURN(Store store, Store::open(Store::default_root()));
  auto m = store.resolve(name_or_path);
  if (!m) {  // a folder path (safetensors) resolved by resolve_model_path: no layers
    ModelLayers bare;
    bare.model_path = path;
    return bare;
  }
  return read_model_layers(store, *m);
}

}  // namespace silica

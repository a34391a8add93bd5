// Lookup in the embedded web UI table (the table itself is generated at build time).
#include "server/webui_assets.h"

namespace silica {

const WebAsset* find_web_asset(std::string_view path) {
  if (path.empty()) path = "index.html";
  for (size_t i = 0; i < kWebAssetCount; ++i)
    if (path == kWebAssets[i].path) return &kWebAssets[i];
  return nullptr;
}

}  // namespace silica

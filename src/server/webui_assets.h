// The web UI's files (webui/dist), embedded at build time by cmake/embed_assets.cmake.
#pragma once

#include <cstddef>
#include <string_view>

namespace silica {

struct WebAsset {
  const char* path;          // relative to /ui/, e.g. "index.html", "app.js"
  const char* content_type;  // e.g. "text/html; charset=utf-8"
  const unsigned char* data;
  size_t size;
};

// Defined in the generated webui_assets_data.cc.
extern const WebAsset kWebAssets[];
extern const size_t kWebAssetCount;
// false: node was missing at build time and the only asset is a page saying how to build the UI.
extern const bool kWebUiBuilt;

// The asset at `path` (no leading slash; "" means index.html), or nullptr.
const WebAsset* find_web_asset(std::string_view path);

}  // namespace silica

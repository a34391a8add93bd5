// Manifest JSON reading and writing with nlohmann::json, validating every digest.
#include "store/manifest.h"

#include <nlohmann/json.hpp>

namespace silica {
namespace {

using nlohmann::ordered_json;

Expected<ManifestLayer> parse_layer(const ordered_json& j, std::string_view where,
                                    std::string_view what) {
  if (!j.is_object()) return make_error("manifest {}: {} is not an object", where, what);
  ManifestLayer l;
  auto mt = j.find("mediaType");
  auto dg = j.find("digest");
  auto sz = j.find("size");
  if (mt == j.end() || !mt->is_string())
    return make_error("manifest {}: {} has no string mediaType", where, what);
  if (dg == j.end() || !dg->is_string())
    return make_error("manifest {}: {} has no string digest", where, what);
  if (sz == j.end() || !sz->is_number_integer() || sz->get<int64_t>() < 0)
    return make_error("manifest {}: {} has no non-negative integer size", where, what);
  l.media_type = mt->get<std::string>();
  l.digest = dg->get<std::string>();
  l.size = sz->get<int64_t>();
  if (!is_valid_digest(l.digest))
    return make_error("manifest {}: {} digest '{}' is not sha256:<64 lowercase hex>", where, what,
                      l.digest);
  if (auto an = j.find("annotations"); an != j.end() && an->is_object()) {
    auto title = an->find(kAnnotationTitle);
    if (title != an->end()) {
      l.file_name = title->is_string() ? title->get<std::string>() : "";
      // The name becomes a path inside a folder view: it must not leave that folder.
      const auto& f = l.file_name;
      if (f.empty() || f == "." || f == ".." ||
          f.find_first_of(std::string("/\\\0", 3)) != std::string::npos)
        return make_error("manifest {}: {} file name {} is not a plain file name", where, what,
                          title->dump());
    }
  }
  return l;
}

ordered_json layer_json(const ManifestLayer& l) {
  ordered_json j{{"mediaType", l.media_type}, {"digest", l.digest}, {"size", l.size}};
  if (!l.file_name.empty()) j["annotations"] = {{kAnnotationTitle, l.file_name}};
  return j;
}

}  // namespace

const ManifestLayer* Manifest::find(std::string_view type) const {
  for (const auto& l : layers) {
    if (l.media_type == type) return &l;
  }
  return nullptr;
}

int64_t Manifest::total_size() const {
  int64_t n = config.size;
  for (const auto& l : layers) n += l.size;
  return n;
}

bool is_valid_digest(std::string_view d) {
  if (d.size() != 7 + 64 || d.substr(0, 7) != "sha256:") return false;
  for (char c : d.substr(7)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Expected<Manifest> parse_manifest(std::string_view json, std::string_view where) {
  ordered_json j = ordered_json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return make_error("manifest {}: not a JSON object", where);
  Manifest m;
  auto sv = j.find("schemaVersion");
  if (sv == j.end() || !sv->is_number_integer() || sv->get<int>() != 2)
    return make_error("manifest {}: schemaVersion must be 2", where);
  if (auto mt = j.find("mediaType"); mt != j.end() && mt->is_string())
    m.media_type = mt->get<std::string>();
  auto cfg = j.find("config");
  if (cfg == j.end()) return make_error("manifest {}: no config", where);
  SILICA_ASSIGN_OR_RETURN(m.config, parse_layer(*cfg, where, "config"));
  auto layers = j.find("layers");
  if (layers == j.end() || !layers->is_array())
    return make_error("manifest {}: no layers array", where);
  for (size_t i = 0; i < layers->size(); ++i) {
    SILICA_ASSIGN_OR_RETURN(auto l, parse_layer((*layers)[i], where, fmt::format("layer {}", i)));
    m.layers.push_back(std::move(l));
  }
  return m;
}

std::string serialize_manifest(const Manifest& m) {
  ordered_json layers = ordered_json::array();
  for (const auto& l : m.layers) layers.push_back(layer_json(l));
  ordered_json j{{"schemaVersion", m.schema_version},
                 {"mediaType", m.media_type},
                 {"config", layer_json(m.config)},
                 {"layers", layers}};
  return j.dump();
}

}  // namespace silica

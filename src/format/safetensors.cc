// safetensors reading (header JSON validated entry by entry) and atomic writing.
#include "format/safetensors.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace silica {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The format's own limit on the header (the reference implementation refuses larger ones).
constexpr uint64_t kMaxHeaderBytes = 100u << 20;
constexpr size_t kLengthBytes = 8;

struct DtypeEntry {
  StDtype type;
  const char* name;
  size_t size;
};
constexpr DtypeEntry kDtypes[] = {
    {StDtype::kF64, "F64", 8},   {StDtype::kF32, "F32", 4}, {StDtype::kF16, "F16", 2},
    {StDtype::kBF16, "BF16", 2}, {StDtype::kI64, "I64", 8}, {StDtype::kI32, "I32", 4},
    {StDtype::kU32, "U32", 4},   {StDtype::kI8, "I8", 1},   {StDtype::kU8, "U8", 1},
};

uint64_t read_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// An offset from the header: a non-negative integer that fits in size_t.
std::optional<size_t> as_offset(const json& j) {
  if (j.is_number_unsigned()) return size_t(j.get<uint64_t>());
  if (j.is_number_integer() && j.get<int64_t>() >= 0) return size_t(j.get<int64_t>());
  return std::nullopt;
}

Expected<StTensorInfo> parse_entry(const std::string& path, const std::string& name, const json& e,
                                   uint64_t data_size) {
  StTensorInfo t;
  t.name = name;
  if (!e.is_object())
    return make_error("{}: tensor '{}': expected an object with dtype/shape/data_offsets", path,
                      name);
  auto dt = e.find("dtype");
  if (dt == e.end() || !dt->is_string())
    return make_error("{}: tensor '{}': no string \"dtype\"", path, name);
  auto type = st_dtype_from_name(dt->get<std::string>());
  if (!type)
    return make_error(
        "{}: tensor '{}': dtype '{}' is not supported (expected one of F64 F32 F16 "
        "BF16 I64 I32 U32 I8 U8)",
        path, name, dt->get<std::string>());
  t.dtype = *type;
  auto sh = e.find("shape");
  if (sh == e.end() || !sh->is_array())
    return make_error("{}: tensor '{}': no \"shape\" array", path, name);
  unsigned __int128 n = 1;  // wide: a hostile shape must not wrap around
  for (const json& d : *sh) {
    auto v = as_offset(d);
    if (!v)
      return make_error("{}: tensor '{}': shape {} has a non-integer or negative dimension", path,
                        name, sh->dump());
    t.shape.push_back(int64_t(*v));
    n *= *v;
    if (n > data_size) n = data_size + 1;  // already too large: keep it bounded
  }
  auto off = e.find("data_offsets");
  if (off == e.end() || !off->is_array() || off->size() != 2 || !as_offset((*off)[0]) ||
      !as_offset((*off)[1]))
    return make_error("{}: tensor '{}': \"data_offsets\" must be [begin, end] integers", path,
                      name);
  t.begin = *as_offset((*off)[0]);
  t.end = *as_offset((*off)[1]);
  if (t.begin > t.end || t.end > data_size)
    return make_error("{}: tensor '{}': data_offsets [{}, {}] outside the data section of {} bytes",
                      path, name, t.begin, t.end, data_size);
  const unsigned __int128 want = n * st_dtype_size(t.dtype);
  if (want != t.nbytes())
    return make_error("{}: tensor '{}': shape {} of {} needs {} bytes but data_offsets span {}",
                      path, name, sh->dump(), st_dtype_name(t.dtype), uint64_t(want), t.nbytes());
  return t;
}

}  // namespace

const char* st_dtype_name(StDtype t) {
  for (const auto& d : kDtypes)
    if (d.type == t) return d.name;
  return "?";
}

std::optional<StDtype> st_dtype_from_name(std::string_view name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return d.type;
  return std::nullopt;
}

size_t st_dtype_size(StDtype t) {
  for (const auto& d : kDtypes)
    if (d.type == t) return d.size;
  return 0;
}

int64_t StTensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Expected<SafetensorsFile> SafetensorsFile::parse(const std::string& path, std::string_view header,
                                                 uint64_t data_size) {
  json j = json::parse(header, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return make_error("{}: the safetensors header is not a JSON object", path);
  SafetensorsFile f;
  f.path_ = path;
  for (const auto& [key, value] : j.items()) {
    if (key == "__metadata__") {
      if (!value.is_object())
        return make_error("{}: __metadata__ must be an object of strings", path);
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string())
          return make_error("{}: __metadata__ key '{}' is not a string", path, mk);
        f.metadata_[mk] = mv.get<std::string>();
      }
      continue;
    }
    SILICA_ASSIGN_OR_RETURN(StTensorInfo t, parse_entry(path, key, value, data_size));
    f.tensors_.push_back(std::move(t));
  }
  std::sort(f.tensors_.begin(), f.tensors_.end(), [](const StTensorInfo& a, const StTensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  // Spans must tile the data section: no overlap (two tensors sharing bytes), no holes.
  size_t at = 0;
  const StTensorInfo* prev = nullptr;
  for (const StTensorInfo& t : f.tensors_) {
    if (t.begin < at)
      return make_error("{}: tensor '{}' [{}, {}] overlaps tensor '{}' [{}, {}]", path, t.name,
                        t.begin, t.end, prev->name, prev->begin, prev->end);
    if (t.begin > at)
      return make_error("{}: tensor '{}' starts at {} but the previous tensor ends at {} (a gap)",
                        path, t.name, t.begin, at);
    at = t.end;
    prev = &t;
  }
  if (at != data_size)
    return make_error("{}: the tensors cover {} bytes but the data section has {}", path, at,
                      data_size);
  return f;
}

Expected<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  SILICA_ASSIGN_OR_RETURN(MappedFile map, MappedFile::open(path));
  if (map.size() < kLengthBytes)
    return make_error("{}: {} bytes is too short for a safetensors file (8-byte header length)",
                      path, map.size());
  const uint64_t n = read_le64(map.data());
  if (n > kMaxHeaderBytes || n > map.size() - kLengthBytes)
    return make_error("{}: header length {} does not fit the file of {} bytes (limit {})", path, n,
                      map.size(), kMaxHeaderBytes);
  std::string_view header(reinterpret_cast<const char*>(map.data()) + kLengthBytes, size_t(n));
  const uint64_t data_size = map.size() - kLengthBytes - n;
  SILICA_ASSIGN_OR_RETURN(SafetensorsFile f, parse(path, header, data_size));
  f.data_start_ = kLengthBytes + size_t(n);
  f.map_ = std::move(map);
  return f;
}

Expected<SafetensorsFile> SafetensorsFile::open_header(const std::string& path) {
  std::error_code ec;
  const uint64_t size = fs::file_size(path, ec);
  if (ec) return make_error("{}: cannot read its size: {}", path, ec.message());
  std::ifstream in(path, std::ios::binary);
  uint8_t len[kLengthBytes];
  if (!in || size < kLengthBytes || !in.read(reinterpret_cast<char*>(len), kLengthBytes))
    return make_error("{}: {} bytes is too short for a safetensors file (8-byte header length)",
                      path, size);
  const uint64_t n = read_le64(len);
  if (n > kMaxHeaderBytes || n > size - kLengthBytes)
    return make_error("{}: header length {} does not fit the file of {} bytes (limit {})", path, n,
                      size, kMaxHeaderBytes);
  std::string header(size_t(n), '\0');
  if (!in.read(header.data(), std::streamsize(n)))
    return make_error("{}: cannot read the {}-byte header", path, n);
  return parse(path, header, size - kLengthBytes - n);
}

const StTensorInfo* SafetensorsFile::find(std::string_view name) const {
  for (const StTensorInfo& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

const uint8_t* SafetensorsFile::data(const StTensorInfo& t) const {
  return map_.data() ? map_.data() + data_start_ + t.begin : nullptr;
}

Status write_safetensors(const std::string& path, const std::vector<StWriteTensor>& tensors,
                         const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  size_t at = 0;
  for (const StWriteTensor& t : tensors) {
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    const size_t want = size_t(n) * st_dtype_size(t.dtype);
    if (n < 0 || want != t.bytes.size())
      return make_error("{}: tensor '{}': {} bytes given, its shape and dtype need {}", path,
                        t.name, t.bytes.size(), want);
    header[t.name] = {
        {"dtype", st_dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {at, at + want}}};
    at += want;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data section starts 8-byte aligned
  const std::string temp = path + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    uint8_t len[kLengthBytes];
    for (size_t i = 0; i < kLengthBytes; ++i) len[i] = uint8_t(uint64_t(text.size()) >> (8 * i));
    out.write(reinterpret_cast<const char*>(len), kLengthBytes);
    out.write(text.data(), std::streamsize(text.size()));
    for (const StWriteTensor& t : tensors)
      out.write(t.bytes.data(), std::streamsize(t.bytes.size()));
    if (!out.flush()) {
      std::remove(temp.c_str());
      return make_error("cannot write {}: {}", temp, std::strerror(errno));
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    std::remove(temp.c_str());
    return make_error("cannot rename {} to {}: {}", temp, path, std::strerror(errno));
  }
  return {};
}

}  // namespace silica

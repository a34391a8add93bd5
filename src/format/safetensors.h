// safetensors files: a validating, zero-copy reader over an mmap and a writer for tests and tools.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/mapped_file.h"
#include "base/status.h"

namespace silica {

// The dtypes silica accepts (the strings in the header's "dtype" field).
enum class StDtype : uint8_t { kF64, kF32, kF16, kBF16, kI64, kI32, kU32, kI8, kU8 };

// "F32", "BF16", ... as written in the header.
const char* st_dtype_name(StDtype t);
// The dtype for a header string; nullopt for anything silica does not know (F8_E4M3, BOOL, ...).
std::optional<StDtype> st_dtype_from_name(std::string_view name);
size_t st_dtype_size(StDtype t);

struct StTensorInfo {
  std::string name;
  StDtype dtype = StDtype::kF32;
  std::vector<int64_t> shape;  // outermost first, as in the file (row-major)
  size_t begin = 0;            // byte offsets into the data section (after the header)
  size_t end = 0;

  int64_t n_elements() const;  // 1 for a scalar (empty shape)
  size_t nbytes() const { return end - begin; }
};

// An open safetensors file. Every tensor's dtype, shape and byte span is checked at open:
// offsets inside the data section, spans non-overlapping, shape product * dtype size == span.
class SafetensorsFile {
 public:
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;
  SafetensorsFile(SafetensorsFile&&) = default;
  SafetensorsFile& operator=(SafetensorsFile&&) = default;

  static Expected<SafetensorsFile> open(const std::string& path);
  // Only the header: no mmap of the data (for listing parameter counts of large folders).
  static Expected<SafetensorsFile> open_header(const std::string& path);

  const std::string& path() const { return path_; }
  const std::vector<StTensorInfo>& tensors() const { return tensors_; }  // sorted by begin
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const StTensorInfo* find(std::string_view name) const;
  // The tensor's bytes (valid while the file lives); empty span for a header-only open.
  const uint8_t* data(const StTensorInfo& t) const;
  const MappedFile& mapping() const { return map_; }  // empty for a header-only open

 private:
  SafetensorsFile() = default;
  static Expected<SafetensorsFile> parse(const std::string& path, std::string_view header,
                                         uint64_t data_size);
  std::string path_;
  MappedFile map_;
  size_t data_start_ = 0;  // 8 + header length
  std::vector<StTensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

// A tensor to write: its bytes must be exactly shape product * dtype size.
struct StWriteTensor {
  std::string name;
  StDtype dtype = StDtype::kF32;
  std::vector<int64_t> shape;
  std::string_view bytes;
};

// Writes a safetensors file (header padded with spaces to 8 bytes, tensors in the given order)
// to a temp name and renames it into place.
Status write_safetensors(const std::string& path, const std::vector<StWriteTensor>& tensors,
                         const std::map<std::string, std::string>& metadata = {});

}  // namespace silica

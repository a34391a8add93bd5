// GGUF (v2/v3) files: a validating, zero-copy reader over an mmap and an atomic writer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/mapped_file.h"
#include "base/status.h"
#include "tensor/dtype.h"

namespace silica {

// Metadata value type ids, as stored in the file.
enum class GgufValueType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

// "u32", "string", ... for messages; "unknown" for an id outside the enum.
const char* gguf_type_name(GgufValueType t);
// Bytes of one scalar of type t in the file; 0 for kString / kArray / unknown ids.
size_t gguf_scalar_size(GgufValueType t);

struct GgufArrayData;

// One metadata value. Values read from a file borrow its mapping (strings and numeric arrays
// are views, so a 128k-entry vocabulary loads without copying): they stay valid while the
// GgufFile lives. Copies are cheap (arrays are shared); to_owned() detaches from the mapping.
class GgufValue {
 public:
  GgufValue() = default;  // u8 0

  static GgufValue from_u8(uint8_t v) { return scalar(GgufValueType::kU8, v); }
  static GgufValue from_i8(int8_t v) { return scalar(GgufValueType::kI8, v); }
  static GgufValue from_u16(uint16_t v) { return scalar(GgufValueType::kU16, v); }
  static GgufValue from_i16(int16_t v) { return scalar(GgufValueType::kI16, v); }
  static GgufValue from_u32(uint32_t v) { return scalar(GgufValueType::kU32, v); }
  static GgufValue from_i32(int32_t v) { return scalar(GgufValueType::kI32, v); }
  static GgufValue from_u64(uint64_t v) { return scalar(GgufValueType::kU64, v); }
  static GgufValue from_i64(int64_t v) { return scalar(GgufValueType::kI64, v); }
  static GgufValue from_f32(float v) { return scalar(GgufValueType::kF32, v); }
  static GgufValue from_f64(double v) { return scalar(GgufValueType::kF64, v); }
  static GgufValue from_bool(bool v) { return scalar(GgufValueType::kBool, uint8_t(v ? 1 : 0)); }
  static GgufValue from_string(std::string v);            // owns a copy
  static GgufValue from_string_view(std::string_view v);  // borrows: v must outlive the value
  // A numeric / bool array from packed little-endian elements of elem_type (copied).
  static GgufValue from_raw_array(GgufValueType elem_type, const void* data, size_t n);
  static GgufValue from_strings(std::vector<std::string> v);
  // An array of arrays; every element must be an array (GGUF nests arrays, not scalars here).
  static GgufValue from_arrays(std::vector<GgufValue> v);

  GgufValueType type() const { return type_; }
  bool is_array() const { return type_ == GgufValueType::kArray; }
  GgufValueType array_type() const;  // element type; kU8 when not an array
  size_t array_size() const;         // 0 when not an array
  // Element i of an array (a scalar, string or nested array), by value: cheap to copy.
  // Requires is_array() and i < array_size().
  GgufValue at(size_t i) const;
  // Packed little-endian elements of a numeric / bool array; nullptr otherwise.
  const void* array_data() const;
  // Element i of a string array, without building a GgufValue; empty if not a string array.
  std::string_view string_at(size_t i) const;

  std::optional<int64_t> as_int() const;   // any integer type or bool; u64 > INT64_MAX -> nullopt
  std::optional<double> as_float() const;  // f32 / f64 and integers
  std::optional<std::string_view> as_string() const;
  std::optional<bool> as_bool() const;

  // The raw little-endian bits of a scalar (zero-extended), e.g. to re-encode it exactly.
  uint64_t scalar_bits() const { return bits_; }

  // Deep copy that no longer refers to a file mapping.
  GgufValue to_owned() const;

  // Decoding needs these; they build values that borrow file memory.
  static GgufValue from_array_data(std::shared_ptr<const GgufArrayData> a);
  static GgufValue from_bits(GgufValueType t, uint64_t bits);

 private:
  template <typename T>
  static GgufValue scalar(GgufValueType t, T v) {
    static_assert(sizeof(T) <= 8);
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof(T));  // little-endian host: the low bytes hold the value
    return from_bits(t, bits);
  }

  GgufValueType type_ = GgufValueType::kU8;
  uint64_t bits_ = 0;     // scalar payload, zero-extended raw bits
  std::string_view str_;  // kString: into the mapping or into owned_str_
  std::shared_ptr<const std::string> owned_str_;
  std::shared_ptr<const GgufArrayData> arr_;  // kArray
};

// The payload of an array value. Exactly one of raw / strings / nested is used.
struct GgufArrayData {
  GgufValueType elem_type = GgufValueType::kU8;
  size_t size = 0;
  const uint8_t* raw = nullptr;            // numeric / bool: size * scalar_size bytes
  std::vector<std::string_view> strings;   // kString elements
  std::vector<GgufValue> nested;           // kArray elements
  std::vector<uint8_t> owned_raw;          // storage when not borrowed from a mapping
  std::vector<std::string> owned_strings;  // storage behind `strings` when owned
};

struct GgufTensorInfo {
  std::string name;
  DType type = DType::kF32;
  std::vector<int64_t> ne;  // [ne0, ne1, ...], ne[0] varies fastest
  uint64_t offset = 0;      // from the start of the data section
  size_t nbytes = 0;
  const uint8_t* data = nullptr;  // into the mapping
  int64_t n_elements() const;
};

class GgufFile {
 public:
  GgufFile() = default;
  GgufFile(GgufFile&&) noexcept = default;
  GgufFile& operator=(GgufFile&&) noexcept = default;
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  // Maps and validates the whole header; tensor data is not read.
  static Expected<GgufFile> open(const std::string& path);

  const std::string& path() const { return mapping_.path(); }
  uint32_t version() const { return version_; }
  size_t alignment() const { return alignment_; }
  size_t data_offset() const { return data_offset_; }  // file offset of the data section

  const GgufValue* find(std::string_view key) const;
  // std::nullopt when the key is absent or has another type.
  std::optional<int64_t> get_int(std::string_view key) const;
  std::optional<double> get_float(std::string_view key) const;
  std::optional<std::string> get_string(std::string_view key) const;
  std::optional<bool> get_bool(std::string_view key) const;
  // Empty when the key is absent or not an array of the right kind.
  std::vector<std::string_view> get_string_array(std::string_view key) const;
  std::vector<float> get_float_array(std::string_view key) const;  // float or integer elements
  std::vector<int64_t> get_int_array(std::string_view key) const;  // integer / bool elements

  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;
  const MappedFile& mapping() const { return mapping_; }

 private:
  friend class GgufParser;
  MappedFile mapping_;
  uint32_t version_ = 0;
  size_t alignment_ = 32;
  size_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::map<std::string, size_t, std::less<>> kv_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
};

constexpr size_t kGgufDefaultAlignment = 32;

// Builds a GGUF v3 file. Keys keep their first insertion position; setting a key again replaces
// its value. The data section alignment is general.alignment when set, else 32.
class GgufWriter {
 public:
  void set_u8(std::string key, uint8_t v) { set_value(std::move(key), GgufValue::from_u8(v)); }
  void set_i8(std::string key, int8_t v) { set_value(std::move(key), GgufValue::from_i8(v)); }
  void set_u16(std::string key, uint16_t v) { set_value(std::move(key), GgufValue::from_u16(v)); }
  void set_i16(std::string key, int16_t v) { set_value(std::move(key), GgufValue::from_i16(v)); }
  void set_u32(std::string key, uint32_t v) { set_value(std::move(key), GgufValue::from_u32(v)); }
  void set_i32(std::string key, int32_t v) { set_value(std::move(key), GgufValue::from_i32(v)); }
  void set_u64(std::string key, uint64_t v) { set_value(std::move(key), GgufValue::from_u64(v)); }
  void set_i64(std::string key, int64_t v) { set_value(std::move(key), GgufValue::from_i64(v)); }
  void set_f32(std::string key, float v) { set_value(std::move(key), GgufValue::from_f32(v)); }
  void set_f64(std::string key, double v) { set_value(std::move(key), GgufValue::from_f64(v)); }
  void set_bool(std::string key, bool v) { set_value(std::move(key), GgufValue::from_bool(v)); }
  void set_string(std::string key, std::string v);
  void set_array_strings(std::string key, std::vector<std::string> v);
  void set_array_u8(std::string key, const std::vector<uint8_t>& v);
  void set_array_i32(std::string key, const std::vector<int32_t>& v);
  void set_array_u32(std::string key, const std::vector<uint32_t>& v);
  void set_array_i64(std::string key, const std::vector<int64_t>& v);
  void set_array_f32(std::string key, const std::vector<float>& v);
  // Any value, e.g. one read from another file: it is deep-copied, so the source may close.
  void set_value(std::string key, const GgufValue& v);
  bool remove(std::string_view key);

  // data holds the tensor in its type's layout; write() checks its size against type and ne.
  void add_tensor(std::string name, DType type, std::vector<int64_t> ne, std::vector<uint8_t> data);

  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  size_t n_tensors() const { return tensors_.size(); }

  // Writes to a temporary file next to `path`, then renames it into place. On any error (invalid
  // tensor, full disk, ...) returns an Error naming the path and leaves no file behind.
  Status write(const std::string& path) const;

 private:
  struct Tensor {
    std::string name;
    DType type;
    std::vector<int64_t> ne;
    std::vector<uint8_t> data;
  };
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<Tensor> tensors_;
};

}  // namespace silica

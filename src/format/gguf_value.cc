// GGUF metadata values: typed access, array element views, and the GgufFile lookup helpers.
#include <cstring>
#include <limits>

#include "format/gguf.h"

namespace silica {

const char* gguf_type_name(GgufValueType t) {
  switch (t) {
    case GgufValueType::kU8:
      return "u8";
    case GgufValueType::kI8:
      return "i8";
    case GgufValueType::kU16:
      return "u16";
    case GgufValueType::kI16:
      return "i16";
    case GgufValueType::kU32:
      return "u32";
    case GgufValueType::kI32:
      return "i32";
    case GgufValueType::kF32:
      return "f32";
    case GgufValueType::kBool:
      return "bool";
    case GgufValueType::kString:
      return "string";
    case GgufValueType::kArray:
      return "array";
    case GgufValueType::kU64:
      return "u64";
    case GgufValueType::kI64:
      return "i64";
    case GgufValueType::kF64:
      return "f64";
  }
  return "unknown";
}

size_t gguf_scalar_size(GgufValueType t) {
  switch (t) {
    case GgufValueType::kU8:
    case GgufValueType::kI8:
    case GgufValueType::kBool:
      return 1;
    case GgufValueType::kU16:
    case GgufValueType::kI16:
      return 2;
    case GgufValueType::kU32:
    case GgufValueType::kI32:
    case GgufValueType::kF32:
      return 4;
    case GgufValueType::kU64:
    case GgufValueType::kI64:
    case GgufValueType::kF64:
      return 8;
    default:
      return 0;
  }
}

GgufValue GgufValue::from_bits(GgufValueType t, uint64_t bits) {
  GgufValue v;
  v.type_ = t;
  v.bits_ = bits;
  return v;
}

GgufValue GgufValue::from_string(std::string s) {
  GgufValue v;
  v.type_ = GgufValueType::kString;
  v.owned_str_ = std::make_shared<const std::string>(std::move(s));
  v.str_ = *v.owned_str_;
  return v;
}

GgufValue GgufValue::from_string_view(std::string_view s) {
  GgufValue v;
  v.type_ = GgufValueType::kString;
  v.str_ = s;
  return v;
}

GgufValue GgufValue::from_array_data(std::shared_ptr<const GgufArrayData> a) {
  GgufValue v;
  v.type_ = GgufValueType::kArray;
  v.arr_ = std::move(a);
  return v;
}

GgufValue GgufValue::from_raw_array(GgufValueType elem_type, const void* data, size_t n) {
  auto a = std::make_shared<GgufArrayData>();
  a->elem_type = elem_type;
  a->size = n;
  const auto* p = static_cast<const uint8_t*>(data);
  a->owned_raw.assign(p, p + n * gguf_scalar_size(elem_type));
  a->raw = a->owned_raw.data();
  return from_array_data(std::move(a));
}

GgufValue GgufValue::from_strings(std::vector<std::string> v) {
  auto a = std::make_shared<GgufArrayData>();
  a->elem_type = GgufValueType::kString;
  a->size = v.size();
  a->owned_strings = std::move(v);
  // Views are taken after the vector is final: its strings no longer move.
  a->strings.assign(a->owned_strings.begin(), a->owned_strings.end());
  return from_array_data(std::move(a));
}

GgufValue GgufValue::from_arrays(std::vector<GgufValue> v) {
  auto a = std::make_shared<GgufArrayData>();
  a->elem_type = GgufValueType::kArray;
  a->size = v.size();
  a->nested = std::move(v);
  return from_array_data(std::move(a));
}

GgufValueType GgufValue::array_type() const {
  return arr_ ? arr_->elem_type : GgufValueType::kU8;
}

size_t GgufValue::array_size() const {
  return arr_ ? arr_->size : 0;
}

const void* GgufValue::array_data() const {
  return arr_ ? arr_->raw : nullptr;
}

std::string_view GgufValue::string_at(size_t i) const {
  if (!arr_ || arr_->elem_type != GgufValueType::kString || i >= arr_->strings.size()) return {};
  return arr_->strings[i];
}

GgufValue GgufValue::at(size_t i) const {
  if (!arr_ || i >= arr_->size) return GgufValue();
  switch (arr_->elem_type) {
    case GgufValueType::kString:
      return from_string_view(arr_->strings[i]);
    case GgufValueType::kArray:
      return arr_->nested[i];
    default: {
      const size_t es = gguf_scalar_size(arr_->elem_type);
      uint64_t bits = 0;
      std::memcpy(&bits, arr_->raw + i * es, es);
      return from_bits(arr_->elem_type, bits);
    }
  }
}

namespace {

template <typename T>
T bits_as(uint64_t bits) {
  T v;
  std::memcpy(&v, &bits, sizeof(T));
  return v;
}

}  // namespace

std::optional<int64_t> GgufValue::as_int() const {
  switch (type_) {
    case GgufValueType::kU8:
      return int64_t(bits_as<uint8_t>(bits_));
    case GgufValueType::kI8:
      return int64_t(bits_as<int8_t>(bits_));
    case GgufValueType::kU16:
      return int64_t(bits_as<uint16_t>(bits_));
    case GgufValueType::kI16:
      return int64_t(bits_as<int16_t>(bits_));
    case GgufValueType::kU32:
      return int64_t(bits_as<uint32_t>(bits_));
    case GgufValueType::kI32:
      return int64_t(bits_as<int32_t>(bits_));
    case GgufValueType::kI64:
      return bits_as<int64_t>(bits_);
    case GgufValueType::kBool:
      return int64_t((bits_ & 0xff) != 0);
    case GgufValueType::kU64:
      if (bits_ > uint64_t(std::numeric_limits<int64_t>::max())) return std::nullopt;
      return int64_t(bits_);
    default:
      return std::nullopt;
  }
}

std::optional<double> GgufValue::as_float() const {
  if (type_ == GgufValueType::kF32) return double(bits_as<float>(bits_));
  if (type_ == GgufValueType::kF64) return bits_as<double>(bits_);
  if (type_ == GgufValueType::kU64) return double(bits_);
  if (type_ == GgufValueType::kBool) return std::nullopt;
  if (auto i = as_int()) return double(*i);
  return std::nullopt;
}

std::optional<std::string_view> GgufValue::as_string() const {
  if (type_ != GgufValueType::kString) return std::nullopt;
  return str_;
}

std::optional<bool> GgufValue::as_bool() const {
  if (type_ != GgufValueType::kBool) return std::nullopt;
  return (bits_ & 0xff) != 0;
}

GgufValue GgufValue::to_owned() const {
  if (type_ == GgufValueType::kString) return from_string(std::string(str_));
  if (type_ != GgufValueType::kArray) return *this;
  switch (arr_->elem_type) {
    case GgufValueType::kString:
      return from_strings(std::vector<std::string>(arr_->strings.begin(), arr_->strings.end()));
    case GgufValueType::kArray: {
      std::vector<GgufValue> nested;
      nested.reserve(arr_->size);
      for (const GgufValue& e : arr_->nested) nested.push_back(e.to_owned());
      return from_arrays(std::move(nested));
    }
    default:
      return from_raw_array(arr_->elem_type, arr_->raw, arr_->size);
  }
}

int64_t GgufTensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;  // the reader rejected products that overflow
  return n;
}

// ---- GgufFile lookups ----

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::optional<int64_t> GgufFile::get_int(std::string_view key) const {
  const GgufValue* v = find(key);
  return v ? v->as_int() : std::nullopt;
}

std::optional<double> GgufFile::get_float(std::string_view key) const {
  const GgufValue* v = find(key);
  return v ? v->as_float() : std::nullopt;
}

std::optional<std::string> GgufFile::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  auto s = v->as_string();
  return s ? std::optional<std::string>(std::string(*s)) : std::nullopt;
}

std::optional<bool> GgufFile::get_bool(std::string_view key) const {
  const GgufValue* v = find(key);
  return v ? v->as_bool() : std::nullopt;
}

std::vector<std::string_view> GgufFile::get_string_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v || !v->is_array() || v->array_type() != GgufValueType::kString) return {};
  std::vector<std::string_view> out(v->array_size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = v->string_at(i);
  return out;
}

std::vector<float> GgufFile::get_float_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v || !v->is_array()) return {};
  const size_t n = v->array_size();
  std::vector<float> out(n);
  if (v->array_type() == GgufValueType::kF32) {  // the common case: one copy
    if (n > 0) std::memcpy(out.data(), v->array_data(), n * sizeof(float));
    return out;
  }
  for (size_t i = 0; i < n; ++i) {
    auto f = v->at(i).as_float();
    if (!f) return {};
    out[i] = float(*f);
  }
  return out;
}

std::vector<int64_t> GgufFile::get_int_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v || !v->is_array()) return {};
  std::vector<int64_t> out(v->array_size());
  for (size_t i = 0; i < out.size(); ++i) {
    auto x = v->at(i).as_int();
    if (!x) return {};
    out[i] = *x;
  }
  return out;
}

}  // namespace silica

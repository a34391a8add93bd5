// GGUF reader: validates every count, length and offset against the mapped file before use.
#include <bit>
#include <cstring>
#include <limits>

#include <fmt/ranges.h>

#include "format/gguf.h"

namespace silica {
namespace {

constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr int kMaxArrayDepth = 8;            // nested arrays deeper than this are not real files
constexpr int kMaxDims = 4;
// Smallest possible encodings, used to reject counts that cannot fit before allocating.
constexpr size_t kMinKvBytes = 8 + 4 + 1;              // key length, value type, one-byte value
constexpr size_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;  // name length, n_dims, type, offset
constexpr size_t kMinArrayBytes = 4 + 8;               // element type, count
constexpr size_t kMinStringBytes = 8;                  // length

std::string printable_magic(const uint8_t* p, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    const char c = char(p[i]);
    s += (c >= 0x20 && c < 0x7f) ? std::string(1, c) : fmt::format("\\x{:02x}", p[i]);
  }
  return s;
}

}  // namespace

// Walks the header with a bounds-checked cursor; every error names the file and the item.
class GgufParser {
 public:
  explicit GgufParser(GgufFile& f)
      : f_(f), path_(f.mapping_.path()), p_(f.mapping_.data()), size_(f.mapping_.size()) {}

  Status parse() {
    SILICA_RETURN_IF_ERROR(parse_preamble());
    for (uint64_t i = 0; i < n_kv_; ++i) SILICA_RETURN_IF_ERROR(parse_kv(i));
    SILICA_RETURN_IF_ERROR(parse_alignment());
    f_.tensors_.reserve(size_t(n_tensors_));
    for (uint64_t i = 0; i < n_tensors_; ++i) SILICA_RETURN_IF_ERROR(parse_tensor_info(i));
    return place_tensors();
  }

 private:
  size_t remaining() const { return size_ - pos_; }

  Error truncated(std::string_view what, size_t need) const {
    return make_error(
        "{}: {} needs {} bytes at offset {} but the file ends at {} bytes: the file is "
        "truncated; download it again",
        path_, what, need, pos_, size_);
  }

  template <typename T>
  Status read(T& out, std::string_view what) {
    if (remaining() < sizeof(T)) return truncated(what, sizeof(T));
    std::memcpy(&out, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return {};
  }

  Status read_string(std::string_view& out, std::string_view what) {
    uint64_t len = 0;
    SILICA_RETURN_IF_ERROR(read(len, what));
    if (len > remaining())
      return make_error(
          "{}: {} has length {} at offset {} but only {} bytes remain in the file: the file is "
          "truncated or damaged",
          path_, what, len, pos_ - 8, remaining());
    out = std::string_view(reinterpret_cast<const char*>(p_ + pos_), size_t(len));
    pos_ += size_t(len);
    return {};
  }

  Status parse_preamble() {
    if (size_ < 4 || std::memcmp(p_, "GGUF", 4) != 0)
      return make_error("{}: not a GGUF file: expected magic 'GGUF', found '{}'", path_,
                        printable_magic(p_, std::min<size_t>(size_, 4)));
    uint32_t magic = 0;
    SILICA_RETURN_IF_ERROR(read(magic, "magic"));
    SILICA_RETURN_IF_ERROR(read(f_.version_, "version"));
    if (f_.version_ == 1)
      return make_error(
          "{}: GGUF version 1 is not supported (expected version 2 or 3); convert the model "
          "again with a current llama.cpp",
          path_);
    if (f_.version_ != 2 && f_.version_ != 3)
      return make_error("{}: unsupported GGUF version {} (expected version 2 or 3)", path_,
                        f_.version_);
    SILICA_RETURN_IF_ERROR(read(n_tensors_, "tensor count"));
    SILICA_RETURN_IF_ERROR(read(n_kv_, "metadata key/value count"));
    // Reject counts that cannot fit before reserving anything.
    if (n_kv_ > remaining() / kMinKvBytes)
      return make_error(
          "{}: metadata key/value count {} cannot fit in the remaining {} bytes (each needs at "
          "least {}): the header is damaged",
          path_, n_kv_, remaining(), kMinKvBytes);
    if (n_tensors_ > remaining() / kMinTensorInfoBytes)
      return make_error(
          "{}: tensor count {} cannot fit in the remaining {} bytes (each tensor header needs "
          "at least {}): the header is damaged",
          path_, n_tensors_, remaining(), kMinTensorInfoBytes);
    return {};
  }

  Status parse_kv(uint64_t i) {
    std::string_view key;
    SILICA_RETURN_IF_ERROR(read_string(key, fmt::format("metadata key #{}", i)));
    const std::string ctx = fmt::format("metadata key '{}'", key);
    if (f_.kv_index_.count(key))
      return make_error("{}: duplicate metadata key '{}' (found again as entry #{})", path_, key,
                        i);
    uint32_t type = 0;
    SILICA_RETURN_IF_ERROR(read(type, ctx + " value type"));
    GgufValue v;
    SILICA_RETURN_IF_ERROR(parse_value(type, 0, ctx, v));
    f_.kv_index_.emplace(std::string(key), f_.kv_.size());
    f_.kv_.emplace_back(std::string(key), std::move(v));
    return {};
  }

  Status check_type(uint32_t type, const std::string& ctx) const {
    if (type > uint32_t(GgufValueType::kF64))
      return make_error("{}: {} has unknown value type {} (expected 0..12)", path_, ctx, type);
    return {};
  }

  Status parse_value(uint32_t type_id, int depth, const std::string& ctx, GgufValue& out) {
    SILICA_RETURN_IF_ERROR(check_type(type_id, ctx));
    const auto type = GgufValueType(type_id);
    if (type == GgufValueType::kString) {
      std::string_view s;
      SILICA_RETURN_IF_ERROR(read_string(s, ctx));
      out = GgufValue::from_string_view(s);
      return {};
    }
    if (type == GgufValueType::kArray) return parse_array(depth, ctx, out);
    const size_t es = gguf_scalar_size(type);
    if (remaining() < es) return truncated(ctx, es);
    uint64_t bits = 0;
    std::memcpy(&bits, p_ + pos_, es);
    pos_ += es;
    out = GgufValue::from_bits(type, bits);
    return {};
  }

  Status parse_array(int depth, const std::string& ctx, GgufValue& out) {
    if (depth >= kMaxArrayDepth)
      return make_error("{}: {} nests arrays deeper than {} levels", path_, ctx, kMaxArrayDepth);
    uint32_t elem_id = 0;
    uint64_t n = 0;
    SILICA_RETURN_IF_ERROR(read(elem_id, ctx + " array element type"));
    SILICA_RETURN_IF_ERROR(check_type(elem_id, ctx + " array element"));
    SILICA_RETURN_IF_ERROR(read(n, ctx + " array length"));
    auto a = std::make_shared<GgufArrayData>();
    a->elem_type = GgufValueType(elem_id);
    const size_t es = gguf_scalar_size(a->elem_type);
    const size_t min_elem =
        es ? es : (a->elem_type == GgufValueType::kString ? kMinStringBytes : kMinArrayBytes);
    if (n > remaining() / min_elem)
      return make_error(
          "{}: {} is an array of {} {} elements (at least {} bytes each) but only {} bytes "
          "remain in the file: the file is truncated or damaged",
          path_, ctx, n, gguf_type_name(a->elem_type), min_elem, remaining());
    a->size = size_t(n);
    if (es) {  // numeric: a view of the packed elements
      a->raw = p_ + pos_;
      pos_ += a->size * es;
    } else if (a->elem_type == GgufValueType::kString) {
      a->strings.resize(a->size);
      for (size_t j = 0; j < a->size; ++j) SILICA_RETURN_IF_ERROR(read_string(a->strings[j], ctx));
    } else {
      a->nested.resize(a->size);
      // Each element is a whole array value: its own element type, count and items.
      for (size_t j = 0; j < a->size; ++j)
        SILICA_RETURN_IF_ERROR(parse_array(depth + 1, ctx, a->nested[j]));
    }
    out = GgufValue::from_array_data(std::move(a));
    return {};
  }

  Status parse_alignment() {
    const GgufValue* v = f_.find("general.alignment");
    if (!v) return {};
    auto a = v->as_int();
    if (!a)
      return make_error("{}: general.alignment must be an integer, found a {}", path_,
                        gguf_type_name(v->type()));
    if (*a <= 0 || !std::has_single_bit(uint64_t(*a)))
      return make_error("{}: general.alignment must be a power of two, found {}", path_, *a);
    f_.alignment_ = size_t(*a);
    return {};
  }

  Status parse_tensor_info(uint64_t i) {
    GgufTensorInfo t;
    std::string_view name;
    SILICA_RETURN_IF_ERROR(read_string(name, fmt::format("tensor #{} name", i)));
    t.name = std::string(name);
    const std::string ctx = fmt::format("tensor '{}'", t.name);
    if (f_.tensor_index_.count(name))
      return make_error("{}: duplicate tensor name '{}' (found again as tensor #{})", path_, name,
                        i);
    uint32_t n_dims = 0;
    SILICA_RETURN_IF_ERROR(read(n_dims, ctx + " dimension count"));
    if (n_dims < 1 || n_dims > uint32_t(kMaxDims))
      return make_error("{}: {} has {} dimensions (expected 1 to {})", path_, ctx, n_dims,
                        kMaxDims);
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t dim = 0;
      SILICA_RETURN_IF_ERROR(read(dim, ctx + " shape"));
      if (dim > uint64_t(std::numeric_limits<int64_t>::max()))
        return make_error("{}: {} dimension {} is {} (expected a non-negative int64)", path_, ctx,
                          d, dim);
      t.ne.push_back(int64_t(dim));
    }
    uint32_t type_id = 0;
    SILICA_RETURN_IF_ERROR(read(type_id, ctx + " type"));
    SILICA_RETURN_IF_ERROR(read(t.offset, ctx + " data offset"));
    SILICA_RETURN_IF_ERROR(check_shape(t, type_id, ctx));
    f_.tensor_index_.emplace(t.name, f_.tensors_.size());
    f_.tensors_.push_back(std::move(t));
    return {};
  }

  Status check_shape(GgufTensorInfo& t, uint32_t type_id, const std::string& ctx) const {
    const DTypeTraits* tr = dtype_traits_from_id(type_id);
    if (!tr)
      return make_error("{}: {} has unknown or unsupported tensor type {}", path_, ctx, type_id);
    t.type = tr->type;
    int64_t n = 1;
    for (int64_t d : t.ne)
      if (__builtin_mul_overflow(n, d, &n))
        return make_error("{}: {} shape [{}] has more elements than fit in int64", path_, ctx,
                          fmt::join(t.ne, ", "));
    if (t.ne[0] % tr->block_size != 0)
      return make_error("{}: {} of type {} has row length {}, not a multiple of the block size {}",
                        path_, ctx, tr->name, t.ne[0], tr->block_size);
    // Bytes = blocks per row * block bytes * rows; n fits in int64, so blocks do too.
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(uint64_t(n / tr->block_size), uint64_t(tr->type_size), &nbytes) ||
        nbytes > uint64_t(std::numeric_limits<size_t>::max()))
      return make_error("{}: {} shape [{}] needs more bytes than fit in 64 bits", path_, ctx,
                        fmt::join(t.ne, ", "));
    t.nbytes = size_t(nbytes);
    return {};
  }

  Status place_tensors() {
    const uint64_t align = f_.alignment_;
    // The data section starts at the first aligned offset after the header.
    f_.data_offset_ = size_t((uint64_t(pos_) + align - 1) / align * align);
    const uint64_t data_start = f_.data_offset_;
    for (GgufTensorInfo& t : f_.tensors_) {
      if (t.offset % align != 0)
        return make_error("{}: tensor '{}' data offset {} is not a multiple of the alignment {}",
                          path_, t.name, t.offset, align);
      uint64_t end = 0;
      if (__builtin_add_overflow(data_start, t.offset, &end) ||
          __builtin_add_overflow(end, uint64_t(t.nbytes), &end) || end > size_)
        return make_error(
            "{}: tensor '{}' data [offset {}, {} bytes] runs past the end of the file ({} "
            "bytes): the file is truncated; download it again",
            path_, t.name, data_start + t.offset, t.nbytes, size_);
      t.data = p_ + data_start + t.offset;
    }
    return {};
  }

  GgufFile& f_;
  const std::string& path_;
  const uint8_t* p_;
  size_t size_;
  size_t pos_ = 0;
  uint64_t n_tensors_ = 0;
  uint64_t n_kv_ = 0;
};

Expected<GgufFile> GgufFile::open(const std::string& path) {
  GgufFile f;
  SILICA_ASSIGN_OR_RETURN(f.mapping_, MappedFile::open(path));
  GgufParser parser(f);
  SILICA_RETURN_IF_ERROR(parser.parse());
  return f;
}

}  // namespace silica

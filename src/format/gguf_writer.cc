// GGUF v3 writer: validates tensors, streams to a temporary file, renames it into place.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

#include <fmt/ranges.h>

#include "format/gguf.h"

namespace silica {
namespace {

constexpr uint32_t kWriteVersion = 3;
constexpr size_t kWriteBufferBytes = size_t(1) << 20;  // batch small header writes

// Buffered writes to a file descriptor that remember the first error (errno).
class FdSink {
 public:
  explicit FdSink(int fd) : fd_(fd) { buf_.reserve(kWriteBufferBytes); }

  void put(const void* data, size_t n) {
    if (err_) return;
    const auto* p = static_cast<const uint8_t*>(data);
    if (buf_.size() + n > kWriteBufferBytes) {
      flush();
      if (n >= kWriteBufferBytes) return write_all(p, n);
    }
    buf_.insert(buf_.end(), p, p + n);
  }
  template <typename T>
  void put_pod(T v) {
    put(&v, sizeof(T));
  }
  void put_string(std::string_view s) {
    put_pod(uint64_t(s.size()));
    put(s.data(), s.size());
  }
  void pad_to(uint64_t align) {
    static const uint8_t kZeros[256] = {};
    const uint64_t r = written() % align;
    for (uint64_t pad = r ? align - r : 0; pad > 0;) {
      const size_t n = size_t(std::min<uint64_t>(sizeof(kZeros), pad));
      put(kZeros, n);
      pad -= n;
    }
  }
  void flush() {
    if (!buf_.empty()) write_all(buf_.data(), buf_.size());
    buf_.clear();
  }
  int error() const { return err_; }
  uint64_t written() const { return written_ + buf_.size(); }

 private:
  void write_all(const uint8_t* p, size_t n) {
    written_ += n;
    while (n > 0 && !err_) {
      ssize_t w = ::write(fd_, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        err_ = w < 0 ? errno : ENOSPC;
        return;
      }
      p += w;
      n -= size_t(w);
    }
  }

  int fd_;
  int err_ = 0;
  uint64_t written_ = 0;  // bytes handed to write_all (buffered bytes not included)
  std::vector<uint8_t> buf_;
};

void put_value(FdSink& out, const GgufValue& v);

void put_array_body(FdSink& out, const GgufValue& v) {
  out.put_pod(uint32_t(v.array_type()));
  out.put_pod(uint64_t(v.array_size()));
  const GgufValueType et = v.array_type();
  if (et == GgufValueType::kString) {
    for (size_t i = 0; i < v.array_size(); ++i) out.put_string(v.string_at(i));
  } else if (et == GgufValueType::kArray) {
    for (size_t i = 0; i < v.array_size(); ++i) put_array_body(out, v.at(i));
  } else if (v.array_size() > 0) {
    out.put(v.array_data(), v.array_size() * gguf_scalar_size(et));
  }
}

void put_value(FdSink& out, const GgufValue& v) {
  if (v.type() == GgufValueType::kString) return out.put_string(*v.as_string());
  if (v.is_array()) return put_array_body(out, v);
  const uint64_t bits = v.scalar_bits();  // little-endian host: the low bytes are the value
  out.put(&bits, gguf_scalar_size(v.type()));
}

Status validate_alignment(const std::string& path, const GgufValue* v, uint64_t& align) {
  align = kGgufDefaultAlignment;
  if (!v) return {};
  auto a = v->as_int();
  if (!a || *a <= 0 || !std::has_single_bit(uint64_t(*a)))
    return make_error("cannot write '{}': general.alignment must be a positive power of two", path);
  align = uint64_t(*a);
  return {};
}

}  // namespace

void GgufWriter::set_string(std::string key, std::string v) {
  set_value(std::move(key), GgufValue::from_string(std::move(v)));
}

void GgufWriter::set_array_strings(std::string key, std::vector<std::string> v) {
  // Built owned already: skip set_value's deep copy.
  GgufValue val = GgufValue::from_strings(std::move(v));
  for (auto& kv : kv_)
    if (kv.first == key) {
      kv.second = std::move(val);
      return;
    }
  kv_.emplace_back(std::move(key), std::move(val));
}

void GgufWriter::set_array_u8(std::string key, const std::vector<uint8_t>& v) {
  set_value(std::move(key), GgufValue::from_raw_array(GgufValueType::kU8, v.data(), v.size()));
}
void GgufWriter::set_array_i32(std::string key, const std::vector<int32_t>& v) {
  set_value(std::move(key), GgufValue::from_raw_array(GgufValueType::kI32, v.data(), v.size()));
}
void GgufWriter::set_array_u32(std::string key, const std::vector<uint32_t>& v) {
  set_value(std::move(key), GgufValue::from_raw_array(GgufValueType::kU32, v.data(), v.size()));
}
void GgufWriter::set_array_i64(std::string key, const std::vector<int64_t>& v) {
  set_value(std::move(key), GgufValue::from_raw_array(GgufValueType::kI64, v.data(), v.size()));
}
void GgufWriter::set_array_f32(std::string key, const std::vector<float>& v) {
  set_value(std::move(key), GgufValue::from_raw_array(GgufValueType::kF32, v.data(), v.size()));
}

void GgufWriter::set_value(std::string key, const GgufValue& v) {
  for (auto& kv : kv_)
    if (kv.first == key) {
      kv.second = v.to_owned();
      return;
    }
  kv_.emplace_back(std::move(key), v.to_owned());
}

bool GgufWriter::remove(std::string_view key) {
  for (auto it = kv_.begin(); it != kv_.end(); ++it)
    if (it->first == key) {
      kv_.erase(it);
      return true;
    }
  return false;
}

void GgufWriter::add_tensor(std::string name, DType type, std::vector<int64_t> ne,
                            std::vector<uint8_t> data) {
  tensors_.push_back({std::move(name), type, std::move(ne), std::move(data)});
}

namespace {

Status validate_tensor(const std::string& path, const std::string& name, DType type,
                       const std::vector<int64_t>& ne, size_t data_size) {
  const DTypeTraits* tr = dtype_traits(type);
  if (!tr)
    return make_error("cannot write '{}': tensor '{}' has unknown type {}", path, name,
                      uint32_t(type));
  if (ne.empty() || ne.size() > 4)
    return make_error("cannot write '{}': tensor '{}' has {} dimensions (expected 1 to 4)", path,
                      name, ne.size());
  int64_t n = 1;
  for (int64_t d : ne)
    if (d < 0 || __builtin_mul_overflow(n, d, &n))
      return make_error("cannot write '{}': tensor '{}' has invalid shape [{}]", path, name,
                        fmt::join(ne, ", "));
  if (ne[0] % tr->block_size != 0)
    return make_error(
        "cannot write '{}': tensor '{}' of type {} has row length {}, not a multiple of {}", path,
        name, tr->name, ne[0], tr->block_size);
  const size_t want = size_t(n / tr->block_size) * tr->type_size;
  if (data_size != want)
    return make_error("cannot write '{}': tensor '{}' ({} [{}]) needs {} bytes, got {}", path, name,
                      tr->name, fmt::join(ne, ", "), want, data_size);
  return {};
}

// Writes header and data to fd; returns errno of the first failure, 0 on success.
int write_contents(int fd, const std::vector<std::pair<std::string, GgufValue>>& kv,
                   const auto& tensors, uint64_t align) {
  FdSink out(fd);
  out.put("GGUF", 4);
  out.put_pod(kWriteVersion);
  out.put_pod(uint64_t(tensors.size()));
  out.put_pod(uint64_t(kv.size()));
  for (const auto& [key, v] : kv) {
    out.put_string(key);
    out.put_pod(uint32_t(v.type()));
    put_value(out, v);
  }
  uint64_t offset = 0;  // each tensor starts aligned within the data section
  for (const auto& t : tensors) {
    out.put_string(t.name);
    out.put_pod(uint32_t(t.ne.size()));
    for (int64_t d : t.ne) out.put_pod(uint64_t(d));
    out.put_pod(uint32_t(t.type));
    out.put_pod(offset);
    offset += (t.data.size() + align - 1) / align * align;
  }
  out.pad_to(align);
  for (const auto& t : tensors) {
    if (!t.data.empty()) out.put(t.data.data(), t.data.size());
    out.pad_to(align);
  }
  out.flush();
  return out.error();
}

}  // namespace

Status GgufWriter::write(const std::string& path) const {
  const GgufValue* align_v = nullptr;
  for (const auto& kv : kv_)
    if (kv.first == "general.alignment") align_v = &kv.second;
  uint64_t align = 0;
  SILICA_RETURN_IF_ERROR(validate_alignment(path, align_v, align));
  std::set<std::string_view> names;
  for (const Tensor& t : tensors_) {
    SILICA_RETURN_IF_ERROR(validate_tensor(path, t.name, t.type, t.ne, t.data.size()));
    if (!names.insert(t.name).second)
      return make_error("cannot write '{}': duplicate tensor name '{}'", path, t.name);
  }

  // A unique temporary name in the same directory, so the final rename is atomic.
  std::string tmp = path + ".tmp.XXXXXX";
  int fd = mkstemp(tmp.data());
  if (fd < 0) return make_error("cannot write '{}': {}", path, std::strerror(errno));
  int err = write_contents(fd, kv_, tensors_, align);
  if (!err && fchmod(fd, 0644) != 0) err = errno;
  if (!err && fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && !err) err = errno;
  if (!err && std::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
  if (err) {
    ::unlink(tmp.c_str());
    return make_error("cannot write '{}': {}", path, std::strerror(err));
  }
  return {};
}

}  // namespace silica

// POSIX mmap of a whole file; portable across Linux and macOS.
#include "base/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

namespace silica {

MappedFile::~MappedFile() {
  if (data_) munmap(const_cast<uint8_t*>(data_), size_);
}

MappedFile::MappedFile(MappedFile&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)),
      size_(std::exchange(o.size_, 0)),
      path_(std::move(o.path_)) {}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    if (data_) munmap(const_cast<uint8_t*>(data_), size_);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    path_ = std::move(o.path_);
  }
  return *this;
}

Expected<MappedFile> MappedFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return make_error("cannot open '{}': {}", path, std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return make_error("cannot stat '{}': {}", path, std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error("'{}' is not a regular file", path);
  }
  MappedFile m;
  m.path_ = path;
  m.size_ = size_t(st.st_size);
  if (m.size_ > 0) {
    void* p = mmap(nullptr, m.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      ::close(fd);
      return make_error("cannot map '{}' ({} bytes): {}", path, m.size_, std::strerror(e));
    }
    m.data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);  // the mapping keeps the file alive
  return m;
}

void MappedFile::advise_willneed(size_t offset, size_t len) const {
  if (!data_ || offset >= size_) return;
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  const size_t start = offset / page * page;
  const size_t end = std::min(size_, offset + len);
  madvise(const_cast<uint8_t*>(data_) + start, end - start, MADV_WILLNEED);
}

double MappedFile::resident_fraction() const {
  if (!data_) return 1.0;
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  const size_t n = (size_ + page - 1) / page;
#if defined(__APPLE__)
  std::vector<char> in(n);  // one byte per page; macOS declares it char, Linux unsigned char
#else
  std::vector<unsigned char> in(n);
#endif
  if (mincore(const_cast<uint8_t*>(data_), size_, in.data()) != 0) return 1.0;
  size_t resident = 0;
  for (auto v : in) resident += (v & 1);
  return double(resident) / double(n);
}

Expected<double> evict_from_page_cache(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return make_error("cannot open '{}': {}", path, std::strerror(errno));
  struct stat st;
  int err = fstat(fd, &st) != 0 ? errno : 0;
#if defined(__linux__)
  // Drops the clean pages no process maps.
  if (!err) err = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
#else
  // macOS has no posix_fadvise; invalidating a shared mapping drops the file's cached pages.
  if (!err && st.st_size > 0) {
    void* p = mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) err = errno;
    if (!err && msync(p, size_t(st.st_size), MS_INVALIDATE) != 0) err = errno;
    if (p != MAP_FAILED) munmap(p, size_t(st.st_size));
  }
#endif
  ::close(fd);
  if (err) return make_error("cannot evict '{}' from the page cache: {}", path, std::strerror(err));
  auto m = MappedFile::open(path);
  if (!m) return m.error();
  return m->size() == 0 ? 0.0 : m->resident_fraction();
}

void release_pages(const void* p, size_t len) {
  if (!p || len == 0) return;
  const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + page - 1) / page * page;
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + len) / page * page;
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

}  // namespace silica

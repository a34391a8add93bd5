// Read-only memory map of a whole file (POSIX mmap: Linux and macOS). Not copyable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/status.h"

namespace silica {

class MappedFile {
 public:
  MappedFile() = default;
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;

  // Maps the file read-only. An empty file maps to size 0 with data() == nullptr.
  static Expected<MappedFile> open(const std::string& path);

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Hints the OS that the range [offset, offset+len) will be read soon (page-cache warmup).
  void advise_willneed(size_t offset, size_t len) const;

  // The fraction of the file's pages in memory now (the page cache), 0..1; 1 for an empty file.
  double resident_fraction() const;

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

// Tells the OS that the whole pages inside [p, p+len) of a read-only file mapping will not be
// read soon: they leave this process's resident memory (the page cache may keep them, and a
// later read faults them back in from the file).
void release_pages(const void* p, size_t len);

// Asks the OS to drop the file's clean pages from the page cache, so that the next read comes
// from the disk (a cold load). Returns the fraction of its pages still in memory afterwards:
// pages another process maps, or a file system that keeps files in memory (tmpfs), stay.
Expected<double> evict_from_page_cache(const std::string& path);

}  // namespace silica

#include "base/mapped_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/vfs.h>
#endif

#include <filesystem>
#include <string>
#include <vector>

namespace silica {
namespace {

namespace fs = std::filesystem;

// A file of `bytes` written and synced to the disk (dirty pages cannot leave the page cache).
std::string write_synced_file(const std::string& name, size_t bytes) {
  const std::string path =
      (fs::temp_directory_path() / (name + "-" + std::to_string(getpid()))).string();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  EXPECT_GE(fd, 0) << path;
  std::vector<char> buf(bytes);
  for (size_t i = 0; i < bytes; ++i) buf[i] = char(1 + i % 251);
  EXPECT_EQ(::write(fd, buf.data(), bytes), ssize_t(bytes));
  EXPECT_EQ(::fsync(fd), 0);
  ::close(fd);
  return path;
}

// tmpfs keeps its files in memory: nothing can be evicted there.
bool in_memory_file_system(const std::string& path) {
#if defined(__linux__)
  struct statfs s;
  constexpr long kTmpfsMagic = 0x01021994;
  return statfs(path.c_str(), &s) == 0 && long(s.f_type) == kTmpfsMagic;
#else
  (void)path;
  return false;
#endif
}

TEST(MappedFile, EvictionEmptiesThePageCacheUntilTheFileIsReadAgain) {
  const std::string path = write_synced_file("silica-evict", size_t(4) << 20);
  if (in_memory_file_system(path)) {
    fs::remove(path);
    GTEST_SKIP() << "the temp folder is tmpfs: its files cannot leave memory";
  }
  auto before = evict_from_page_cache(path);
  ASSERT_TRUE(before.ok()) << before.message();
  EXPECT_LT(*before, 0.5);
  {
    auto m = MappedFile::open(path);
    ASSERT_TRUE(m.ok()) << m.message();
    EXPECT_LT(m->resident_fraction(), 0.5);
    unsigned sum = 0;
    for (size_t i = 0; i < m->size(); i += 4096) sum += m->data()[i];
    EXPECT_NE(sum, 0u);
    EXPECT_EQ(m->resident_fraction(), 1.0);
    // Pages this process maps stay where another process's load would find them.
    auto held = evict_from_page_cache(path);
    ASSERT_TRUE(held.ok()) << held.message();
    EXPECT_GT(*held, 0.5);
  }
  auto after = evict_from_page_cache(path);
  ASSERT_TRUE(after.ok()) << after.message();
  EXPECT_LT(*after, 0.5);
  fs::remove(path);
}

TEST(MappedFile, EvictingAMissingFileNamesIt) {
  auto r = evict_from_page_cache("/nonexistent/silica-model.gguf");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("/nonexistent/silica-model.gguf"), std::string::npos) << r.message();
}

TEST(MappedFile, AnEmptyFileIsAllResident) {
  const std::string path = write_synced_file("silica-empty", 0);
  auto m = MappedFile::open(path);
  ASSERT_TRUE(m.ok()) << m.message();
  EXPECT_EQ(m->resident_fraction(), 1.0);
  auto r = evict_from_page_cache(path);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(*r, 0.0);
  fs::remove(path);
}

}  // namespace
}  // namespace silica

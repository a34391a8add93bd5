#include "base/large_alloc.h"

#include <cstdlib>
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace silica {

void* alloc_large(size_t bytes) {
  constexpr size_t kAlign = size_t(2) << 20;
  // Beyond any machine's address space (48-bit virtual addresses): a corrupt size, refused
  // here rather than passed to the allocator.
  if (bytes > (size_t(1) << 47)) return nullptr;
  const size_t total = (bytes + kAlign - 1) / kAlign * kAlign;
  void* p = std::aligned_alloc(kAlign, total == 0 ? kAlign : total);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  // Transparent huge pages in "madvise" mode (Debian's default) need the hint; macOS picks
  // large pages itself. Only whole 2 MiB stretches of the buffer: a huge page over the tail
  // would make up to 2 MiB resident that nobody uses (x 100+ matrices in a model).
  const size_t whole = bytes / kAlign * kAlign;
  if (p && whole) madvise(p, whole, MADV_HUGEPAGE);
#endif
  return p;
}

void free_large(void* p) {
  std::free(p);
}

}  // namespace silica

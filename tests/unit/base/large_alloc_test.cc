#include "base/large_alloc.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

namespace silica {
namespace {

TEST(LargeAlloc, AlignsTo2MiBAndHoldsEverySize) {
  for (size_t bytes : {size_t(1), size_t(4096), size_t(3) << 20, (size_t(4) << 20) + 17}) {
    auto* p = static_cast<uint8_t*>(alloc_large(bytes));
    ASSERT_NE(p, nullptr) << bytes;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % (size_t(2) << 20), 0u) << bytes;
    std::memset(p, 0x5a, bytes);  // all of it is usable (ASan checks the bounds)
    EXPECT_EQ(p[bytes - 1], 0x5a);
    free_large(p);
  }
}

TEST(LargeAlloc, ImpossibleSizeIsNullNotACrash) {
  EXPECT_EQ(alloc_large(size_t(1) << 50), nullptr);
  free_large(nullptr);
}

}  // namespace
}  // namespace silica

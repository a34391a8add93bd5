// Counts global operator new calls on every thread, for tests that a path allocates nothing.
// Replaces the global allocation functions: include it in exactly one file of a test binary.
#pragma once

#include <atomic>
#include <cstdlib>
#include <new>

namespace silica::testing {
inline std::atomic<long> g_allocations{0};
inline long allocations() {
  return g_allocations.load();
}
}  // namespace silica::testing

// GCC pairs the inlined malloc with free and warns, although new/delete are replaced as a pair.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
// Replacing the global allocation functions is the standard way to observe every allocation.
void* operator new(size_t n) {
  silica::testing::g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
// The nothrow form too (std::stable_sort's buffer uses it): everything that reaches the replaced
// delete must come from malloc, or sanitizers report a mismatch.
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  silica::testing::g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}

// sample() and accept() must not allocate: counts global operator new calls around them.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "sample/sampler.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

// GCC pairs the inlined malloc with free and warns, although new/delete are replaced as a pair.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
// Replacing the global allocation functions is the standard way to observe every allocation.
void* operator new(size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
// The nothrow form too (std::stable_sort's buffer uses it): everything that reaches the replaced
// delete must come from malloc, or sanitizers report a mismatch.
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  ++g_allocations;
  return std::malloc(n ? n : 1);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}

namespace silica {
namespace {

TEST(SamplerNoAlloc, SampleAndAcceptDoNotAllocate) {
  constexpr int32_t kVocab = 5000;  // above top-p's lazy-sort threshold
  std::vector<float> logits(kVocab);
  Rng r(1);
  for (float& v : logits) v = float(r.uniform() * 10.0);
  SamplerParams p;
  p.top_k = 0;  // exercise the full-vocabulary paths of every stage
  p.typical_p = 0.9f;
  p.repeat_penalty = 1.1f;
  p.frequency_penalty = 0.1f;
  Sampler s(p, kVocab);
  const long probe = g_allocations.load();
  auto* canary = new std::vector<int>(3);  // proves the counter observes allocations
  delete canary;
  ASSERT_GT(g_allocations.load(), probe);
  const long before = g_allocations.load();
  for (int i = 0; i < 20; ++i) s.accept(s.sample(logits.data()));
  EXPECT_EQ(g_allocations.load() - before, 0);
}

}  // namespace
}  // namespace silica

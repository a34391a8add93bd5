// sample() and accept() must not allocate: counts global operator new calls around them.
#include <gtest/gtest.h>

#include <vector>

#include "common/allocation_counter.h"
#include "sample/sampler.h"

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
  const long probe = testing::allocations();
  auto* canary = new std::vector<int>(3);  // proves the counter observes allocations
  delete canary;
  ASSERT_GT(testing::allocations(), probe);
  const long before = testing::allocations();
  for (int i = 0; i < 20; ++i) s.accept(s.sample(logits.data()));
  EXPECT_EQ(testing::allocations() - before, 0);
}

}  // namespace
}  // namespace silica

// A decode step allocates nothing: the forward pass works in buffers ForwardState made up front
// (issue #6: no allocation per token). Counts global operator new calls, on every thread, around
// steps after the first; short and chunked (past kAttnChunk) attention, one and two sequences.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "common/allocation_counter.h"
#include "common/tiny_model.h"
#include "kernels/attention.h"
#include "model/model.h"

namespace silica {
namespace {

using testing::TinyModelSpec;
using testing::write_tiny_model;

struct DecodeCase {
  DType type;
  int64_t n_embd;
  int64_t n_prompt;  // past kAttnChunk: decode attention in chunks spread over the threads
  int n_seq;
};

class DecodeNoAlloc : public ::testing::TestWithParam<DecodeCase> {};

TEST_P(DecodeNoAlloc, StepsAfterTheFirstAllocateNothing) {
  const DecodeCase c = GetParam();
  TinyModelSpec spec;
  spec.type = c.type;
  spec.n_embd = c.n_embd;
  spec.n_ff = c.n_embd;
  const std::string path =
      write_tiny_model(spec, std::string("silica_noalloc_") + dtype_name(c.type) + ".gguf");
  auto m = load_model(path);
  ASSERT_TRUE(m.ok()) << m.message();
  ForwardOptions o;
  o.n_ctx = c.n_prompt + 16;
  o.n_batch = 64;
  o.n_seq = c.n_seq;
  o.n_threads = 2;
  auto st = ForwardState::create(m.value()->hparams(), o);
  ASSERT_TRUE(st.ok()) << st.message();
  std::vector<float> logits(size_t(o.n_batch * m.value()->hparams().n_vocab));
  Batch b;
  b.tokens.reserve(64), b.pos.reserve(64), b.seq.reserve(64), b.logits.reserve(64);
  for (int32_t s = 0; s < c.n_seq; ++s)
    for (int64_t p0 = 0; p0 < c.n_prompt; p0 += o.n_batch) {
      b.clear();
      for (int64_t p = p0; p < std::min(c.n_prompt, p0 + o.n_batch); ++p)
        b.add(int32_t((p * 7 + 3) % 90), int32_t(p), s, p + 1 == c.n_prompt);
      ASSERT_TRUE(m.value()->forward(b, *st.value(), logits.data()).ok());
    }
  auto step = [&](int i) {
    b.clear();
    for (int32_t s = 0; s < c.n_seq; ++s) b.add(int32_t(5 + i), int32_t(c.n_prompt + i), s, true);
    return m.value()->forward(b, *st.value(), logits.data());
  };
  ASSERT_TRUE(step(0).ok());
  const long probe = testing::allocations();
  delete new std::vector<int>(3);  // the counter observes allocations
  ASSERT_GT(testing::allocations(), probe);
  const long before = testing::allocations();
  for (int i = 1; i < 8; ++i) ASSERT_TRUE(step(i).ok());
  EXPECT_EQ(testing::allocations() - before, 0);
}

INSTANTIATE_TEST_SUITE_P(Forward, DecodeNoAlloc,
                         ::testing::Values(DecodeCase{DType::kF32, 64, 20, 1},
                                           DecodeCase{DType::kF16, 64, 20, 2},
                                           DecodeCase{DType::kQ8_0, 64, kAttnChunk + 40, 1},
                                           DecodeCase{DType::kQ4_K, 256, kAttnChunk + 40, 2},
                                           DecodeCase{DType::kQ6_K, 256, 20, 1}),
                         [](const auto& info) {
                           return std::string(dtype_name(info.param.type)) + "_" +
                                  std::to_string(info.param.n_prompt) + "_seq" +
                                  std::to_string(info.param.n_seq);
                         });

}  // namespace
}  // namespace silica

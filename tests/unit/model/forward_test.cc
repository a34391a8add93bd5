// The forward pass on tiny random models: prompt in one batch, then cached decode, equals
// token-by-token evaluation; results do not depend on the thread count; several sequences in
// one batch equal each alone; bad batches and bad files give errors, not crashes.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "common/tiny_model.h"
#include "kernels/attention.h"
#include "kernels/packed.h"
#include "model/model.h"

namespace silica {
namespace {

using testing::TinyModelSpec;
using testing::write_tiny_model;

// A token's result must not depend on what else is in its batch: then continuous batching in
// the server gives exactly the text sequential runs give. Kernels keep one summation order per
// (row, token) whatever the tile, so the tolerance is zero.
constexpr float kTolBatchVsSingle = 0.0f;

struct Runner {
  std::unique_ptr<Model> model;
  std::unique_ptr<ForwardState> st;
  std::vector<float> logits;

  Runner(const std::string& path, int threads, int64_t n_seq = 1, int64_t n_ctx = 64,
         int64_t n_batch = 32) {
    auto m = load_model(path);
    EXPECT_TRUE(m.ok()) << m.message();
    model = std::move(m.value());
    ForwardOptions o;
    o.n_ctx = n_ctx;
    o.n_batch = n_batch;
    o.n_seq = n_seq;
    o.n_threads = threads;
    auto s = ForwardState::create(model->hparams(), o);
    EXPECT_TRUE(s.ok()) << s.message();
    st = std::move(s.value());
    logits.resize(size_t(n_batch * model->hparams().n_vocab));
  }

  // Evaluates tokens of sequence `seq` in one batch; returns logits of every token.
  std::vector<float> eval_all(const std::vector<int32_t>& toks, int32_t seq = 0) {
    Batch b;
    const int32_t p0 = int32_t(st->kv().n_pos(seq));
    for (size_t i = 0; i < toks.size(); ++i) b.add(toks[i], p0 + int32_t(i), seq, true);
    Status s = model->forward(b, *st, logits.data());
    EXPECT_TRUE(s.ok()) << s.message();
    return {logits.begin(), logits.begin() + int64_t(toks.size()) * model->hparams().n_vocab};
  }
};

const std::vector<int32_t> kPrompt = {1, 17, 42, 5, 88, 23, 61, 7, 90, 33, 2, 71};

float max_abs_diff(const float* a, const float* b, int64_t n) {
  float d = 0;
  for (int64_t i = 0; i < n; ++i) d = std::max(d, std::fabs(a[i] - b[i]));
  return d;
}

// One file per shape: ctest runs the cases in parallel processes.
std::string model_file(const std::string& prefix, const TinyModelSpec& spec) {
  return prefix + spec.arch + "_" + dtype_name(spec.type) + "_" + std::to_string(spec.n_embd) +
         "_" + std::to_string(spec.n_head) + "x" + std::to_string(spec.n_head_kv) + "_ff" +
         std::to_string(spec.n_ff) + (spec.tied ? "_tied" : "") + ".gguf";
}

class ForwardTest : public ::testing::TestWithParam<TinyModelSpec> {};

TEST_P(ForwardTest, BatchedPrefillEqualsTokenByToken) {
  const TinyModelSpec spec = GetParam();
  const std::string path = write_tiny_model(spec, model_file("silica_fwd_", spec));
  ASSERT_FALSE(path.empty());
  Runner batched(path, 2), single(path, 2);
  const int64_t nv = batched.model->hparams().n_vocab;
  std::vector<float> all = batched.eval_all(kPrompt);
  for (size_t i = 0; i < kPrompt.size(); ++i) {
    std::vector<float> one = single.eval_all({kPrompt[i]});
    const float* a = all.data() + int64_t(i) * nv;
    float scale = 0;
    for (int64_t j = 0; j < nv; ++j) scale = std::max(scale, std::fabs(a[j]));
    EXPECT_LE(max_abs_diff(a, one.data(), nv), kTolBatchVsSingle * std::max(1.0f, scale))
        << "position " << i;
  }
  // Logits must be finite and not all equal (the model computes something).
  float lo = all[0], hi = all[0];
  for (float v : all) {
    ASSERT_TRUE(std::isfinite(v));
    lo = std::min(lo, v), hi = std::max(hi, v);
  }
  EXPECT_GT(hi - lo, 0.1f);
}

TEST_P(ForwardTest, SameResultForAnyThreadCount) {
  const TinyModelSpec spec = GetParam();
  const std::string path = write_tiny_model(spec, model_file("silica_thr_", spec));
  std::vector<float> ref;
  for (int threads : {1, 2, 3, 5}) {
    Runner r(path, threads);
    std::vector<float> got = r.eval_all(kPrompt);
    std::vector<float> next = r.eval_all({9});
    got.insert(got.end(), next.begin(), next.end());
    if (ref.empty())
      ref = got;
    else
      ASSERT_EQ(0, std::memcmp(ref.data(), got.data(), ref.size() * sizeof(float)))
          << threads << " threads differ from 1 thread";
  }
}

TEST_P(ForwardTest, TwoSequencesInOneBatchEqualEachAlone) {
  const TinyModelSpec spec = GetParam();
  const std::string path = write_tiny_model(spec, model_file("silica_seq_", spec));
  Runner both(path, 2, 2), alone(path, 2, 1);
  const int64_t nv = both.model->hparams().n_vocab;
  const std::vector<int32_t> a = {3, 14, 15, 92}, b = {65, 35, 89};
  // Interleave the two sequences' tokens in one batch.
  Batch batch;
  for (size_t i = 0; i < 4; ++i) {
    batch.add(a[i], int32_t(i), 0, true);
    if (i < b.size()) batch.add(b[i], int32_t(i), 1, true);
  }
  std::vector<float> out(size_t(batch.size() * nv));
  ASSERT_TRUE(both.model->forward(batch, *both.st, out.data()).ok());
  std::vector<float> ra = alone.eval_all(a);
  alone.st->kv().truncate(0, 0);
  std::vector<float> rb = alone.eval_all(b);
  int64_t row = 0;
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_LE(max_abs_diff(out.data() + row++ * nv, ra.data() + int64_t(i) * nv, nv),
              kTolBatchVsSingle);
    if (i < b.size()) {
      EXPECT_LE(max_abs_diff(out.data() + row++ * nv, rb.data() + int64_t(i) * nv, nv),
                kTolBatchVsSingle);
    }
  }
}

TinyModelSpec spec(std::string arch, DType type, int64_t embd, int64_t heads, int64_t kv,
                   int64_t ff, bool tied = false, bool rope_freqs = false) {
  TinyModelSpec s;
  s.arch = arch, s.type = type, s.n_embd = embd, s.n_head = heads, s.n_head_kv = kv;
  s.n_ff = ff, s.tied = tied, s.rope_freqs = rope_freqs;
  return s;
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, ForwardTest,
    ::testing::Values(
        spec("llama", DType::kF32, 64, 4, 2, 96),
        spec("llama", DType::kF32, 96, 3, 3, 160, /*tied=*/true, /*rope_freqs=*/true),
        spec("llama", DType::kF16, 64, 4, 1, 96), spec("llama", DType::kQ8_0, 64, 4, 2, 96),
        spec("llama", DType::kQ4_0, 64, 4, 2, 96, /*tied=*/true),
        spec("llama", DType::kQ4_K, 256, 4, 2, 256), spec("llama", DType::kQ6_K, 256, 8, 4, 512),
        spec("qwen2", DType::kF32, 64, 4, 2, 96), spec("qwen2", DType::kBF16, 64, 2, 1, 96),
        // ffn_down wider than kPackSliceCols: held as column slices (2 x 2048, 2 x 1280; F16 as
        // sliced rows where the ISA keeps F16 unpacked).
        spec("llama", DType::kQ4_0, 64, 4, 2, 4096), spec("llama", DType::kF16, 64, 4, 2, 4096),
        spec("llama", DType::kQ4_K, 256, 4, 2, 2560)),
    [](const auto& info) {
      return info.param.arch + "_" + dtype_name(info.param.type) + "_" +
             std::to_string(info.param.n_embd) + "_" + std::to_string(info.param.n_head) + "x" +
             std::to_string(info.param.n_head_kv) + (info.param.tied ? "_tied" : "") +
             (info.param.n_ff > kPackSliceCols ? "_ff" + std::to_string(info.param.n_ff) : "");
    });

// The wide shapes above do reach the sliced matrices: ffn_down (4096 columns) is held as two
// slices where the type packs, gate / up (64 columns) as one or, for F16 kept in rows, unpacked.
TEST(Forward, AWideFfnDownIsHeldInSlices) {
  for (DType t : {DType::kQ4_0, DType::kF16}) {
    const PackedKernels* k = packed_kernels(t);
    if (!k) continue;  // a CPU without a packed layout for t
    const TinyModelSpec wide = spec("llama", t, 64, 4, 2, 4096);
    const std::string path = write_tiny_model(wide, model_file("silica_wide_", wide));
    auto m = load_model(path);
    ASSERT_TRUE(m.ok()) << m.message();
    const LayerWeights& l = (*m)->weights().layers[0];
    ASSERT_TRUE(l.w_down.packed) << dtype_name(t);
    EXPECT_EQ(l.w_down.packed->n_slices(), 2) << dtype_name(t);
    if (k->only_sliced) {
      EXPECT_FALSE(l.w_gate.packed) << dtype_name(t);
    } else {
      ASSERT_TRUE(l.w_gate.packed) << dtype_name(t);
      EXPECT_EQ(l.w_gate.packed->n_slices(), 1) << dtype_name(t);
    }
  }
}

// Past kAttnChunk positions attention runs in chunks, spread over the threads when a batch has
// few (token, KV head) pairs (decode) and one pair per thread otherwise: the bits must depend
// on neither the thread count nor what else is in the batch.
TEST(Forward, LongContextGivesTheSameBitsForAnyThreadsAndBatch) {
  const std::string path = write_tiny_model(TinyModelSpec{}, "silica_long_ctx.gguf");
  const int64_t n_prompt = 2 * kAttnChunk + 77, n_ctx = n_prompt + 8, n_batch = 512;
  std::vector<int32_t> prompt(n_prompt);
  for (int64_t i = 0; i < n_prompt; ++i) prompt[i] = int32_t((i * 37 + 11) % 95);
  std::vector<float> ref;
  for (int threads : {1, 2, 3}) {
    Runner r(path, threads, /*n_seq=*/2, n_ctx, n_batch);
    const int64_t nv = r.model->hparams().n_vocab;
    for (int32_t seq : {0, 1})
      for (int64_t p0 = 0; p0 < n_prompt; p0 += n_batch) {
        const int64_t p1 = std::min(n_prompt, p0 + n_batch);
        r.eval_all({prompt.begin() + p0, prompt.begin() + p1}, seq);
      }
    // Sequence 0 decodes alone, then both sequences (the same prompt) decode in one batch.
    std::vector<float> alone = r.eval_all({9}, 0);
    r.st->kv().truncate(0, n_prompt);
    Batch both;
    both.add(9, int32_t(n_prompt), 0, true);
    both.add(9, int32_t(n_prompt), 1, true);
    ASSERT_TRUE(r.model->forward(both, *r.st, r.logits.data()).ok());
    for (int row = 0; row < 2; ++row)
      ASSERT_EQ(0, std::memcmp(alone.data(), r.logits.data() + row * nv, nv * sizeof(float)))
          << threads << " threads, row " << row << " of a two-sequence batch";
    if (ref.empty())
      ref = alone;
    else
      ASSERT_EQ(0, std::memcmp(ref.data(), alone.data(), ref.size() * sizeof(float)))
          << threads << " threads differ from 1 thread";
  }
}

// A prompt's per-token work between the matmuls (residual adds, SwiGLU, RoPE and the K / V
// stores) runs in runs of tokens on the pool; at these widths a 200-token batch splits into 2-7
// runs of each, and every logit and the next step's must be the bits of one thread. n_ff = 1102
// leaves the AVX2 and NEON SwiGLU kernels a tail (6, 2) taken element by element.
TEST(Forward, PromptGivesTheSameBitsForAnyThreads) {
  TinyModelSpec spec;
  spec.n_embd = 256;
  spec.n_ff = 1102;
  const std::string path = write_tiny_model(spec, "silica_prompt_threads.gguf");
  std::vector<int32_t> prompt(200);
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = int32_t((i * 29 + 3) % 95);
  std::vector<float> ref_prompt, ref_next;
  for (int threads : {1, 2, 3}) {
    Runner r(path, threads, /*n_seq=*/1, /*n_ctx=*/256, /*n_batch=*/256);
    const std::vector<float> all = r.eval_all(prompt), next = r.eval_all({7});
    if (ref_prompt.empty()) {
      ref_prompt = all;
      ref_next = next;
      continue;
    }
    ASSERT_EQ(0, std::memcmp(ref_prompt.data(), all.data(), all.size() * sizeof(float)))
        << threads << " threads: the prompt's logits differ from 1 thread's";
    ASSERT_EQ(0, std::memcmp(ref_next.data(), next.data(), next.size() * sizeof(float)))
        << threads << " threads: the step after the prompt differs from 1 thread's";
  }
}

TEST(Forward, BadBatchesAreErrors) {
  const std::string path = write_tiny_model(TinyModelSpec{}, "silica_bad_batch.gguf");
  Runner r(path, 1);
  std::vector<float> out(size_t(r.model->hparams().n_vocab) * 4);
  Batch b;
  b.add(1000, 0, 0, true);  // outside the vocabulary of 96
  Status s = r.model->forward(b, *r.st, out.data());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("outside the vocabulary"), std::string::npos) << s.message();
  b.clear();
  b.add(1, 5, 0, true);  // skips positions 0..4
  s = r.model->forward(b, *r.st, out.data());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("position 5"), std::string::npos) << s.message();
  b.clear();
  b.add(1, 0, 3, true);  // no such sequence slot
  EXPECT_FALSE(r.model->forward(b, *r.st, out.data()).ok());
  b.clear();
  b.add(1, 64, 0, true);  // past the context
  EXPECT_FALSE(r.model->forward(b, *r.st, out.data()).ok());
}

TEST(Forward, MissingTensorNamesTheTensor) {
  // Write a model, then a copy without one tensor.
  const std::string good = write_tiny_model(TinyModelSpec{}, "silica_missing_src.gguf");
  auto f = GgufFile::open(good);
  ASSERT_TRUE(f.ok()) << f.message();
  GgufWriter w;
  for (const auto& [k, v] : f->metadata()) w.set_value(k, v);
  for (const auto& t : f->tensors())
    if (t.name != "blk.1.ffn_up.weight")
      w.add_tensor(t.name, t.type, t.ne, std::vector<uint8_t>(t.data, t.data + t.nbytes));
  const std::string bad = (std::filesystem::temp_directory_path() / "silica_missing.gguf").string();
  ASSERT_TRUE(w.write(bad).ok());
  auto m = load_model(bad);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.message().find("blk.1.ffn_up.weight"), std::string::npos) << m.message();
  EXPECT_NE(m.message().find("silica_missing.gguf"), std::string::npos) << m.message();
}

TEST(Forward, UnknownArchitectureIsAnError) {
  TinyModelSpec s;
  s.arch = "mamba9";
  auto m = load_model(write_tiny_model(s, "silica_unknown_arch.gguf"));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.message().find("mamba9"), std::string::npos);
  EXPECT_NE(m.message().find("llama"), std::string::npos);  // lists what is supported
}

}  // namespace
}  // namespace silica

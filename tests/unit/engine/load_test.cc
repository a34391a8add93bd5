// load_model_with_tokenizer: the tokenizer is built on a thread of its own while the weights are
// repacked; its result and its errors arrive as if it had been built after them.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "common/tiny_model.h"
#include "engine/session.h"
#include "kernels/packed.h"

namespace silica {
namespace {

TEST(LoadModelWithTokenizer, PackedWeightsAndTheTokenizerBoth) {
  testing::TinyModelSpec spec;
  spec.type = DType::kQ8_0;
  const std::string path = testing::write_tiny_model(spec, "silica_load_q8.gguf");
  auto lm = load_model_with_tokenizer(path);
  ASSERT_TRUE(lm.ok()) << lm.message();
  ASSERT_NE(lm->tokenizer, nullptr);
  EXPECT_EQ(lm->tokenizer->n_vocab(), 96);
  EXPECT_EQ(lm->tokenizer->encode(" t", false, false), std::vector<int32_t>{94});  // "Ġ t" merged
  const bool packs = packed_kernels(DType::kQ8_0) != nullptr;
  EXPECT_EQ(lm->model->weights().layers[0].wq.packed != nullptr, packs);
  EXPECT_GT(lm->load_ns, 0);
  std::filesystem::remove(path);
}

TEST(LoadModelWithTokenizer, WithoutRepackingTheTokenizerIsStillBuilt) {
  testing::TinyModelSpec spec;
  spec.type = DType::kQ8_0;
  const std::string path = testing::write_tiny_model(spec, "silica_load_norepack.gguf");
  setenv("SILICA_NO_REPACK", "1", 1);
  auto lm = load_model_with_tokenizer(path);
  unsetenv("SILICA_NO_REPACK");
  ASSERT_TRUE(lm.ok()) << lm.message();
  ASSERT_NE(lm->tokenizer, nullptr);
  EXPECT_EQ(lm->tokenizer->n_vocab(), 96);
  EXPECT_EQ(lm->model->weights().layers[0].wq.packed, nullptr);
  std::filesystem::remove(path);
}

TEST(LoadModelWithTokenizer, ATokenizerErrorNamesTheFile) {
  testing::TinyModelSpec spec;
  spec.n_vocab = 128;  // the 96-token vocabulary beside a 128-row embedding
  spec.vocab_any_size = true;
  const std::string mismatched = testing::write_tiny_model(spec, "silica_load_mismatch.gguf");
  auto lm = load_model_with_tokenizer(mismatched);
  ASSERT_FALSE(lm.ok());
  EXPECT_NE(lm.message().find(mismatched), std::string::npos) << lm.message();
  EXPECT_NE(lm.message().find("96 tokens but the embedding has 128 rows"), std::string::npos)
      << lm.message();
  std::filesystem::remove(mismatched);

  spec = {};
  spec.vocab = false;
  const std::string no_vocab = testing::write_tiny_model(spec, "silica_load_novocab.gguf");
  lm = load_model_with_tokenizer(no_vocab);
  ASSERT_FALSE(lm.ok());
  EXPECT_NE(lm.message().find("tokenizer.ggml"), std::string::npos) << lm.message();
  std::filesystem::remove(no_vocab);
}

}  // namespace
}  // namespace silica

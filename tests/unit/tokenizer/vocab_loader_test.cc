// vocab_from_gguf on small GGUF files written here: llama.cpp's defaults for missing keys, the
// EOG set, and errors that name the file and key.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "model/vocab_loader.h"
#include "tokenizer/byte_level.h"

namespace silica {
namespace {

// A byte-level vocabulary of n_tokens (single bytes, then "<|im_end|>" typed normal).
GgufWriter writer_for(const std::string& pre, int n_bytes) {
  std::vector<std::string> tokens;
  for (int b = 0; b < n_bytes; ++b) {
    const char c = static_cast<char>('a' + b);
    tokens.push_back(byte_level_encode(std::string_view(&c, 1)));
  }
  tokens.push_back("<|im_end|>");
  GgufWriter w;
  w.set_string("tokenizer.ggml.model", "gpt2");
  if (!pre.empty()) w.set_string("tokenizer.ggml.pre", pre);
  w.set_array_i32("tokenizer.ggml.token_type", std::vector<int32_t>(tokens.size(), kTokenNormal));
  w.set_array_strings("tokenizer.ggml.tokens", tokens);
  w.set_array_strings("tokenizer.ggml.merges", {"a b"});
  return w;
}

class VocabLoader : public ::testing::Test {
 protected:
  Expected<Vocab> load(const GgufWriter& w) {
    // ctest runs each case as its own process, in parallel: one file per process.
    path_ = ::testing::TempDir() + "vocab_loader_test_" + std::to_string(getpid()) + ".gguf";
    const Status st = w.write(path_);
    EXPECT_TRUE(st.ok()) << st.message();
    auto f = GgufFile::open(path_);
    EXPECT_TRUE(f.ok()) << f.message();
    return vocab_from_gguf(*f);
  }
  void TearDown() override { std::remove(path_.c_str()); }
  std::string path_;
};

TEST_F(VocabLoader, LlamaBpeImpliesAddBos) {
  auto v = load(writer_for("llama-bpe", 20));
  ASSERT_TRUE(v.ok()) << v.message();
  EXPECT_TRUE(v->add_bos);
  EXPECT_FALSE(v->add_eos);
}

TEST_F(VocabLoader, Gpt2DefaultsFollowLlamaCpp) {
  auto v = load(writer_for("gpt-2", 20));
  ASSERT_TRUE(v.ok()) << v.message();
  EXPECT_FALSE(v->add_bos);
  EXPECT_EQ(v->bos, 11);  // llama.cpp's gpt2 default when no id is recorded
  EXPECT_EQ(v->eos, 11);
  EXPECT_EQ(v->eot, -1);
}

TEST_F(VocabLoader, DefaultOutsideVocabularyIsDropped) {
  auto v = load(writer_for("gpt-2", 5));
  ASSERT_TRUE(v.ok()) << v.message();
  EXPECT_EQ(v->bos, -1);
  EXPECT_EQ(v->eos, -1);
}

TEST_F(VocabLoader, KeysOverrideDefaults) {
  GgufWriter w = writer_for("llama-bpe", 20);
  w.set_bool("tokenizer.ggml.add_bos_token", false);
  w.set_bool("tokenizer.ggml.add_eos_token", true);
  w.set_u32("tokenizer.ggml.bos_token_id", 3);
  w.set_u32("tokenizer.ggml.eos_token_id", 4);
  w.set_u32("tokenizer.ggml.eot_token_id", 5);
  w.set_u32("tokenizer.ggml.padding_token_id", 500);  // out of range: ignored, as in llama.cpp
  auto v = load(w);
  ASSERT_TRUE(v.ok()) << v.message();
  EXPECT_FALSE(v->add_bos);
  EXPECT_TRUE(v->add_eos);
  EXPECT_EQ(v->bos, 3);
  EXPECT_EQ(v->eos, 4);
  EXPECT_EQ(v->eot, 5);
  EXPECT_EQ(v->pad, -1);
  // eos, eot and the <|im_end|> text (now typed control) end generation.
  EXPECT_EQ(v->eog_ids, (std::vector<int32_t>{4, 5, 20}));
  EXPECT_EQ(v->token_types[20], kTokenControl);
}

TEST_F(VocabLoader, ErrorsNameFileAndKey) {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  auto v = load(w);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.message().find("tokenizer.ggml.model"), std::string::npos) << v.message();
  EXPECT_NE(v.message().find(path_), std::string::npos) << v.message();

  GgufWriter bad = writer_for("gpt-2", 20);
  bad.set_array_i32("tokenizer.ggml.token_type", {1, 1});
  auto b = load(bad);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.message().find("tokenizer.ggml.token_type"), std::string::npos) << b.message();
}

}  // namespace
}  // namespace silica

// The Llama 3 vocabulary (llama.cpp's ggml-vocab-llama-bpe.gguf): loader defaults, special
// tokens, end-of-generation set, streaming over split characters, and work that grows linearly with
// the input.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "model/vocab_loader.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"
#include "tokenizer/work_counters.h"

namespace silica {
namespace {

// Heap BPE over n symbols: n - 1 first lookups, then per merge (at most n - 1) one for the merged
// id and two for the new neighbours' pairs. A quadratic BPE does about n^2 / 2.
constexpr uint64_t kMaxMergeLookupsPerSymbol = 4;

class LlamaBpe : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* src = std::getenv("SILICA_LLAMA_SRC");
    if (!src) return;
    auto file = GgufFile::open(std::string(src) + "/models/ggml-vocab-llama-bpe.gguf");
    ASSERT_TRUE(file.ok()) << file.message();
    auto vocab = vocab_from_gguf(*file);
    ASSERT_TRUE(vocab.ok()) << vocab.message();
    auto tok = Tokenizer::create(std::move(*vocab));
    ASSERT_TRUE(tok.ok()) << tok.message();
    tok_ = std::make_unique<Tokenizer>(std::move(tok).value());
  }
  static void TearDownTestSuite() { tok_.reset(); }

  void SetUp() override {
    if (tok_) return;
    const char* r = std::getenv("SILICA_REQUIRE_PEERS");
    if (r && std::string(r) == "1") FAIL() << "SILICA_REQUIRE_PEERS=1 but SILICA_LLAMA_SRC unset";
    GTEST_SKIP() << "SILICA_LLAMA_SRC unset (a llama.cpp source clone with models/)";
  }

  static int32_t id_of(std::string_view text) {
    const auto& toks = tok_->vocab().tokens;
    for (size_t i = 0; i < toks.size(); ++i) {
      if (toks[i] == text) return static_cast<int32_t>(i);
    }
    ADD_FAILURE() << "no token '" << text << "'";
    return -1;
  }

  static std::unique_ptr<Tokenizer> tok_;
};

std::unique_ptr<Tokenizer> LlamaBpe::tok_;

TEST_F(LlamaBpe, LoaderFollowsLlamaCppDefaults) {
  const Vocab& v = tok_->vocab();
  EXPECT_EQ(v.model, "gpt2");
  EXPECT_EQ(v.pre, "llama-bpe");
  EXPECT_EQ(tok_->n_vocab(), 128256);
  EXPECT_TRUE(v.add_bos);  // llama-bpe implies it (and the file says so)
  EXPECT_FALSE(v.add_eos);
  EXPECT_EQ(tok_->bos(), id_of("<|begin_of_text|>"));
  EXPECT_EQ(tok_->eos(), id_of("<|end_of_text|>"));
  EXPECT_EQ(v.merges.size(), 280147u);
}

TEST_F(LlamaBpe, EndOfGenerationSet) {
  EXPECT_TRUE(tok_->is_eog(id_of("<|end_of_text|>")));
  EXPECT_TRUE(tok_->is_eog(id_of("<|eot_id|>")));
  EXPECT_FALSE(tok_->is_eog(id_of("<|begin_of_text|>")));
  EXPECT_FALSE(tok_->is_eog(id_of("<|start_header_id|>")));
  EXPECT_FALSE(tok_->is_eog(id_of("Hello")));
}

TEST_F(LlamaBpe, SpecialTokensInText) {
  const std::string chat = "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>";
  const std::vector<int32_t> parsed = tok_->encode(chat, true, true);
  const std::vector<int32_t> want = {id_of("<|begin_of_text|>"),
                                     id_of("<|start_header_id|>"),
                                     id_of("user"),
                                     id_of("<|end_header_id|>"),
                                     id_of("\xC4\x8A\xC4\x8A"),  // "\n\n"
                                     id_of("Hi"),
                                     id_of("<|eot_id|>")};
  EXPECT_EQ(parsed, want);
  const std::vector<int32_t> plain = tok_->encode(chat, false, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), id_of("<|eot_id|>")), 0);
  EXPECT_EQ(tok_->decode(plain), chat);
  EXPECT_EQ(tok_->decode(parsed), "user\n\nHi");  // control tokens render as nothing
  EXPECT_EQ(tok_->decode(parsed, true), "<|begin_of_text|>" + chat);
}

TEST_F(LlamaBpe, StreamDecoderOnEmojiAndCjk) {
  const std::string text =
      "Llamas \xF0\x9F\xA6\x99\xF0\x9F\xA6\x99 say \xE4\xBD\xA0\xE5\xA5\xBD\xEF\xBC\x8C"
      "\xE4\xB8\x96\xE7\x95\x8C and \xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D"
      "\xF0\x9F\x91\xA7 \xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8 \xF0\x90\x8D\x88!";
  const std::vector<int32_t> ids = tok_->encode(text, false, false);
  int split_pieces = 0;
  for (int32_t id : ids) split_pieces += !is_valid_utf8(tok_->token_to_piece(id));
  ASSERT_GT(split_pieces, 0) << "the text must split some character across tokens";
  StreamDecoder dec(*tok_);
  std::string all;
  for (int32_t id : ids) {
    const std::string out = dec.push(id);
    EXPECT_TRUE(is_valid_utf8(out));
    all += out;
  }
  all += dec.flush();
  EXPECT_EQ(all, tok_->decode(ids));
  EXPECT_EQ(all, text);
}

TEST_F(LlamaBpe, LongWordsStayLinear) {
  // One 200k-letter word and 100k spaces: the work grows linearly with the word, no quadratic
  // blowup (counted, not timed). Both are single bytes, so symbols = bytes.
  for (const std::string& word : {std::string(200000, 'x'), std::string(100000, ' ')}) {
    tokenizer_work() = TokenizerWork{};
    const std::vector<int32_t> ids = tok_->encode(word, false, false);
    const TokenizerWork work = tokenizer_work();
    EXPECT_EQ(tok_->decode(ids), word);
    EXPECT_LE(work.merge_lookups, kMaxMergeLookupsPerSymbol * word.size());
    EXPECT_GE(work.merge_lookups, word.size() - 1);  // the counter counts
    EXPECT_LE(work.regex_matches, 4u) << "the run is one pre-token";
  }
}

TEST_F(LlamaBpe, EncodeWorkIsLinear) {
  const std::string para =
      "The quick brown fox jumps over the lazy dog. It's 2024; prices rose 3.5% to $1,234.56!\n"
      "def main(argv):\n    return sum(int(a) for a in argv[1:])  # comment\n"
      "Caf\xC3\xA9 cr\xC3\xA8me br\xC3\xBBl\xC3\xA9"
      "e, \xE4\xBD\xA0\xE5\xA5\xBD\xE4\xB8\x96"
      "\xE7\x95\x8C, \xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82 \xF0\x9F\x98\x80\n";
  std::string text;
  for (int i = 0; text.size() < (4u << 20); ++i) text += para + std::to_string(i) + " ";
  tokenizer_work() = TokenizerWork{};
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<int32_t> ids = tok_->encode(text, false, false);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const TokenizerWork work = tokenizer_work();
  // Reported for whoever reads the log; the assertions count work, since the host's speed moves.
  std::printf(
      "encode: %.1f MB in %.3f s = %.1f MB/s, %zu tokens, %llu regex matches, %llu merge "
      "lookups\n",
      text.size() / 1e6, s, text.size() / 1e6 / s, ids.size(),
      (unsigned long long)work.regex_matches, (unsigned long long)work.merge_lookups);
  EXPECT_EQ(tok_->decode(ids), text);
  // Each match yields at least one pre-token and each pre-token at least one token; the last
  // call of every piece finds nothing.
  EXPECT_LE(work.regex_matches, 2 * ids.size());
  EXPECT_LE(work.merge_lookups, kMaxMergeLookupsPerSymbol * text.size());
  EXPECT_GT(work.merge_lookups, 0u);
}

}  // namespace
}  // namespace silica

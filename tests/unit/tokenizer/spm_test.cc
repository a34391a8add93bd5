// SentencePiece rules on hand-made vocabularies (score order, space prefix after specials, byte
// fallback, decoding), NFC against Unicode's own examples, and tokenizer.json parsing.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tokenizer/hf_tokenizer_json.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode_nfc.h"

namespace silica {
namespace {

constexpr const char* kSp = "\xE2\x96\x81";  // U+2581

// <unk> <s> </s>, bytes <0x00>..<0xFF> (ids 3..258), then scored pieces.
Vocab spm_vocab() {
  Vocab v;
  v.model = "llama";
  v.tokens = {"<unk>", "<s>", "</s>"};
  v.token_types = {kTokenUnknown, kTokenControl, kTokenControl};
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) {
    v.tokens.push_back(std::string("<0x") + kHex[b >> 4] + kHex[b & 15] + ">");
    v.token_types.push_back(kTokenByte);
  }
  v.scores.assign(v.tokens.size(), 0.0f);
  // "ab" scores above "bc": "abc" must become [ab, c] although "bc" is further right.
  const std::pair<std::string, float> pieces[] = {{kSp, -1},
                                                  {"a", -2},
                                                  {"b", -2},
                                                  {"c", -2},
                                                  {"ab", -3},
                                                  {"bc", -4},
                                                  {std::string(kSp) + "a", -5}};
  for (const auto& [t, s] : pieces) {
    v.tokens.push_back(t);
    v.scores.push_back(s);
    v.token_types.push_back(kTokenNormal);
  }
  v.unk = 0;
  v.bos = 1;
  v.eos = 2;
  v.add_bos = true;
  v.add_space_prefix = true;
  v.escape_whitespace = true;
  return v;
}

constexpr int32_t kIdSp = 259, kIdA = 260, kIdB = 261, kIdC = 262, kIdAb = 263, kIdBc = 264,
                  kIdSpA = 265;

Tokenizer make_spm() {
  auto t = Tokenizer::create(spm_vocab());
  EXPECT_TRUE(t.ok()) << t.message();
  return std::move(t).value();
}

TEST(Spm, HighestScoreMergesFirst) {
  const Tokenizer t = make_spm();
  EXPECT_EQ(t.encode("abc", false, false), (std::vector<int32_t>{kIdSp, kIdAb, kIdC}));
  EXPECT_EQ(t.encode("bc", false, false), (std::vector<int32_t>{kIdSp, kIdBc}));
  // "▁a" scores below "ab": the prefix space stays alone.
  EXPECT_EQ(t.encode("ab", true, false), (std::vector<int32_t>{1, kIdSp, kIdAb}));
  EXPECT_EQ(t.encode("a", false, false), (std::vector<int32_t>{kIdSpA}));
}

TEST(Spm, ByteFallbackForUnknownCharacters) {
  const Tokenizer t = make_spm();
  // "é" is C3 A9: byte tokens are id 3 + byte.
  EXPECT_EQ(t.encode("\xC3\xA9", false, false), (std::vector<int32_t>{kIdSp, 3 + 0xC3, 3 + 0xA9}));
  EXPECT_EQ(t.decode(t.encode("x\xC3\xA9 a", false, false)), "x\xC3\xA9 a");
}

TEST(Spm, SpacePrefixAfterSpecialTokensAndDecodeDropsTheFirst) {
  const Tokenizer t = make_spm();
  EXPECT_EQ(t.encode("a</s>a", false, true), (std::vector<int32_t>{kIdSpA, 2, kIdSpA}));
  EXPECT_EQ(t.decode(std::vector<int32_t>{kIdSpA, kIdSp, kIdA}), "a a");
  // A hidden BOS first: llama.cpp then keeps the space (it strips from the first token only).
  EXPECT_EQ(t.decode(std::vector<int32_t>{1, kIdSpA}), " a");
  Vocab no_prefix = spm_vocab();
  no_prefix.add_space_prefix = false;
  auto t2 = Tokenizer::create(std::move(no_prefix));
  ASSERT_TRUE(t2.ok()) << t2.message();
  EXPECT_EQ(t2->encode("ab", false, false), (std::vector<int32_t>{kIdAb}));
  EXPECT_EQ(t2->decode(std::vector<int32_t>{kIdSpA}), " a");
}

// Examples from Unicode UAX #15 and its NormalizationTest.txt.
TEST(Nfc, ComposesReordersAndKeepsSingletonsDecomposed) {
  EXPECT_EQ(normalize_nfc("e\xCC\x81"), "\xC3\xA9");                         // e + acute -> é
  EXPECT_EQ(normalize_nfc("\xE2\x84\xAB"), "\xC3\x85");                      // Å (U+212B) -> Å
  EXPECT_EQ(normalize_nfc("\xE2\x84\xA6"), "\xCE\xA9");                      // Ω ohm -> omega
  EXPECT_EQ(normalize_nfc("q\xCC\x87\xCC\xA3"), "q\xCC\xA3\xCC\x87");        // marks reordered
  EXPECT_EQ(normalize_nfc("\xE1\xBA\x9B\xCC\xA3"), "\xE1\xBA\x9B\xCC\xA3");  // ẛ̣ stays
  EXPECT_EQ(normalize_nfc("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8"), "\xEA\xB0\x81");  // 각
  EXPECT_EQ(normalize_nfc("A\xCC\x8A\xCC\xA3"), "\xE1\xBA\xA0\xCC\x8A");  // A+ring+dot -> Ạ+ring
  EXPECT_EQ(normalize_nfc("plain ascii"), "plain ascii");
}

// A tiny SentencePiece-style BPE tokenizer.json (the shape of Gemma 3's).
constexpr const char* kGemmaLikeJson = R"({
  "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"},
  "pre_tokenizer": {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious",
                    "invert": false},
  "added_tokens": [{"id": 0, "content": "<bos>", "special": true},
                   {"id": 1, "content": "<eos>", "special": true},
                   {"id": 2, "content": "\n\n", "special": false}],
  "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<bos>"}},
                     {"Sequence": {"id": "A"}}]},
  "model": {"type": "BPE", "byte_fallback": true, "unk_token": null,
            "vocab": {"<bos>": 0, "<eos>": 1, "\n\n": 2, "<0xC3>": 3, "<0xA9>": 4, "\u2581": 5,
                      "h": 6, "i": 7, "hi": 8, "\u2581hi": 9, "\n": 10},
            "merges": [["h", "i"], ["\u2581", "hi"]]}
})";

TEST(HfJson, SentencePieceStyleBpe) {
  auto v = vocab_from_hf_json(kGemmaLikeJson, R"({"bos_token": "<bos>", "eos_token": "<eos>"})");
  ASSERT_TRUE(v.ok()) << v.message();
  EXPECT_EQ(v->model, kModelUtf8Bpe);
  EXPECT_EQ(v->bos, 0);
  EXPECT_TRUE(v->add_bos);
  auto t = Tokenizer::create(std::move(*v));
  ASSERT_TRUE(t.ok()) << t.message();
  EXPECT_EQ(t->encode("hi hi\n\n\xC3\xA9", true, true), (std::vector<int32_t>{0, 8, 9, 2, 3, 4}));
  EXPECT_EQ(t->decode(std::vector<int32_t>{8, 9, 2, 3, 4}), "hi hi\n\n\xC3\xA9");
}

TEST(HfJson, ErrorsNameWhatIsUnsupported) {
  auto a = vocab_from_hf_json(R"({"model": {"type": "WordPiece", "vocab": {"a": 0}}})");
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.message().find("WordPiece"), std::string::npos) << a.message();
  auto b = vocab_from_hf_json(
      R"({"normalizer": {"type": "NFKD"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}})");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.message().find("NFKD"), std::string::npos) << b.message();
  EXPECT_FALSE(vocab_from_hf_json("not json").ok());
}

}  // namespace
}  // namespace silica

// Tokenizer behaviour on a hand-made byte-level vocabulary (merge priority, special tokens, EOG,
// streaming), checked against what GPT-2 style BPE defines; no outside data needed.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace silica {
namespace {

constexpr int32_t kIdHe = 256, kIdLl = 257, kIdHell = 258, kIdHello = 259, kIdSpaceH = 260;
constexpr int32_t kIdEnd = 261, kIdTool = 262, kIdImEnd = 263;

int32_t byte_id(char c) {
  return static_cast<uint8_t>(c);
}

// Ids 0..255 are the single bytes (id == byte value), then merged tokens and specials.
Vocab tiny_vocab() {
  Vocab v;
  v.model = "gpt2";
  v.pre = "gpt-2";
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    v.tokens.push_back(byte_level_encode(std::string_view(&c, 1)));
  }
  // Merge ranks: "Ġ h" ranks last, so " hello" must become [Ġ, hello], not [Ġh, ...].
  for (const char* t : {"he", "ll", "hell", "hello", "\xC4\xA0h"}) v.tokens.push_back(t);
  v.merges = {"h e", "l l", "he ll", "hell o", "\xC4\xA0 h"};
  v.tokens.push_back("<|end|>");
  v.tokens.push_back("<tool>");
  v.tokens.push_back("<|im_end|>");
  v.token_types.assign(v.tokens.size(), kTokenNormal);
  v.token_types[kIdEnd] = kTokenControl;
  v.token_types[kIdTool] = kTokenUserDefined;  // <|im_end|> stays "normal": a file bug to repair
  v.eos = kIdEnd;
  return v;
}

Tokenizer make_tiny() {
  Vocab v = tiny_vocab();
  fill_eog_ids(v);
  auto t = Tokenizer::create(std::move(v));
  EXPECT_TRUE(t.ok()) << t.message();
  return std::move(t).value();
}

TEST(Tokenizer, MergesApplyInRankOrder) {
  const Tokenizer t = make_tiny();
  EXPECT_EQ(t.encode("hello", false, false), (std::vector<int32_t>{kIdHello}));
  EXPECT_EQ(t.encode(" hello", false, false), (std::vector<int32_t>{byte_id(' '), kIdHello}));
  EXPECT_EQ(t.encode(" he", false, false), (std::vector<int32_t>{byte_id(' '), kIdHe}));
  // Equal ranks: the leftmost pair merges first.
  EXPECT_EQ(t.encode("lll", false, false), (std::vector<int32_t>{kIdLl, byte_id('l')}));
  EXPECT_EQ(t.encode(" h", false, false), (std::vector<int32_t>{kIdSpaceH}));
}

TEST(Tokenizer, SpecialTokensOnlyWhenParsedUserDefinedAlways) {
  const Tokenizer t = make_tiny();
  EXPECT_EQ(t.encode("a<|end|>b", false, true),
            (std::vector<int32_t>{byte_id('a'), kIdEnd, byte_id('b')}));
  const std::vector<int32_t> plain = t.encode("a<|end|>b", false, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), kIdEnd), 0);
  EXPECT_EQ(t.decode(plain), "a<|end|>b");
  EXPECT_EQ(t.encode("x<tool>y", false, false),
            (std::vector<int32_t>{byte_id('x'), kIdTool, byte_id('y')}));
}

TEST(Tokenizer, PiecesHideControlTokensByDefault) {
  const Tokenizer t = make_tiny();
  EXPECT_EQ(t.token_to_piece(kIdEnd), "");
  EXPECT_EQ(t.token_to_piece(kIdEnd, true), "<|end|>");
  EXPECT_EQ(t.token_to_piece(kIdTool), "<tool>");
  EXPECT_EQ(t.token_to_piece(byte_id(' ')), " ");
  EXPECT_EQ(t.token_to_piece(kIdSpaceH), " h");
  EXPECT_EQ(t.token_to_piece(-1), "");
  EXPECT_EQ(t.token_to_piece(t.n_vocab()), "");
}

TEST(Tokenizer, EogSetIncludesEosAndTurnEndTexts) {
  const Tokenizer t = make_tiny();
  EXPECT_TRUE(t.is_eog(kIdEnd));
  EXPECT_TRUE(t.is_eog(kIdImEnd));  // by its text, as llama.cpp does
  EXPECT_TRUE(t.is_control(kIdImEnd));
  EXPECT_FALSE(t.is_eog(kIdTool));
  EXPECT_FALSE(t.is_eog(byte_id('a')));
  EXPECT_FALSE(t.is_eog(-1));
}

TEST(Tokenizer, AddSpecialFollowsVocabFlags) {
  Vocab v = tiny_vocab();
  v.bos = kIdTool;
  v.add_bos = true;
  v.add_eos = true;
  auto t = Tokenizer::create(std::move(v));
  ASSERT_TRUE(t.ok()) << t.message();
  EXPECT_EQ(t->encode("he", true, false), (std::vector<int32_t>{kIdTool, kIdHe, kIdEnd}));
  EXPECT_EQ(t->encode("he", false, false), (std::vector<int32_t>{kIdHe}));
}

TEST(Tokenizer, InvalidUtf8BecomesReplacementCharacter) {
  const Tokenizer t = make_tiny();
  EXPECT_EQ(t.encode("a\xFF"
                     "b",
                     false, false),
            t.encode(std::string("a") + std::string(kReplacementChar) + "b", false, false));
}

TEST(Tokenizer, ClearErrorsForUnsupportedVocabularies) {
  Vocab wpm = tiny_vocab();
  wpm.model = "bert";
  auto a = Tokenizer::create(std::move(wpm));
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.message().find("'bert'"), std::string::npos) << a.message();

  Vocab spm = tiny_vocab();  // SentencePiece needs scores, which this vocabulary lacks
  spm.model = "llama";
  auto s = Tokenizer::create(std::move(spm));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("tokenizer.ggml.scores"), std::string::npos) << s.message();

  Vocab odd = tiny_vocab();
  odd.pre = "no-such-pre";
  auto b = Tokenizer::create(std::move(odd));
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.message().find("'no-such-pre'"), std::string::npos) << b.message();

  Vocab bad = tiny_vocab();
  bad.eos = 100000;
  auto c = Tokenizer::create(std::move(bad));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.message().find("100000"), std::string::npos) << c.message();
}

TEST(StreamDecoder, NeverSplitsACharacterAcrossByteTokens) {
  const Tokenizer t = make_tiny();
  // Every multi-byte character here arrives one byte token at a time.
  const std::string text = "h\xC3\xA9llo \xF0\x9F\xA6\x99 \xE4\xBD\xA0\xE5\xA5\xBD!";
  const std::vector<int32_t> ids = t.encode(text, false, false);
  StreamDecoder dec(t);
  std::string all;
  int held = 0;
  for (int32_t id : ids) {
    const std::string out = dec.push(id);
    EXPECT_TRUE(is_valid_utf8(out)) << "after token " << id;
    held += out.empty();
    all += out;
  }
  all += dec.flush();
  EXPECT_EQ(all, t.decode(ids));
  EXPECT_EQ(all, text);
  EXPECT_GT(held, 0) << "some pushes must have waited for the rest of a character";
}

TEST(StreamDecoder, FlushReplacesAnUnfinishedCharacter) {
  const Tokenizer t = make_tiny();
  StreamDecoder dec(t);
  EXPECT_EQ(dec.push(0xF0), "");
  EXPECT_EQ(dec.push(0x9F), "");
  EXPECT_EQ(dec.flush(), std::string(kReplacementChar) + std::string(kReplacementChar));
  EXPECT_EQ(dec.push('a'), "a");
  EXPECT_EQ(dec.push(0xFF), std::string(kReplacementChar));  // can never complete
}

}  // namespace
}  // namespace silica

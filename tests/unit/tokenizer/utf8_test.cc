// UTF-8 helpers and the GPT-2 byte-level mapping, checked against the Unicode / GPT-2 definitions.
#include <gtest/gtest.h>

#include <string>

#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace silica {
namespace {

TEST(Utf8, SequenceLengthFollowsUnicodeTable) {
  EXPECT_EQ(utf8_sequence_length("a", 0), 1u);
  EXPECT_EQ(utf8_sequence_length("\xC3\xA9", 0), 2u);          // é
  EXPECT_EQ(utf8_sequence_length("\xE4\xBD\xA0", 0), 3u);      // 你
  EXPECT_EQ(utf8_sequence_length("\xF0\x9F\xA6\x99", 0), 4u);  // 🦙
  EXPECT_EQ(utf8_sequence_length("\xC0\xAF", 0), 0u);          // overlong '/'
  EXPECT_EQ(utf8_sequence_length("\xE0\x80\xAF", 0), 0u);      // overlong
  EXPECT_EQ(utf8_sequence_length("\xED\xA0\x80", 0), 0u);      // surrogate U+D800
  EXPECT_EQ(utf8_sequence_length("\xF4\x90\x80\x80", 0), 0u);  // > U+10FFFF
  EXPECT_EQ(utf8_sequence_length("\xE4\xBD", 0), 0u);          // cut short
  EXPECT_EQ(utf8_sequence_length("\x80", 0), 0u);              // lone continuation
}

TEST(Utf8, SanitizeReplacesEachInvalidByte) {
  EXPECT_EQ(sanitize_utf8("ok \xC3\xA9"), "ok \xC3\xA9");
  EXPECT_EQ(sanitize_utf8("a\xFF"
                          "b"),
            std::string("a") + std::string(kReplacementChar) + "b");
  EXPECT_EQ(sanitize_utf8("\xE4\xBD"),
            std::string(kReplacementChar) + std::string(kReplacementChar));
  EXPECT_TRUE(is_valid_utf8(sanitize_utf8("\xF0\x9F\xA6 \xC0\xAF \xED\xA0\x80")));
}

TEST(Utf8, CompletePrefixHoldsBackOnlyUnfinishedCharacters) {
  EXPECT_EQ(utf8_complete_prefix("abc"), 3u);
  EXPECT_EQ(utf8_complete_prefix("ab\xF0\x9F"), 2u);  // first half of 🦙
  EXPECT_EQ(utf8_complete_prefix("ab\xF0\x9F\xA6"), 2u);
  EXPECT_EQ(utf8_complete_prefix("ab\xF0\x9F\xA6\x99"), 6u);  // complete
  EXPECT_EQ(utf8_complete_prefix("ab\xE4"), 2u);
  EXPECT_EQ(utf8_complete_prefix("ab\xFF"), 3u);      // invalid: nothing to wait for
  EXPECT_EQ(utf8_complete_prefix("ab\xE0\x80"), 4u);  // can never become valid
  EXPECT_EQ(utf8_complete_prefix(""), 0u);
}

TEST(ByteLevel, Gpt2Mapping) {
  // GPT-2's bytes_to_unicode: printable bytes keep their code point, the other 68 are renumbered
  // from U+0100 in byte order: 0x00 -> U+0100, space 0x20 -> U+0120 'Ġ', '\n' -> U+010A 'Ċ',
  // 0x7F -> U+0121, 0xAD -> U+0143.
  EXPECT_EQ(byte_level_codepoint('a'), uint32_t('a'));
  EXPECT_EQ(byte_level_codepoint(0x00), 0x100u);
  EXPECT_EQ(byte_level_codepoint(' '), 0x120u);
  EXPECT_EQ(byte_level_codepoint('\n'), 0x10Au);
  EXPECT_EQ(byte_level_codepoint(0x7F), 0x121u);
  EXPECT_EQ(byte_level_codepoint(0xAD), 0x143u);
  EXPECT_EQ(byte_level_codepoint(0xE9), 0xE9u);
  EXPECT_EQ(byte_level_encode(" hello\n"), "\xC4\xA0hello\xC4\x8A");
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  EXPECT_EQ(byte_level_decode(byte_level_encode(all)), all);
}

}  // namespace
}  // namespace silica

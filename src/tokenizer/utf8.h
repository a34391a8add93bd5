// UTF-8 helpers for the tokenizer: sequence lengths, validation, repair, complete prefixes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace silica {

// The UTF-8 encoding of U+FFFD, what invalid bytes become.
inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";

// Length of the valid UTF-8 sequence starting at s[pos], or 0 if it is invalid or cut short.
size_t utf8_sequence_length(std::string_view s, size_t pos);

bool is_valid_utf8(std::string_view s);

// s with every byte that does not start a valid sequence replaced by U+FFFD (as llama.cpp does).
std::string sanitize_utf8(std::string_view s);

// Length of the longest prefix of s that does not end inside an incomplete (but so far valid)
// multi-byte sequence: what a streaming decoder may emit now.
size_t utf8_complete_prefix(std::string_view s);

void append_utf8(std::string& out, uint32_t cpt);

}  // namespace silica

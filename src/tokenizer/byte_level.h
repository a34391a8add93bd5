// GPT-2 byte-level mapping: every byte <-> one printable Unicode character, so BPE vocabularies
// can store arbitrary bytes as text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace silica {

// The code point GPT-2 assigns to a byte: printable Latin-1 bytes map to themselves, the other
// 68 bytes (controls, space, 0x7F-0xA0, 0xAD) to U+0100.. in byte order.
uint32_t byte_level_codepoint(uint8_t byte);

// Bytes -> byte-level text (each byte becomes the UTF-8 of its code point).
std::string byte_level_encode(std::string_view bytes);

// Byte-level text -> bytes. A character outside the mapping (never produced by the encoder, but
// possible in hand-made vocabularies) is copied through as its own UTF-8.
std::string byte_level_decode(std::string_view text);

}  // namespace silica

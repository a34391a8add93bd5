// GPT-2 byte-level mapping tables, built once on first use.
#include "tokenizer/byte_level.h"

#include <array>
#include <unordered_map>

#include "tokenizer/utf8.h"

namespace silica {
namespace {

bool maps_to_itself(int b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct ByteTables {
  std::array<uint32_t, 256> to_cpt{};
  std::array<std::string, 256> to_utf8;
  std::unordered_map<uint32_t, uint8_t> from_cpt;

  ByteTables() {
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      to_cpt[b] = maps_to_itself(b) ? static_cast<uint32_t>(b) : next++;
      append_utf8(to_utf8[b], to_cpt[b]);
      from_cpt.emplace(to_cpt[b], static_cast<uint8_t>(b));
    }
  }
};

const ByteTables& tables() {
  static const ByteTables kTables;
  return kTables;
}

// Decode one UTF-8 code point at s[pos] (the input is known to be valid there).
uint32_t decode_cpt(std::string_view s, size_t pos, size_t n) {
  const auto b0 = static_cast<uint8_t>(s[pos]);
  if (n == 1) return b0;
  uint32_t cpt = b0 & (0x7F >> n);
  for (size_t i = 1; i < n; ++i) cpt = (cpt << 6) | (static_cast<uint8_t>(s[pos + i]) & 0x3F);
  return cpt;
}

}  // namespace

uint32_t byte_level_codepoint(uint8_t byte) {
  return tables().to_cpt[byte];
}

std::string byte_level_encode(std::string_view bytes) {
  const auto& t = tables();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += t.to_utf8[static_cast<uint8_t>(c)];
  return out;
}

std::string byte_level_decode(std::string_view text) {
  const auto& t = tables();
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t n = utf8_sequence_length(text, i);
    if (n == 0) {  // not UTF-8 at all: keep the byte
      out += text[i++];
      continue;
    }
    const auto it = t.from_cpt.find(decode_cpt(text, i, n));
    if (it != t.from_cpt.end()) {
      out += static_cast<char>(it->second);
    } else {
      out.append(text.data() + i, n);
    }
    i += n;
  }
  return out;
}

}  // namespace silica

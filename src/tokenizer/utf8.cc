// UTF-8 helpers: strict decoding rules (no overlongs, no surrogates, nothing past U+10FFFF).
#include "tokenizer/utf8.h"

namespace silica {
namespace {

bool is_continuation(uint8_t b) {
  return (b & 0xC0) == 0x80;
}

// Sequence length announced by a lead byte, 0 for bytes that cannot start a sequence.
size_t lead_length(uint8_t b) {
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) return 2;
  if (b >= 0xE0 && b <= 0xEF) return 3;
  if (b >= 0xF0 && b <= 0xF4) return 4;
  return 0;
}

// The allowed range of the second byte depends on the lead byte: this is what rules out
// overlong forms (E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and > U+10FFFF (F4 90..).
bool second_byte_ok(uint8_t lead, uint8_t b) {
  switch (lead) {
    case 0xE0:
      return b >= 0xA0 && b <= 0xBF;
    case 0xED:
      return b >= 0x80 && b <= 0x9F;
    case 0xF0:
      return b >= 0x90 && b <= 0xBF;
    case 0xF4:
      return b >= 0x80 && b <= 0x8F;
    default:
      return is_continuation(b);
  }
}

// How many bytes of the sequence at pos are present and consistent (<= its announced length).
size_t valid_prefix_length(std::string_view s, size_t pos, size_t need) {
  const auto lead = static_cast<uint8_t>(s[pos]);
  size_t n = 1;
  while (n < need && pos + n < s.size()) {
    const auto b = static_cast<uint8_t>(s[pos + n]);
    if (!(n == 1 ? second_byte_ok(lead, b) : is_continuation(b))) break;
    ++n;
  }
  return n;
}

}  // namespace

size_t utf8_sequence_length(std::string_view s, size_t pos) {
  const size_t need = lead_length(static_cast<uint8_t>(s[pos]));
  if (need <= 1) return need;
  return valid_prefix_length(s, pos, need) == need ? need : 0;
}

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string sanitize_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_sequence_length(s, i);
    if (n == 0) {
      out += kReplacementChar;
      ++i;
    } else {
      out.append(s.data() + i, n);
      i += n;
    }
  }
  return out;
}

size_t utf8_complete_prefix(std::string_view s) {
  // Only the last 3 bytes can belong to an unfinished sequence (4 bytes at most).
  const size_t lo = s.size() > 3 ? s.size() - 3 : 0;
  for (size_t pos = s.size(); pos-- > lo;) {
    const auto b = static_cast<uint8_t>(s[pos]);
    if (is_continuation(b)) continue;
    const size_t need = lead_length(b);
    if (need <= 1) return s.size();
    const size_t have = s.size() - pos;
    // Hold back only a sequence that can still become valid: bytes so far consistent, too few.
    return (have < need && valid_prefix_length(s, pos, need) == have) ? pos : s.size();
  }
  return s.size();
}

void append_utf8(std::string& out, uint32_t cpt) {
  if (cpt < 0x80) {
    out += static_cast<char>(cpt);
  } else if (cpt < 0x800) {
    out += static_cast<char>(0xC0 | (cpt >> 6));
    out += static_cast<char>(0x80 | (cpt & 0x3F));
  } else if (cpt < 0x10000) {
    out += static_cast<char>(0xE0 | (cpt >> 12));
    out += static_cast<char>(0x80 | ((cpt >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cpt & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cpt >> 18));
    out += static_cast<char>(0x80 | ((cpt >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cpt >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cpt & 0x3F));
  }
}

}  // namespace silica

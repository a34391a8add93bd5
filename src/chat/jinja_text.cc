// UTF-8 text helpers for the Jinja engine: JavaScript's view of strings (UTF-16 units, its
// whitespace set, case mapping) over the UTF-8 strings silica keeps.
#include "chat/jinja_value.h"

namespace silica::jinja {

char32_t decode_utf8(std::string_view s, size_t& pos) {
  unsigned char c = s[pos];
  int n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
  if (n < 0 || pos + n >= s.size() + (n ? 0 : 1)) {
    ++pos;
    return n == 0 ? c : 0xfffd;  // malformed bytes read as U+FFFD, as a TextDecoder would
  }
  char32_t cp = n == 0 ? c : c & (0x3f >> n);
  for (int k = 1; k <= n; ++k) {
    unsigned char d = s[pos + k];
    if ((d & 0xc0) != 0x80) {
      ++pos;
      return 0xfffd;
    }
    cp = (cp << 6) | (d & 0x3f);
  }
  pos += n + 1;
  return cp;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += char(c);
  } else if (c < 0x800) {
    out += char(0xc0 | (c >> 6));
    out += char(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    out += char(0xe0 | (c >> 12));
    out += char(0x80 | ((c >> 6) & 0x3f));
    out += char(0x80 | (c & 0x3f));
  } else {
    out += char(0xf0 | (c >> 18));
    out += char(0x80 | ((c >> 12) & 0x3f));
    out += char(0x80 | ((c >> 6) & 0x3f));
    out += char(0x80 | (c & 0x3f));
  }
}

std::u16string to_utf16(std::string_view s) {
  std::u16string out;
  out.reserve(s.size());
  for (size_t pos = 0; pos < s.size();) {
    char32_t c = decode_utf8(s, pos);
    if (c >= 0x10000) {
      c -= 0x10000;
      out += char16_t(0xd800 + (c >> 10));
      out += char16_t(0xdc00 + (c & 0x3ff));
    } else {
      out += char16_t(c);
    }
  }
  return out;
}

std::string from_utf16(std::u16string_view s) {
  std::string out;
  for (size_t k = 0; k < s.size(); ++k) {
    char32_t c = s[k];
    if (c >= 0xd800 && c < 0xdc00 && k + 1 < s.size() && s[k + 1] >= 0xdc00 && s[k + 1] < 0xe000) {
      c = 0x10000 + ((c - 0xd800) << 10) + (s[k + 1] - 0xdc00);
      ++k;
    }
    append_utf8(out, c);  // a lone surrogate stays as its 3-byte form
  }
  return out;
}

std::vector<std::string> code_points(std::string_view s) {
  std::vector<std::string> out;
  for (size_t pos = 0; pos < s.size();) {
    size_t start = pos;
    decode_utf8(s, pos);
    out.emplace_back(s.substr(start, pos - start));
  }
  return out;
}

size_t utf16_length(std::string_view s) {
  size_t n = 0;
  for (size_t pos = 0; pos < s.size();) n += decode_utf8(s, pos) >= 0x10000 ? 2 : 1;
  return n;
}

bool js_is_space(char32_t c) {
  return c == ' ' || (c >= 0x09 && c <= 0x0d) || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
         c == 0x3000 || c == 0xfeff;
}

std::string js_trim(std::string_view s, bool start, bool end) {
  size_t b = 0, e = s.size();
  if (start) {
    while (b < e) {
      size_t pos = b;
      if (!js_is_space(decode_utf8(s, pos))) break;
      b = pos;
    }
  }
  if (end) {
    while (e > b) {
      size_t back = e - 1;
      while (back > b && (static_cast<unsigned char>(s[back]) & 0xc0) == 0x80) --back;
      size_t pos = back;
      if (!js_is_space(decode_utf8(s, pos))) break;
      e = back;
    }
  }
  return std::string(s.substr(b, e - b));
}

namespace {

// Simple case pairs for the scripts chat text meets most: ASCII, Latin-1, Latin Extended-A,
// Greek and Cyrillic. Other scripts pass through unchanged.
char32_t to_upper_cp(char32_t c) {
  if (c >= 'a' && c <= 'z') return c - 32;
  if (c < 0x80) return c;
  if ((c >= 0xe0 && c <= 0xfe && c != 0xf7)) return c - 32;
  if (c == 0xff) return 0x178;
  if (c == 0xb5) return 0x39c;
  if (c >= 0x100 && c <= 0x17f && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 &&
      c != 0x17f) {
    bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e);
    return odd_upper ? ((c & 1) ? c : c - 1) : ((c & 1) ? c - 1 : c);
  }
  if (c >= 0x3b1 && c <= 0x3c9 && c != 0x3c2) return c - 32;
  if (c == 0x3c2) return 0x3a3;
  if (c >= 0x430 && c <= 0x44f) return c - 32;
  if (c >= 0x450 && c <= 0x45f) return c - 80;
  return c;
}

char32_t to_lower_cp(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c < 0x80) return c;
  if (c >= 0xc0 && c <= 0xde && c != 0xd7) return c + 32;
  if (c == 0x178) return 0xff;
  if (c >= 0x100 && c <= 0x17f && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 &&
      c != 0x17f) {
    bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e);
    return odd_upper ? ((c & 1) ? c + 1 : c) : ((c & 1) ? c : c + 1);
  }
  if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2) return c + 32;
  if (c >= 0x410 && c <= 0x42f) return c + 32;
  if (c >= 0x400 && c <= 0x40f) return c + 80;
  return c;
}

std::string map_case(std::string_view s, bool upper) {
  std::string out;
  out.reserve(s.size());
  for (size_t pos = 0; pos < s.size();) {
    char32_t c = decode_utf8(s, pos);
    if (upper && c == 0xdf) {
      out += "SS";  // ß has no single uppercase letter
      continue;
    }
    append_utf8(out, upper ? to_upper_cp(c) : to_lower_cp(c));
  }
  return out;
}

}  // namespace

std::string js_upper(std::string_view s) {
  return map_case(s, true);
}
std::string js_lower(std::string_view s) {
  return map_case(s, false);
}

}  // namespace silica::jinja

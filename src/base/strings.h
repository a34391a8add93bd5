// Small string helpers shared by the layers (parsers of sysfs files, Modelfiles, tool calls).
#pragma once

#include <string_view>

namespace silica {

// ASCII whitespace as isspace() in the "C" locale: space, \t, \n, \v, \f, \r. Not locale
// dependent, and safe for bytes >= 0x80 (UTF-8 continuation bytes are never space).
constexpr bool is_ascii_space(char c) {
  return c == ' ' || (c >= '\t' && c <= '\r');
}

// s without its leading and trailing ASCII whitespace (a view into s).
constexpr std::string_view trim_ascii_space(std::string_view s) {
  while (!s.empty() && is_ascii_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ascii_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace silica

#include "base/strings.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>

namespace silica {
namespace {

TEST(Strings, AsciiSpaceIsCLocaleIsspace) {
  for (int c = 0; c < 256; ++c)
    EXPECT_EQ(is_ascii_space(char(c)), std::isspace(c) != 0) << "byte " << c;
}

TEST(Strings, TrimTakesSpaceFromBothEndsOnly) {
  EXPECT_EQ(trim_ascii_space("  a b\t\r\n"), "a b");
  EXPECT_EQ(trim_ascii_space("\v\fx"), "x");
  EXPECT_EQ(trim_ascii_space("x"), "x");
  EXPECT_EQ(trim_ascii_space(" \t\n "), "");
  EXPECT_EQ(trim_ascii_space(""), "");
  // UTF-8 (a no-break space's bytes, 0xC2 0xA0) is not ASCII space and stays.
  const std::string nbsp = "\xC2\xA0y\xC2\xA0";
  EXPECT_EQ(trim_ascii_space(nbsp), nbsp);
  static_assert(trim_ascii_space(" c ") == "c");
}

}  // namespace
}  // namespace silica

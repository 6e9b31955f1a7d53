#include "agent/log_utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace eroom::agent {
namespace {

constexpr char kFffd[] = "\xEF\xBF\xBD";

struct RepairCase {
  std::string input;
  std::string expected;
  size_t replacements;
};

// Raw bytes would garble test listings; the index names each case.
void PrintTo(const RepairCase& c, std::ostream* out) {
  *out << c.input.size() << "-byte input";
}

class RepairUtf8Test : public testing::TestWithParam<RepairCase> {};

TEST_P(RepairUtf8Test, ReplacesEachMaximalIllFormedSubpart) {
  std::string text = GetParam().input;
  EXPECT_EQ(RepairUtf8(text), GetParam().replacements);
  EXPECT_EQ(text, GetParam().expected);
}

std::string F(int n) {
  std::string result;
  for (int i = 0; i < n; ++i) result += kFffd;
  return result;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RepairUtf8Test,
    testing::Values(
        RepairCase{"", "", 0}, RepairCase{"plain ascii", "plain ascii", 0},
        RepairCase{"서버가 시작되었습니다 🎉", "서버가 시작되었습니다 🎉", 0},
        RepairCase{std::string("a\0b", 3), std::string("a\0b", 3), 0},
        // Boundaries of the valid ranges.
        RepairCase{"\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80"
                   "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF",
                   "\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80"
                   "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF",
                   0},
        // Stray continuation bytes and bytes that never appear.
        RepairCase{"a\x80z", "a" + F(1) + "z", 1},
        RepairCase{"\xBF\xBF", F(2), 2}, RepairCase{"\xFF\xFE\xF5", F(3), 3},
        // Overlong forms.
        RepairCase{"\xC0\xAF", F(2), 2}, RepairCase{"\xE0\x80\xAF", F(3), 3},
        RepairCase{"\xF0\x80\x80\xAF", F(4), 4},
        // Surrogates and code points above U+10FFFF.
        RepairCase{"\xED\xA0\x80", F(3), 3},
        RepairCase{"\xF4\x90\x80\x80", F(4), 4},
        // A truncated sequence is one subpart, also at the end of the text.
        RepairCase{"x\xF0\x9F\x98y", "x" + F(1) + "y", 1},
        RepairCase{"x\xE2\x82", "x" + F(1), 1},
        RepairCase{"\xE2\x82\xE2\x82\xAC", F(1) + "\xE2\x82\xAC", 1},
        // CP949 "가나" (hosts that ran on Windows).
        RepairCase{"\xB0\xA1\xB3\xAA", F(4), 4},
        // CP949 bytes that happen to start a UTF-8 lead: C7 D1 = "한".
        RepairCase{"\xC7\xD1 ok", F(2) + " ok", 2}));

TEST(TruncateUtf8Test, NeverSplitsACharacter) {
  std::string text = "ab가나";  // 2 + 3 + 3 bytes.
  EXPECT_FALSE(TruncateUtf8(text, 8));
  EXPECT_EQ(text, "ab가나");
  EXPECT_TRUE(TruncateUtf8(text, 7));
  EXPECT_EQ(text, "ab가");
  text = "ab가나";
  EXPECT_TRUE(TruncateUtf8(text, 5));
  EXPECT_EQ(text, "ab가");
  text = "ab가나";
  EXPECT_TRUE(TruncateUtf8(text, 4));
  EXPECT_EQ(text, "ab");
  text = "가";
  EXPECT_TRUE(TruncateUtf8(text, 2));
  EXPECT_EQ(text, "");
}

}  // namespace
}  // namespace eroom::agent

#include "common/utf8.h"

#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace eroom {
namespace {

using ::testing::AllOf;
using ::testing::Field;
using ::testing::Optional;

auto IsCharacter(char32_t code_point, size_t bytes) {
  return Optional(AllOf(Field(&Utf8Character::code_point, code_point),
                        Field(&Utf8Character::bytes, bytes)));
}

TEST(FirstUtf8CharacterTest, ReadsOneCharacterOfEachLength) {
  EXPECT_THAT(FirstUtf8Character("abc"), IsCharacter('a', 1));
  EXPECT_THAT(FirstUtf8Character(std::string(1, '\0')), IsCharacter(0, 1));
  EXPECT_THAT(FirstUtf8Character("ÿ!"), IsCharacter(0xFF, 2));
  EXPECT_THAT(FirstUtf8Character("실패"), IsCharacter(0xC2E4, 3));
  EXPECT_THAT(FirstUtf8Character("𠀀"), IsCharacter(0x20000, 4));
  EXPECT_THAT(FirstUtf8Character("\xF4\x8F\xBF\xBF"), IsCharacter(0x10FFFF, 4));
}

TEST(FirstUtf8CharacterTest, RefusesWhatIsNotWellFormed) {
  for (const char* text : {
           "",                  // Nothing.
           "\x80",              // A continuation byte.
           "\xFF",              // No UTF-8 has it.
           "\xEA\xB0",          // Cut short.
           "\xEA\x41\x80",      // A character that is no continuation.
           "\xC1\xA1",          // 'a' in two bytes.
           "\xE0\x80\x80",      // NUL in three.
           "\xED\xA0\x80",      // A surrogate.
           "\xF4\x90\x80\x80",  // Past U+10FFFF.
       }) {
    EXPECT_EQ(FirstUtf8Character(text), std::nullopt) << text;
  }
}

TEST(IllFormedUtf8LengthTest, TakesTheLongestStartOfAWellFormedSequence) {
  EXPECT_EQ(IllFormedUtf8Length("\x80\x80"), 1u);      // A continuation byte.
  EXPECT_EQ(IllFormedUtf8Length("\xFF\x80"), 1u);      // No UTF-8 has it.
  EXPECT_EQ(IllFormedUtf8Length("\xC0\xAF"), 1u);      // Overlong lead.
  EXPECT_EQ(IllFormedUtf8Length("\xE0\x80\xAF"), 1u);  // Overlong.
  EXPECT_EQ(IllFormedUtf8Length("\xED\xA0\x80"), 1u);  // A surrogate.
  EXPECT_EQ(IllFormedUtf8Length("\xF4\x90\x80"), 1u);  // Past U+10FFFF.
  EXPECT_EQ(IllFormedUtf8Length("\xE2\x82"), 2u);      // Cut short.
  EXPECT_EQ(IllFormedUtf8Length("\xE2\x82z"), 2u);
  EXPECT_EQ(IllFormedUtf8Length("\xF0\x9F\x98y"), 3u);
  EXPECT_EQ(IllFormedUtf8Length("\xF0\x9F\x98"), 3u);
}

TEST(IsWellFormedUtf8Test, FindsTheBadSequenceAtEveryPosition) {
  // ASCII is checked a word at a time: put the bad byte (and a good
  // character) at every offset around the word boundaries.
  for (size_t length = 0; length <= 40; ++length) {
    const std::string ascii(length, 'a');
    EXPECT_TRUE(IsWellFormedUtf8(ascii));
    for (size_t pos = 0; pos <= length; ++pos) {
      for (const std::string insert : {"\xFF", "\xE2\x82", "\xC0\xAF"}) {
        std::string text = ascii;
        text.insert(pos, insert);
        EXPECT_EQ(FirstIllFormedUtf8(text), pos) << length << " " << pos;
      }
      std::string text = ascii;
      text.insert(pos, "가");
      EXPECT_TRUE(IsWellFormedUtf8(text)) << length << " " << pos;
      // After a good character, the bad one is found all the same.
      text.insert(pos + 3, "\xF4\x90\x80\x80");
      EXPECT_EQ(FirstIllFormedUtf8(text), pos + 3) << length << " " << pos;
    }
  }
  EXPECT_TRUE(IsWellFormedUtf8(std::string("\0\0\0\0\0\0\0\0\0", 9)));
}

TEST(Utf8PrefixTest, NeverEndsInsideACharacter) {
  EXPECT_EQ(Utf8Prefix("ab가나", 8), "ab가나");  // 2 + 3 + 3 bytes.
  EXPECT_EQ(Utf8Prefix("ab가나", 7), "ab가");
  EXPECT_EQ(Utf8Prefix("ab가나", 4), "ab");
  EXPECT_EQ(Utf8Prefix("가", 2), "");
}

}  // namespace
}  // namespace eroom

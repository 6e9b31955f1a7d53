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

}  // namespace
}  // namespace eroom

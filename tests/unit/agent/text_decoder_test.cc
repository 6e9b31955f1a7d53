#include "agent/text_decoder.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/unit/test_support/status_matchers.h"

namespace eroom::agent {

using ::eroom::test_support::IsOk;
namespace {

// "테스트 서버" in CP949.
constexpr char kCp949Text[] = "\xC5\xD7\xBD\xBA\xC6\xAE \xBC\xAD\xB9\xF6";
constexpr char kReplacement[] = "\xEF\xBF\xBD";

std::unique_ptr<TextDecoder> Cp949() {
  absl::StatusOr<std::unique_ptr<TextDecoder>> decoder =
      TextDecoder::Create("CP949");
  EXPECT_THAT(decoder, IsOk());
  return decoder.ok() ? std::move(*decoder) : nullptr;
}

TEST(TextDecoderTest, RecognisesUtf8Names) {
  EXPECT_TRUE(IsUtf8EncodingName("utf-8"));
  EXPECT_TRUE(IsUtf8EncodingName("UTF8"));
  EXPECT_FALSE(IsUtf8EncodingName("cp949"));
  EXPECT_FALSE(IsUtf8EncodingName(""));
}

TEST(TextDecoderTest, RejectsUnknownEncoding) {
  absl::StatusOr<std::unique_ptr<TextDecoder>> decoder =
      TextDecoder::Create("klingon-8");
  EXPECT_EQ(decoder.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(decoder.status().message().find("klingon-8"), std::string::npos);
}

TEST(TextDecoderTest, ConvertsCp949) {
  std::unique_ptr<TextDecoder> decoder = Cp949();
  std::string out;
  EXPECT_EQ(decoder->Decode(kCp949Text, false, out), 0u);
  EXPECT_EQ(out, "테스트 서버");
  // The buffer is reused: shorter input leaves nothing behind.
  EXPECT_EQ(decoder->Decode("ok", false, out), 0u);
  EXPECT_EQ(out, "ok");
}

TEST(TextDecoderTest, InvalidSequencesBecomeReplacementCharacters) {
  std::unique_ptr<TextDecoder> decoder = Cp949();
  std::string out;
  // 0x80 and 0xFF are no lead bytes; C5 followed by a space (no trail
  // byte) loses only the C5.
  EXPECT_EQ(decoder->Decode("a\x80"
                            "b\xFF"
                            "c\xC5"
                            " d",
                            false, out),
            3u);
  EXPECT_EQ(out, std::string("a") + kReplacement + "b" + kReplacement + "c" +
                     kReplacement + " d");
}

TEST(TextDecoderTest, IncompleteCharacterAtTheEnd) {
  std::unique_ptr<TextDecoder> decoder = Cp949();
  std::string out;
  EXPECT_EQ(decoder->Decode("ab\xC5", false, out), 1u);
  EXPECT_EQ(out, std::string("ab") + kReplacement);
  // Cut there by the size limit: not the file's fault, not counted.
  EXPECT_EQ(decoder->Decode("ab\xC5", true, out), 0u);
  EXPECT_EQ(out, "ab");
}

TEST(TextDecoderTest, NulBytesAndEveryByteValueAreSafe) {
  std::unique_ptr<TextDecoder> decoder = Cp949();
  std::string out;
  const std::string nul("a\0b", 3);
  EXPECT_EQ(decoder->Decode(nul, false, out), 0u);
  EXPECT_EQ(out, nul);

  std::string every_byte;
  for (int repeat = 0; repeat < 3; ++repeat) {
    for (int byte = 0; byte < 256; ++byte) every_byte.push_back(byte);
  }
  decoder->Decode(every_byte, false, out);
  EXPECT_FALSE(out.empty());
}

TEST(TextDecoderTest, OtherEncodingsThroughIconv) {
  absl::StatusOr<std::unique_ptr<TextDecoder>> latin1 =
      TextDecoder::Create("ISO-8859-1");
  ASSERT_THAT(latin1, IsOk());
  std::string out;
  EXPECT_EQ((*latin1)->Decode("caf\xE9", false, out), 0u);
  EXPECT_EQ(out, "café");
}

}  // namespace
}  // namespace eroom::agent

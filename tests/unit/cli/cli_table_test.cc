#include <sstream>

#include "cli/table.h"
#include "gtest/gtest.h"

namespace eroom::cli {
namespace {

TEST(DisplayWidthTest, AsciiCountsOnePerCharacter) {
  EXPECT_EQ(DisplayWidth(""), 0);
  EXPECT_EQ(DisplayWidth("healthy"), 7);
}

TEST(DisplayWidthTest, HangulCountsTwoPerSyllable) {
  EXPECT_EQ(DisplayWidth("대기중"), 6);
  EXPECT_EQ(DisplayWidth("401 인증 실패"), 4 + 4 + 1 + 4);
}

TEST(DisplayWidthTest, OtherMultiByteCharactersCountOne) {
  EXPECT_EQ(DisplayWidth("é°"), 2);
}

TEST(DisplayWidthTest, InvalidUtf8CountsOnePerByte) {
  EXPECT_EQ(DisplayWidth("\xff\xfe"), 2);
  // A truncated 3-byte sequence at the end.
  EXPECT_EQ(DisplayWidth("a\xea\xb0"), 3);
}

TEST(CutToWidthTest, KeepsWholeCodePointsWithinTheColumns) {
  EXPECT_EQ(CutToWidth("healthy", 4), "heal");
  EXPECT_EQ(CutToWidth("healthy", 20), "healthy");
  EXPECT_EQ(CutToWidth("healthy", 0), "");
  // A wide character that would straddle the edge is left out whole.
  EXPECT_EQ(CutToWidth("대기중", 5), "대기");
  EXPECT_EQ(CutToWidth("a▁▂▃", 3), "a▁▂");
  EXPECT_EQ(CutToWidth("ab\xff", 3), "ab\xff");
}

TEST(TableTest, AlignsColumnsByDisplayWidth) {
  Table table({"NAME", "STATUS", "NOTE"});
  table.AddRow({"a", "대기중", "x"});
  table.AddRow({"longer", "ok", "y"});
  std::ostringstream out;
  table.Render(out);
  EXPECT_EQ(out.str(),
            "NAME    STATUS  NOTE\n"
            "a       대기중  x\n"
            "longer  ok      y\n");
}

TEST(TableTest, RightAlignsNumericColumnsAndFillsMissingCells) {
  Table table({"HOST", "QUEUED"});
  table.SetAlign(1, Table::Align::kRight);
  table.AddRow({"web-1", "5"});
  table.AddRow({"web-22"});
  std::ostringstream out;
  table.Render(out);
  EXPECT_EQ(out.str(),
            "HOST    QUEUED\n"
            "web-1        5\n"
            "web-22        \n");
}

TEST(TableTest, LastColumnIsNotPadded) {
  Table table({"A", "MESSAGE"});
  table.AddRow({"1", "a long message"});
  table.AddRow({"2", "short"});
  std::ostringstream out;
  table.Render(out);
  EXPECT_EQ(out.str(),
            "A  MESSAGE\n"
            "1  a long message\n"
            "2  short\n");
}

}  // namespace
}  // namespace eroom::cli

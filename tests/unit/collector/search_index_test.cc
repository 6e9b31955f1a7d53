#include "collector/sqlite/search_index.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "SQLiteCpp/Transaction.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "collector/sqlite/schema.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "re2/re2.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::collector {

using ::eroom::test_support::IsOk;
using ::eroom::test_support::TempDirTest;
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Optional;

const std::function<bool()> kNeverStop = [] { return false; };

TEST(TrigramMatchExpressionTest, ShorterThanATrigramHasNone) {
  EXPECT_EQ(TrigramMatchExpression("ab"), std::nullopt);
  EXPECT_EQ(TrigramMatchExpression("비즈"), std::nullopt);
}

TEST(TrigramMatchExpressionTest, TrigramsSideBySideAndTheLastOne) {
  EXPECT_THAT(TrigramMatchExpression("abc"), Optional(std::string("\"abc\"")));
  EXPECT_THAT(TrigramMatchExpression("timeout"),
              Optional(std::string("\"tim\" AND \"eou\" AND \"out\"")));
  EXPECT_THAT(TrigramMatchExpression("abcdef"),
              Optional(std::string("\"abc\" AND \"def\"")));
}

TEST(TrigramMatchExpressionTest, CountsCodePointsNotBytes) {
  EXPECT_THAT(TrigramMatchExpression("비즈니스"),
              Optional(std::string("\"비즈니\" AND \"즈니스\"")));
}

TEST(TrigramMatchExpressionTest, LongTextLooksUpAFewTrigramsSpreadOverIt) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += absl::StrCat("w", 100 + i, "|");
  std::optional<std::string> match = TrigramMatchExpression(text);
  ASSERT_TRUE(match.has_value());
  const std::vector<std::string> terms = absl::StrSplit(*match, " AND ");
  EXPECT_EQ(terms.size(), kMaxMatchTrigrams);
  EXPECT_EQ(terms.front(), "\"w10\"");
  EXPECT_EQ(terms.back(), "\"99|\"");
}

TEST(TrigramMatchExpressionTest, TrigramsAcrossALineBreakAreLeftOut) {
  EXPECT_THAT(TrigramMatchExpression("abc\ndef"),
              Optional(std::string("\"abc\" AND \"def\"")));
  EXPECT_THAT(TrigramMatchExpression("ab\ncdef"),
              Optional(std::string("\"cde\" AND \"def\"")));
  EXPECT_EQ(TrigramMatchExpression("a\nb"), std::nullopt);
  EXPECT_EQ(TrigramMatchExpression("ab\ncd"), std::nullopt);
}

TEST(TrigramMatchExpressionTest, QuotesAreDoubled) {
  EXPECT_THAT(TrigramMatchExpression("a\"b"),
              Optional(std::string("\"a\"\"b\"")));
}

TEST(IndexedSearchForTest, TrigramsFromThreeCodePoints) {
  std::optional<IndexedSearch> search = IndexedSearchFor("실패함");
  ASSERT_TRUE(search.has_value());
  EXPECT_EQ(search->match, "\"실패함\"");
  EXPECT_THAT(search->condition, ::testing::HasSubstr("log_terms"));
}

TEST(IndexedSearchForTest, PairsForTwoUnspacedCharacters) {
  for (const char* word : {"실패", "오류", "失敗", "エラ"}) {
    std::optional<IndexedSearch> search = IndexedSearchFor(word);
    ASSERT_TRUE(search.has_value()) << word;
    EXPECT_EQ(search->match, absl::StrCat("\"", word, "\""));
    EXPECT_THAT(search->condition, ::testing::HasSubstr("log_terms"));
  }
}

TEST(IndexedSearchForTest, NoneForOtherShortText) {
  for (const char* text : {"ok", "실", "a실", "실 ", "é!"}) {
    EXPECT_EQ(IndexedSearchFor(text), std::nullopt) << text;
  }
}

class SearchIndexTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    path_ = PathIn("collector.db");
    db_ = std::make_unique<SQLite::Database>(
        path_, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db_->exec("PRAGMA journal_mode = WAL");
    ASSERT_THAT(MigrateSchema(*db_, CollectorSchema()), IsOk());
    db_->exec(
        "INSERT INTO hosts (agent_id, first_seen_ms, last_seen_ms) "
        "VALUES ('a', 0, 0)");
  }

  void AddEvents(const std::vector<std::string>& messages) {
    SQLite::Transaction txn(*db_);
    SQLite::Statement insert(*db_, R"sql(
        INSERT INTO log_events (agent_id, sequence, time_ms, received_ms,
          source, file_offset, level, message, event_type, fields, ruid,
          truncated, has_header)
        VALUES ('a', ?1, 0, 0, 1, 0, 0, ?2, '', '{}', '', 0, 1))sql");
    for (const std::string& message : messages) {
      insert.reset();
      insert.bind(1, ++sequence_);
      insert.bind(2, message);
      insert.exec();
    }
    txn.commit();
  }

  // Adds each of `messages` alone in its index block: the rest of the block
  // holds events with an empty message, which have no terms.
  void AddEventsApart(const std::vector<std::string>& messages) {
    for (const std::string& message : messages) {
      std::vector<std::string> block = {message};
      while ((sequence_ + static_cast<int64_t>(block.size()) + 1) %
                 kEventsPerIndexBlock !=
             0) {
        block.emplace_back();
      }
      AddEvents(block);
    }
  }

  std::unique_ptr<SearchIndex> Open() {
    auto index = SearchIndex::Open(path_);
    EXPECT_THAT(index, IsOk());
    return index.ok() ? *std::move(index) : nullptr;
  }

  // The index, with every event in it; null if that failed.
  std::unique_ptr<SearchIndex> OpenAndIndexEverything() {
    std::unique_ptr<SearchIndex> index = Open();
    if (index == nullptr) return nullptr;
    absl::StatusOr<int> added;
    do {
      added = index->IndexNext(1000, kNeverStop);
      EXPECT_THAT(added, IsOk());
    } while (added.value_or(0) > 0);
    EXPECT_EQ(Progress().indexed_through, Progress().newest_event);
    return index;
  }

  // Messages of the events the index lookup of `text` selects, as a query
  // connection sees them, but for the empty ones. The LIKE pattern matching
  // any message leaves every event of the blocks the index lists.
  std::vector<std::string> Candidates(const std::string& text,
                                      const std::string& like_pattern = "%") {
    SQLite::Database reader(path_, SQLite::OPEN_READONLY);
    AttachSearchIndex(reader, path_);
    const IndexedSearch search = IndexedSearchFor(text).value();
    SQLite::Statement query(
        reader,
        absl::StrCat("SELECT message FROM log_events WHERE ", search.condition,
                     " AND message <> '' ORDER BY id"));
    query.bind(1, search.match);
    query.bind(2, like_pattern);
    std::vector<std::string> messages;
    while (query.executeStep()) {
      messages.push_back(query.getColumn(0).getString());
    }
    return messages;
  }

  // The index blocks whose row holds each term of the lookup of `text`,
  // read from the index file alone.
  std::vector<int64_t> IndexedBlocks(const std::string& text) {
    SQLite::Database reader(SearchIndexPath(path_), SQLite::OPEN_READONLY);
    RegisterSearchIndexTokenizer(reader);
    SQLite::Statement query(reader,
                            "SELECT rowid FROM log_terms WHERE log_terms MATCH "
                            "? ORDER BY rowid");
    query.bind(1, IndexedSearchFor(text).value().match);
    std::vector<int64_t> blocks;
    while (query.executeStep()) blocks.push_back(query.getColumn(0).getInt64());
    return blocks;
  }

  // FTS5's check that the index agrees with the rows it was built from.
  void ExpectIndexIntact() {
    SQLite::Database index(SearchIndexPath(path_), SQLite::OPEN_READWRITE);
    RegisterSearchIndexTokenizer(index);
    EXPECT_NO_THROW(index.exec(
        "INSERT INTO log_terms (log_terms) VALUES ('integrity-check')"));
  }

  SearchIndexProgress Progress(const std::string& database_path) {
    auto progress = ReadSearchIndexProgress(database_path);
    EXPECT_THAT(progress, IsOk());
    return progress.value_or(SearchIndexProgress{});
  }
  SearchIndexProgress Progress() { return Progress(path_); }

  std::string path_;
  std::unique_ptr<SQLite::Database> db_;
  int64_t sequence_ = 0;
};

TEST_F(SearchIndexTest, IndexesInStepsUpToTheNewestEvent) {
  AddEvents({"alpha", "beta", "alphabet"});
  std::unique_ptr<SearchIndex> index = Open();
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->IndexNext(2, kNeverStop).value(), 2);
  EXPECT_EQ(Progress().indexed_through, 2);
  EXPECT_EQ(Progress().newest_event, 3);
  EXPECT_EQ(index->IndexNext(2, kNeverStop).value(), 1);
  EXPECT_EQ(index->IndexNext(2, kNeverStop).value(), 0);
  EXPECT_EQ(Progress().indexed_through, 3);
}

TEST_F(SearchIndexTest, LargeEventsMakeSmallerSteps) {
  const std::string four_mib(4 << 20, 'x');
  AddEvents({four_mib, four_mib, four_mib});
  std::unique_ptr<SearchIndex> index = Open();
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->IndexNext(10, kNeverStop).value(), 2);  // 8 MiB per step.
  EXPECT_EQ(index->IndexNext(10, kNeverStop).value(), 1);
  EXPECT_EQ(index->IndexNext(10, kNeverStop).value(), 0);
}

TEST_F(SearchIndexTest, EventsAboveTheWatermarkAreAlwaysCandidates) {
  AddEventsApart({"connection timeout", "room started", "timeout again"});
  std::unique_ptr<SearchIndex> index = Open();
  ASSERT_NE(index, nullptr);
  // Nothing indexed yet: every event is a candidate, for LIKE to test.
  EXPECT_THAT(
      Candidates("timeout"),
      ElementsAre("connection timeout", "room started", "timeout again"));
  // The first block and the first event of the second.
  ASSERT_EQ(index->IndexNext(kEventsPerIndexBlock, kNeverStop).value(),
            kEventsPerIndexBlock);
  EXPECT_THAT(Candidates("timeout"),
              ElementsAre("connection timeout", "timeout again"));
  ASSERT_GT(index->IndexNext(1000, kNeverStop).value(), 0);
  EXPECT_EQ(Progress().indexed_through, Progress().newest_event);
  EXPECT_THAT(Candidates("timeout"),
              ElementsAre("connection timeout", "timeout again"));
  EXPECT_THAT(Candidates("TIMEOUT"),  // Case-folded.
              ElementsAre("connection timeout", "timeout again"));
  EXPECT_THAT(Candidates("started"), ElementsAre("room started"));
}

TEST_F(SearchIndexTest, EventsOfABlockAreCandidatesTogether) {
  AddEvents({"connection timeout", "room started"});
  AddEventsApart({"", "room finished"});
  std::unique_ptr<SearchIndex> index = OpenAndIndexEverything();
  ASSERT_NE(index, nullptr);
  EXPECT_THAT(Candidates("timeout"),
              ElementsAre("connection timeout", "room started"));
  EXPECT_THAT(Candidates("finished"), ElementsAre("room finished"));
  // The pattern narrows the blocks' events, not those above the watermark.
  AddEvents({"started later"});
  EXPECT_THAT(Candidates("started", "%started%"),
              ElementsAre("room started", "started later"));
  EXPECT_THAT(Candidates("started", "%nothing%"), ElementsAre("started later"));
}

TEST_F(SearchIndexTest, TheBlockAtTheWatermarkIsIndexedAgainAsItFills) {
  AddEvents({"connection timeout"});
  std::unique_ptr<SearchIndex> index = Open();
  ASSERT_NE(index, nullptr);
  ASSERT_EQ(index->IndexNext(10, kNeverStop).value(), 1);
  AddEvents({"room started"});
  ASSERT_EQ(index->IndexNext(10, kNeverStop).value(), 1);
  EXPECT_THAT(IndexedBlocks("timeout"), ElementsAre(0));
  EXPECT_THAT(IndexedBlocks("started"), ElementsAre(0));
  ExpectIndexIntact();
}

// Blocks indexed in one step share their terms: each block lists its own,
// whatever the blocks before it listed.
TEST_F(SearchIndexTest, EachBlockListsTheTermsItSharesWithTheOnesBefore) {
  AddEventsApart({"timeout 방 생성 실패", "Timeout 방 생성 실패",
                  "late timeout, 방 생성 실패"});
  std::unique_ptr<SearchIndex> index = Open();
  ASSERT_NE(index, nullptr);
  ASSERT_EQ(index->IndexNext(1000, kNeverStop).value(),
            3 * kEventsPerIndexBlock - 1);
  for (const char* text : {"timeout", "out", "방 생성", "생성 실패", "실패"}) {
    EXPECT_THAT(IndexedBlocks(text), ElementsAre(0, 1, 2)) << text;
  }
  EXPECT_THAT(IndexedBlocks("late"), ElementsAre(2));
  ExpectIndexIntact();
}

TEST_F(SearchIndexTest, TermsKeepSpacesPunctuationQuotesAndLineBreaks) {
  AddEventsApart({"key=\"a b\" (x) 'q' \\ [y] {z}; 50% done_now",
                  "first line\nsecond line", "Timeout\tTAB"});
  std::unique_ptr<SearchIndex> index = OpenAndIndexEverything();
  ASSERT_NE(index, nullptr);
  for (const char* text : {"\"a b\"", "(x)", "'q'", " \\ ", "[y]", "{z};",
                           "50% ", "_no", "Y=\""}) {
    EXPECT_THAT(IndexedBlocks(text), ElementsAre(0)) << text;
  }
  EXPECT_THAT(IndexedBlocks("line\nsecond"), ElementsAre(1));
  EXPECT_THAT(IndexedBlocks("t\tt"), ElementsAre(2));
  EXPECT_THAT(IndexedBlocks("timeout\ttab"), ElementsAre(2));
  EXPECT_THAT(IndexedBlocks("d l"), ElementsAre(1));
  ExpectIndexIntact();
}

TEST_F(SearchIndexTest, ReopeningKeepsTheWatermark) {
  AddEvents({"one", "two"});
  ASSERT_EQ(Open()->IndexNext(10, kNeverStop).value(), 2);
  AddEvents({"three"});
  std::unique_ptr<SearchIndex> index = Open();
  EXPECT_EQ(Progress().indexed_through, 2);
  EXPECT_EQ(index->IndexNext(10, kNeverStop).value(), 1);
}

TEST_F(SearchIndexTest, IndexOfAnotherDatabaseIsRebuilt) {
  AddEvents({"one", "two"});
  ASSERT_EQ(Open()->IndexNext(10, kNeverStop).value(), 2);
  // Another database with an index file copied from this one.
  const std::string other = PathIn("other.db");
  {
    SQLite::Database db(other, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    ASSERT_THAT(MigrateSchema(db, CollectorSchema()), IsOk());
  }
  db_.reset();  // Checkpoints the WAL, so that the copy is whole.
  Open().reset();
  std::filesystem::copy_file(SearchIndexPath(path_), SearchIndexPath(other));
  auto index = SearchIndex::Open(other);
  ASSERT_THAT(index, IsOk());
  EXPECT_EQ(Progress(other).indexed_through, 0);
}

TEST_F(SearchIndexTest, WatermarkBeyondTheNewestEventRebuilds) {
  AddEvents({"one", "two"});
  ASSERT_EQ(Open()->IndexNext(10, kNeverStop).value(), 2);
  // The database went back to an older copy of itself.
  db_->exec("DELETE FROM log_events WHERE id = 2");
  std::unique_ptr<SearchIndex> index = Open();
  EXPECT_EQ(Progress().indexed_through, 0);
  EXPECT_EQ(index->IndexNext(10, kNeverStop).value(), 1);
}

TEST_F(SearchIndexTest, IndexOfAnotherFormatIsRebuilt) {
  AddEvents({"one"});
  ASSERT_EQ(Open()->IndexNext(10, kNeverStop).value(), 1);
  {
    SQLite::Database index(SearchIndexPath(path_), SQLite::OPEN_READWRITE);
    index.exec("PRAGMA user_version = 99");
  }
  std::unique_ptr<SearchIndex> index = Open();
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(Progress().indexed_through, 0);
  EXPECT_EQ(index->IndexNext(10, kNeverStop).value(), 1);
}

TEST_F(SearchIndexTest, DamagedIndexFileIsRebuilt) {
  AddEvents({"one"});
  {
    std::ofstream garbage(SearchIndexPath(path_), std::ios::binary);
    garbage << std::string(8192, 'x');
  }
  std::unique_ptr<SearchIndex> index = Open();
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->IndexNext(10, kNeverStop).value(), 1);
}

TEST_F(SearchIndexTest, ABlockLeavesTheIndexWithItsLastEvent) {
  AddEvents({"connection timeout", "timeout again"});
  AddEventsApart({""});
  AddEvents({"timeout late", "another timeout"});
  std::unique_ptr<SearchIndex> index = OpenAndIndexEverything();
  ASSERT_NE(index, nullptr);
  ASSERT_THAT(IndexedBlocks("timeout"), ElementsAre(0, 1));
  AddEvents({"timeout above the watermark"});
  const int64_t block_one = kEventsPerIndexBlock;
  const int64_t above = Progress().newest_event;
  // All of block 0, one event of block 1 and one never indexed.
  db_->exec(absl::StrCat("DELETE FROM log_events WHERE id < ",
                         kEventsPerIndexBlock, " OR id IN (", block_one, ", ",
                         above, ")"));
  std::vector<RemovedLogEvent> removed = {{.id = block_one}, {.id = above}};
  for (int64_t id = 1; id < kEventsPerIndexBlock; ++id) {
    removed.push_back({.id = id});
  }
  ASSERT_THAT(index->Forget(removed), IsOk());
  EXPECT_THAT(IndexedBlocks("timeout"), ElementsAre(1));
  EXPECT_THAT(Candidates("timeout"), ElementsAre("another timeout"));
  ExpectIndexIntact();
}

TEST_F(SearchIndexTest, TwoCharacterWordsOfUnspacedScriptsAreIndexed) {
  AddEventsApart({"방 생성실패: timeout", "실패했습니다", "실 패", "오류 발생",
                  "失敗しました", "failed"});
  std::unique_ptr<SearchIndex> index = OpenAndIndexEverything();
  ASSERT_NE(index, nullptr);
  EXPECT_THAT(Candidates("실패"),
              ElementsAre("방 생성실패: timeout", "실패했습니다"));
  EXPECT_THAT(Candidates("오류"), ElementsAre("오류 발생"));
  EXPECT_THAT(Candidates("失敗"), ElementsAre("失敗しました"));
  // Their trigrams (9 bytes) too, beside the pairs (6) and ASCII's (3).
  EXPECT_THAT(Candidates("생성실패"), ElementsAre("방 생성실패: timeout"));
  EXPECT_THAT(Candidates("했습니"), ElementsAre("실패했습니다"));
  AddEventsApart({"not indexed yet: 실패"});  // Above the watermark.
  EXPECT_THAT(Candidates("실패"),
              ElementsAre("방 생성실패: timeout", "실패했습니다",
                          "not indexed yet: 실패"));
}

// A block keeps each term once, told apart from the others however it is
// written: by its characters where they are UTF-8, by its bytes where they
// are not. An 'a' in two bytes is not UTF-8 (its shortest form is), nor is a
// byte \xFF alone, though ÿ is U+00FF; 𠀀 (U+20000) is Han, whose pairs of
// characters are terms.
TEST_F(SearchIndexTest, EachTermOfABlockIsToldApartFromTheOthers) {
  const std::string two_byte_a = "\xC1\xA1";
  const std::string byte_ff = "\xFF";
  const std::string byte_fe = "\xFE";
  const std::vector<std::string> messages = {two_byte_a + "bc",
                                             "abc",
                                             "a" + byte_ff + "b",
                                             "aÿb",
                                             "a" + byte_fe + "b",
                                             "𠀀𠀁",
                                             "𠀀𠀂"};
  AddEvents(messages);
  std::unique_ptr<SearchIndex> index = OpenAndIndexEverything();
  ASSERT_NE(index, nullptr);
  for (const std::string& text : messages) {
    EXPECT_THAT(IndexedBlocks(text), ElementsAre(0)) << absl::CHexEscape(text);
  }
  EXPECT_THAT(IndexedBlocks("𠀁𠀂"), IsEmpty());
  ExpectIndexIntact();
}

// The characters of `message` as the index takes them: a lead byte and the
// continuation bytes after it, each as its bytes (continuation bytes that
// start the message belong to none).
std::vector<std::string> IndexedCharacters(const std::string& message) {
  std::vector<std::string> characters;
  for (char c : message) {
    if ((static_cast<uint8_t>(c) & 0xC0) != 0x80) {
      characters.emplace_back();
    } else if (characters.empty()) {
      continue;
    }
    characters.back().push_back(c);
  }
  return characters;
}

// The terms the index should list for a block of `messages`, worked out
// the plain way: every three adjacent characters without a line break (or
// NUL), every two adjacent characters of the scripts written without
// spaces, ASCII folded.
std::set<std::string> ExpectedTerms(const std::vector<std::string>& messages) {
  static const RE2 kUnspaced(R"([\p{Hangul}\p{Han}\p{Hiragana}\p{Katakana}])");
  std::set<std::string> terms;
  for (const std::string& message : messages) {
    const std::vector<std::string> characters =
        IndexedCharacters(absl::AsciiStrToLower(message));
    const auto separator = [&characters](size_t i) {
      return characters[i][0] == '\n' || characters[i][0] == '\0';
    };
    for (size_t i = 0; i + 1 < characters.size(); ++i) {
      if (RE2::FullMatch(characters[i], kUnspaced) &&
          RE2::FullMatch(characters[i + 1], kUnspaced)) {
        terms.insert(characters[i] + characters[i + 1]);
      }
      if (i + 2 < characters.size() && !separator(i) && !separator(i + 1) &&
          !separator(i + 2)) {
        terms.insert(characters[i] + characters[i + 1] + characters[i + 2]);
      }
    }
  }
  return terms;
}

// Random mixes of ASCII, Korean, Han, line breaks, NUL and bytes that are
// not UTF-8: each block lists each of its terms once.
TEST_F(SearchIndexTest, EachBlockListsTheTermsOfItsMessagesOnce) {
  const std::vector<std::string> pieces = {"a",
                                           "B",
                                           "z",
                                           " ",
                                           "%",
                                           "abc",
                                           "Xyz",
                                           "\n",
                                           std::string(1, '\0'),
                                           "실",
                                           "패",
                                           "작",
                                           "업",
                                           "失",
                                           "敗",
                                           "ÿ",
                                           "é",
                                           "𠀀",
                                           "𠀁",
                                           "\xC1\xA1",
                                           "\xFF",
                                           "\x80",
                                           "\xBF",
                                           "\xEA\xB0",
                                           "\xE0\x80\x80",
                                           "\xF8\x88\x80\x80\x80"};
  std::mt19937 random(13);
  std::vector<std::string> messages(40 * kEventsPerIndexBlock);
  for (size_t i = 0; i < messages.size(); ++i) {
    // A third repeat a message of this block or the one before, as log
    // lines do: each block lists a repeat's terms as its own.
    if (i > 0 && random() % 3 == 0) {
      messages[i] =
          messages[i - 1 -
                   random() % std::min<size_t>(i, 2 * kEventsPerIndexBlock)];
      continue;
    }
    for (size_t length = random() % 16; length > 0; --length) {
      messages[i] += pieces[random() % pieces.size()];
    }
  }
  AddEvents(messages);
  std::unique_ptr<SearchIndex> index = OpenAndIndexEverything();
  ASSERT_NE(index, nullptr);
  SQLite::Database reader(SearchIndexPath(path_), SQLite::OPEN_READONLY);
  RegisterSearchIndexTokenizer(reader);
  SQLite::Statement row(reader, "SELECT terms FROM log_terms WHERE rowid = ?");
  // Event ids start at 1, each message's its place in `messages` plus one.
  for (size_t first = 0; first < messages.size();) {
    const int64_t block = (first + 1) / kEventsPerIndexBlock;
    const size_t end = std::min<size_t>(messages.size(),
                                        (block + 1) * kEventsPerIndexBlock - 1);
    const std::set<std::string> expected =
        ExpectedTerms({messages.begin() + first, messages.begin() + end});
    row.reset();
    row.bind(1, block);
    std::vector<std::string> listed;
    if (row.executeStep()) {
      listed = absl::StrSplit(row.getColumn(0).getString(), '\n');
    }
    EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()), expected)
        << "block " << block;
    EXPECT_EQ(listed.size(), expected.size()) << "block " << block;
    first = end;
  }
}

// Retention may delete events the index has not read yet (a rebuild far
// behind): the watermark then passes them, but the index never held them.
TEST_F(SearchIndexTest, EventsDeletedBeforeTheyWereIndexedAreNotForgotten) {
  constexpr int kEvents = 30000;
  constexpr int kDeleted = 20000;
  std::vector<std::string> messages;
  for (int i = 1; i <= kEvents; ++i) {
    messages.push_back(absl::StrCat("room ", i, " 생성 실패 after timeout"));
  }
  AddEvents(messages);
  std::unique_ptr<SearchIndex> index = Open();
  ASSERT_NE(index, nullptr);
  ASSERT_EQ(index->IndexNext(1000, kNeverStop).value(), 1000);
  db_->exec(absl::StrCat("DELETE FROM log_events WHERE id <= ", kDeleted));
  while (index->IndexNext(5000, kNeverStop).value() > 0) {
  }
  for (int first = 1; first <= kDeleted; first += 1000) {
    std::vector<RemovedLogEvent> removed;
    for (int id = first; id < first + 1000; ++id) removed.push_back({.id = id});
    ASSERT_THAT(index->Forget(removed), IsOk());
  }

  ExpectIndexIntact();
  EXPECT_EQ(Candidates("timeout").size(), size_t{kEvents - kDeleted});
  EXPECT_EQ(Candidates("실패").size(), size_t{kEvents - kDeleted});
  AddEvents({"one more timeout"});
  EXPECT_EQ(index->IndexNext(10, kNeverStop).value(), 1);
}

TEST_F(SearchIndexTest, UnopenableIndexIsAnError) {
  std::filesystem::create_directories(SearchIndexPath(path_));
  auto index = SearchIndex::Open(path_);
  EXPECT_THAT(index, ::testing::Not(IsOk()));
  EXPECT_THAT(std::string(index.status().message()),
              ::testing::HasSubstr(SearchIndexPath(path_)));
}

}  // namespace
}  // namespace eroom::collector

#include "cli/backup_file.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::cli {
namespace {
namespace v1 = ::eroom::monitor::v1;
using ::eroom::test_support::IsOkAndHolds;
using ::eroom::test_support::StatusIs;

// SHA-256 of "hello world".
constexpr char kHelloWorldSha256[] =
    "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";

v1::BackupChunk Chunk(const std::string& data) {
  v1::BackupChunk chunk;
  chunk.set_data(data);
  return chunk;
}

v1::BackupChunk Last(const std::string& data, uint64_t total,
                     const std::string& sha256) {
  v1::BackupChunk chunk = Chunk(data);
  chunk.set_total_bytes(total);
  chunk.set_sha256(sha256);
  return chunk;
}

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class BackupFileTest : public test_support::TempDirTest {};

TEST_F(BackupFileTest, ACheckedCopyIsRenamedIntoPlace) {
  const std::string dest = PathIn("eroom.db");
  auto file = BackupFile::Create(dest, /*overwrite=*/false);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Append(Chunk("hello ")).ok());
  EXPECT_TRUE(std::filesystem::exists(dest + ".partial"));
  EXPECT_FALSE(std::filesystem::exists(dest));
  ASSERT_TRUE((*file)->Append(Last("world", 11, kHelloWorldSha256)).ok());
  EXPECT_THAT((*file)->Commit(), IsOkAndHolds(11u));
  file->reset();
  EXPECT_EQ(Read(dest), "hello world");
  EXPECT_FALSE(std::filesystem::exists(dest + ".partial"));
}

TEST_F(BackupFileTest, AMismatchLeavesNoDest) {
  const std::string dest = PathIn("eroom.db");
  for (const v1::BackupChunk& last :
       {Last("world", 12, kHelloWorldSha256), Last("world", 11, "00ff"),
        Chunk("world")}) {
    auto file = BackupFile::Create(dest, /*overwrite=*/false);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->Append(Chunk("hello ")).ok());
    ASSERT_TRUE((*file)->Append(last).ok());
    EXPECT_THAT((*file)->Commit(), StatusIs(absl::StatusCode::kDataLoss));
    file->reset();
    EXPECT_FALSE(std::filesystem::exists(dest));
    EXPECT_FALSE(std::filesystem::exists(dest + ".partial"));
  }
}

TEST_F(BackupFileTest, AnExistingDestIsKeptUnlessOverwriting) {
  const std::string dest = PathIn("eroom.db");
  std::ofstream(dest) << "older";
  EXPECT_THAT(BackupFile::Create(dest, /*overwrite=*/false).status(),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(Read(dest), "older");
  auto file = BackupFile::Create(dest, /*overwrite=*/true);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Append(Last("hello world", 11, kHelloWorldSha256)).ok());
  ASSERT_TRUE((*file)->Commit().ok());
  EXPECT_EQ(Read(dest), "hello world");
}

}  // namespace
}  // namespace eroom::cli

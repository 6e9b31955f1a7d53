#include "collector/collector_config.h"

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace eroom::collector {
namespace {

using ::testing::HasSubstr;

std::string Write(const std::string& name, const std::string& yaml) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << yaml;
  return path;
}

TEST(CollectorConfigTest, EmptyFileGivesDefaults) {
  absl::StatusOr<CollectorConfig> config =
      LoadCollectorConfig(Write("empty.yaml", ""));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen_address, "127.0.0.1:7443");
  EXPECT_EQ(config->stream_window_batches, 8u);
}

TEST(CollectorConfigTest, ReadsEveryKey) {
  absl::StatusOr<CollectorConfig> config = LoadCollectorConfig(
      Write("full.yaml",
            "listen: 0.0.0.0:9000\nlog_level: debug\nstats_interval: 5s\n"
            "storage:\n  path: /data/e.db\n"
            "ingest:\n  max_events_per_transaction: 100\n"
            "  stream_window_batches: 3\n  max_message_bytes: 1048576\n"
            "query:\n  threads: 4\n  queue_capacity: 9\n"));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen_address, "0.0.0.0:9000");
  EXPECT_EQ(config->database_path, "/data/e.db");
  EXPECT_EQ(config->max_events_per_transaction, 100u);
  EXPECT_EQ(config->stream_window_batches, 3u);
  EXPECT_EQ(config->query_threads, 4);
  EXPECT_EQ(config->stats_interval, absl::Seconds(5));
}

TEST(CollectorConfigTest, ProblemsNameFileAndKey) {
  std::string path = Write("bad.yaml",
                           "ingest:\n  stream_window_batches: 0\n"
                           "query:\n  thread: 2\n");
  absl::StatusOr<CollectorConfig> config = LoadCollectorConfig(path);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(
      config.status().message(),
      HasSubstr(path + ": ingest.stream_window_batches: 0 is out of range"));
  EXPECT_THAT(config.status().message(),
              HasSubstr(path + ": query.thread: unknown key"));
}

}  // namespace
}  // namespace eroom::collector

// The agent's spool cap while the collector is away: samples and probe
// results beyond it are dropped oldest first, and what the agent reports as
// dropped is exactly what the collector is missing.
#include <signal.h>

#include <memory>
#include <string>

#include "SQLiteCpp/Database.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/integration/process_harness.h"

namespace eroom::testing {
namespace {

struct Delivery {
  int64_t last_sequence = 0;   // Highest sequence the collector stored.
  int64_t stored = 0;          // Distinct sequences it holds.
  int64_t reported_drops = 0;  // Sum of the agent's events_dropped notices.
};

// Read straight from the collector's database: the query API has no view
// of raw sequences, and this is what the proof is about.
std::optional<Delivery> ReadDelivery(const std::string& db_path) {
  try {
    SQLite::Database db(db_path, SQLite::OPEN_READONLY);
    Delivery d;
    d.last_sequence =
        db.execAndGet("SELECT COALESCE(MAX(last_sequence), 0) FROM hosts")
            .getInt64();
    d.stored = db.execAndGet(
                     "SELECT COUNT(*) FROM ("
                     "SELECT sequence FROM log_events UNION "
                     "SELECT sequence FROM probes UNION "
                     "SELECT sequence FROM metric_points UNION "
                     "SELECT sequence FROM agent_notices)")
                   .getInt64();
    d.reported_drops =
        db.execAndGet(
              "SELECT COALESCE(SUM(count), 0) FROM agent_notices "
              "WHERE kind = 'events_dropped'")
            .getInt64();
    return d;
  } catch (const SQLite::Exception&) {
    return std::nullopt;
  }
}

TEST(SpoolLimitTest, DropsCountedByTheAgentMatchWhatIsMissing) {
  std::string dir = MakeTempDir("spool-limit");
  std::string address = absl::StrCat("127.0.0.1:", FreePort());
  WriteFile(dir + "/eroom/logs/server.log", "");
  WriteFile(dir + "/agent.yaml",
            absl::StrCat("agent:\n  id: capped\n  state_dir: ", dir,
                         "/state\n  spool_max_kb: 64\n", "eroom:\n  dir: ", dir,
                         "/eroom\n", "  url: http://127.0.0.1:", FreePort(),
                         "\n", "resources:\n  interval: 10ms\n",
                         "probes:\n  interval: 10ms\n  timeout: 50ms\n",
                         "collector:\n  address: ", address,
                         "\n  insecure: true\n  reconnect_initial: 50ms\n",
                         "  reconnect_max: 200ms\n"));
  ChildProcess agent(
      {BinaryPath("eroom-agent"), "--config", dir + "/agent.yaml"},
      dir + "/agent.out");
  // No collector yet: the spool fills up to its cap and then evicts.
  ASSERT_TRUE(PollUntil(absl::Seconds(60), [&] {
    try {
      SQLite::Database state(dir + "/state/agent-state.db",
                             SQLite::OPEN_READONLY);
      return state.execAndGet("SELECT MIN(sequence) FROM spool").getInt64() >
             200;
    } catch (const SQLite::Exception&) {
      return false;
    }
  })) << "the spool never reached its cap";

  WriteFile(dir + "/collector.yaml",
            absl::StrCat("listen: ", address, "\n", kPlaintextCollectorConfig,
                         "storage:\n  path: ", dir, "/eroom.db\n"));
  ChildProcess collector(
      {BinaryPath("eroom-collector"), "--config", dir + "/collector.yaml"},
      dir + "/collector.out");
  std::optional<Delivery> delivery;
  bool balanced = PollUntil(
      absl::Seconds(60),
      [&] {
        delivery = ReadDelivery(dir + "/eroom.db");
        return delivery && delivery->reported_drops > 0 &&
               delivery->stored + delivery->reported_drops ==
                   delivery->last_sequence;
      },
      absl::Milliseconds(200));
  ASSERT_TRUE(delivery.has_value());
  EXPECT_TRUE(balanced) << "stored " << delivery->stored << " + reported "
                        << delivery->reported_drops
                        << " dropped != " << delivery->last_sequence
                        << " sequences\n"
                        << agent.Log();
}

}  // namespace
}  // namespace eroom::testing

// Rooms and the daily report through the real eroomctl: eroom-sim runs
// rooms (half of them failing), eroom-agent follows its log, the collector
// builds the rooms as it stores their events.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/process_harness.h"

namespace eroom::testing {
namespace {

using ::nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kApiKey[] = "integration-test-key";
constexpr absl::Duration kDeadline = absl::Seconds(60);

class RoomsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("rooms");
    const int sim_port = FreePort();
    collector_address_ = absl::StrCat("127.0.0.1:", FreePort());
    WriteFile(
        dir_ + "/collector.yaml",
        PlaintextCollectorConfig(collector_address_, dir_ + "/db/eroom.db"));
    WriteFile(
        dir_ + "/agent.yaml",
        absl::StrCat("agent:\n  id: rooms-host\n  state_dir: ", dir_,
                     "/agent-state\n", "eroom:\n  dir: ", dir_, "/eroom\n",
                     "  url: http://127.0.0.1:", sim_port, "\n",
                     "logs:\n  start_at: beginning\n  poll_interval: 50ms\n",
                     "collector:\n  address: ", collector_address_, "\n",
                     "  insecure: true\n",
                     "  reconnect_initial: 50ms\n  reconnect_max: 500ms\n",
                     "  batch_max_delay: 20ms\n"));
    sim_ = StartSim(dir_, sim_port, kApiKey,
                    {"--speed", "120", "--rooms-per-minute", "60",
                     "--failure-rate", "0.5", "--seed", "11"});
    collector_ = StartWithConfig(dir_, "collector");
    agent_ = StartWithConfig(dir_, "agent", {{"EROOM_PRIVATE_KEY", kApiKey}});
  }

  void TearDown() override {
    StopChildren({agent_.get(), collector_.get(), sim_.get()});
    if (HasFailure()) {
      std::cerr << "--- agent log\n"
                << agent_->Log() << "--- collector log\n"
                << collector_->Log() << "--- sim output\n"
                << sim_->Log();
    }
  }

  CommandResult Eroomctl(std::vector<std::string> args) {
    last_ = RunCommand(EroomctlArgv(collector_address_, args));
    return last_;
  }

  json Json(std::vector<std::string> args) {
    args.insert(args.begin(), {"-o", "json"});
    CommandResult result = Eroomctl(std::move(args));
    if (result.exit_code != 0) return json();
    return json::parse(result.out, nullptr, /*allow_exceptions=*/false);
  }

  // The listed rooms of `status` (ROOM_COMPLETED...).
  static std::vector<json> OfStatus(const json& rooms,
                                    const std::string& status) {
    std::vector<json> found;
    if (!rooms.is_object() || !rooms.contains("rooms")) return found;
    for (const json& room : rooms["rooms"]) {
      if (room.value("status", "") == status) found.push_back(room);
    }
    return found;
  }

  std::string dir_;
  std::string collector_address_;
  std::unique_ptr<ChildProcess> sim_, collector_, agent_;
  CommandResult last_;
};

TEST_F(RoomsTest, RoomsTheirTimelineAndTheDailyReport) {
  json rooms;
  ASSERT_TRUE(PollUntil(kDeadline,
                        [&] {
                          rooms = Json({"rooms", "--host", "rooms-host"});
                          return !OfStatus(rooms, "ROOM_COMPLETED").empty() &&
                                 !OfStatus(rooms, "ROOM_FAILED").empty();
                        }))
      << rooms.dump(2) << last_.err;

  const json completed = OfStatus(rooms, "ROOM_COMPLETED").front();
  const std::string ruid = completed["ruid"];
  EXPECT_THAT(ruid, StartsWith("room_"));
  EXPECT_EQ(completed["agent_id"], "rooms-host");
  EXPECT_EQ(completed["outcome"], "completed");
  EXPECT_NE(completed["started_unix_ms"], "0");
  EXPECT_NE(completed["finished_unix_ms"], "0");
  EXPECT_GE(std::stoll(completed["processing_ms"].get<std::string>()), 0);

  json failed_only = Json({"rooms", "--status", "failed"});
  ASSERT_TRUE(failed_only.is_object()) << last_.err;
  EXPECT_EQ(OfStatus(failed_only, "ROOM_FAILED").size(),
            failed_only["rooms"].size());

  // The room's timeline and its log events, oldest first.
  json room = Json({"room", ruid});
  ASSERT_TRUE(room.is_object()) << last_.err;
  EXPECT_EQ(room["room"]["ruid"], ruid);
  ASSERT_FALSE(room["events"].empty());
  std::vector<std::string> types;
  for (const json& event : room["events"]) {
    EXPECT_EQ(event["event"]["ruid"], ruid);
    types.push_back(event["event"].value("event_type", ""));
  }
  EXPECT_THAT(types, ::testing::Contains("room_completed"));
  CommandResult table = Eroomctl({"room", ruid});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("completed"));
  CommandResult unknown = Eroomctl({"room", "room_0000000000000000"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("room_0000000000000000"));

  // Today's report counts at least the rooms listed as ended today.
  json listed = Json({"rooms", "--limit", "1000"});
  json report = Json({"report", "daily", "--all"});
  ASSERT_TRUE(report.is_object()) << last_.err;
  const int64_t start =
      std::stoll(report["day_start_unix_ms"].get<std::string>());
  const int64_t end = std::stoll(report["day_end_unix_ms"].get<std::string>());
  int64_t ended_today = 0;
  for (const json& listed_room : listed["rooms"]) {
    const int64_t finished =
        std::stoll(listed_room.value("finished_unix_ms", "0"));
    if (finished >= start && finished < end) ++ended_today;
  }
  ASSERT_GT(ended_today, 0);
  ASSERT_EQ(report["hosts"].size(), 1u);
  EXPECT_EQ(report["hosts"][0]["agent_id"], "rooms-host");
  const json& total = report["total"];
  EXPECT_GE(std::stoll(total.value("rooms_succeeded", "0")) +
                std::stoll(total.value("rooms_failed", "0")),
            ended_today);
  EXPECT_GE(std::stoll(total.value("room_requests", "0")), 1);
  EXPECT_GE(std::stoll(total.value("error_lines", "0")), 1);
  EXPECT_GE(std::stoll(total.value("restarts", "0")), 1);

  CommandResult csv = Eroomctl({"report", "daily", "-o", "csv"});
  EXPECT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_THAT(csv.out, StartsWith("day_start_unix_ms,agent_id,hostname,"));
  EXPECT_THAT(csv.out, HasSubstr("\r\n"));
  CommandResult text = Eroomctl({"report", "daily"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("room requests"));

  CommandResult bad = Eroomctl({"report", "daily", "--date", "2025-13-01"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--date"));
}

}  // namespace
}  // namespace eroom::testing

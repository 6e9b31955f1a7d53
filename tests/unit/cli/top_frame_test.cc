#include "cli/top_frame.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "cli/table.h"
#include "cli/text_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/cli/test_protos.h"

namespace eroom::cli {
namespace {
namespace v1 = ::eroom::monitor::v1;
using ::eroom::cli::testing::ActiveAlerts;
using ::eroom::cli::testing::ErrorLogs;
using ::eroom::cli::testing::kNowMs;
using ::eroom::cli::testing::TwoHosts;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kNow = absl::FromUnixMillis(kNowMs);

// Both hosts of TwoHosts, prod-1 with a firing alert, trends and errors.
TopSnapshot FullSnapshot() {
  TopSnapshot snapshot;
  snapshot.fetched = kNow;
  v1::ListHostsResponse hosts = TwoHosts();
  *hosts.mutable_hosts(0)->add_firing_alerts() = ActiveAlerts().alerts(0);
  snapshot.hosts.assign(hosts.hosts().begin(), hosts.hosts().end());
  HostTrends& trends = snapshot.trends["a1b2c3"];
  for (int i = 0; i < 60; ++i) {
    trends.cpu_percent.push_back(i % 10 * 10.0);
    trends.memory_used_bytes.push_back(2e9 + i * 1e6);
  }
  trends.disk_used_percent["/"] = {44, 45};
  trends.disk_used_percent["/data"] = {80, 81};
  const v1::QueryLogsResponse errors = ErrorLogs();
  snapshot.recent_errors.assign(errors.events().begin(), errors.events().end());
  return snapshot;
}

TopFrameOptions Options(int width, int height = 0) {
  TopFrameOptions options;
  options.width = width;
  options.height = height;
  options.now = kNow;
  options.zone = absl::UTCTimeZone();
  options.collector = "127.0.0.1:17443";
  options.interval = absl::Seconds(5);
  return options;
}

std::vector<std::string> Render(const TopSnapshot& snapshot, int width,
                                int height = 0) {
  TopView view;
  view.snapshot = snapshot;
  return RenderTopFrame(view, Options(width, height));
}

// The line holding `text`, or "" if none does.
std::string LineWith(const std::vector<std::string>& lines,
                     const std::string& text) {
  for (const std::string& line : lines) {
    if (absl::StrContains(line, text)) return line;
  }
  return "";
}

TEST(TopFrameTest, WideFrameShowsEveryPartOfTheDashboard) {
  const std::vector<std::string> lines = Render(FullSnapshot(), 160);
  const std::string frame = absl::StrJoin(lines, "\n");
  EXPECT_THAT(lines[0], HasSubstr("eroomctl top  127.0.0.1:17443"));
  EXPECT_THAT(lines[0], HasSubstr("2025-06-15 15:06:40"));
  EXPECT_THAT(lines[0], HasSubstr("every 5s"));
  EXPECT_THAT(lines[0], HasSubstr("2 hosts"));
  EXPECT_THAT(LineWith(lines, "eroom-prod-1 (a1b2c3)"),
              HasSubstr("eroom-prod-1 (a1b2c3)  connected  ERoom up pid 4242  "
                        "RSS 812 MiB  CPU 35.2%  port listening"));
  EXPECT_THAT(frame, HasSubstr("health healthy 12 ms  queue 12 queued, 1 "
                               "active, 142 completed BACKLOG  alerts 1 "
                               "critical"));
  const std::string trends = LineWith(lines, "cpu 12.5%");
  EXPECT_THAT(trends, HasSubstr("mem 25.0%"));
  EXPECT_THAT(trends, HasSubstr("disk / 45.0%"));
  EXPECT_THAT(trends, HasSubstr("disk /data 81.0%"));
  EXPECT_THAT(trends, HasSubstr("▁"));
  EXPECT_THAT(trends, HasSubstr("█"));
  // The host that is down, with what its probes said last.
  EXPECT_THAT(LineWith(lines, "eroom-prod-2 (d4e5f6)"),
              HasSubstr("down 3m  ERoom: no sample yet"));
  EXPECT_THAT(frame, HasSubstr("health error: connection refused"));
  EXPECT_THAT(frame, HasSubstr("queue probe failed: 401 인증 실패"));
  EXPECT_THAT(frame, HasSubstr("Firing alerts (1)"));
  EXPECT_THAT(frame, HasSubstr("eroom-prod-1  critical health_down for 5m"));
  EXPECT_THAT(frame, HasSubstr("Last errors"));
  // Newest first, one line each with the rest of a stack trace counted.
  const std::string newest = LineWith(lines, "room_failed");
  EXPECT_THAT(newest,
              HasSubstr("06-15 15:06:30  eroom-prod-1  room_failed  통합 방"));
  EXPECT_THAT(newest, HasSubstr("(+2 lines)"));
  EXPECT_LT(frame.find("room_failed"), frame.find("model_failed"));
}

TEST(TopFrameTest, NoLineIsWiderThanTheTerminalAtAnyWidth) {
  const TopSnapshot snapshot = FullSnapshot();
  for (int width = 1; width <= 200; ++width) {
    for (const std::string& line : Render(snapshot, width)) {
      ASSERT_LE(DisplayWidth(line), width) << width << ": " << line;
      // Cut between code points, never inside one.
      ASSERT_EQ(Printable(line), line) << width;
    }
  }
}

TEST(TopFrameTest, NarrowTerminalsDropColumnsButKeepTheHost) {
  const std::vector<std::string> lines = Render(FullSnapshot(), 60);
  const std::string frame = absl::StrJoin(lines, "\n");
  // Sparklines need room; the values stay.
  EXPECT_THAT(frame, Not(HasSubstr("▁")));
  EXPECT_THAT(frame, HasSubstr("cpu 12.5%"));
  // Segments that do not fit are left out whole, from the right.
  EXPECT_EQ(LineWith(lines, "eroom-prod-1 (a1b2c3)"),
            "eroom-prod-1 (a1b2c3)  connected  ERoom up pid 4242");
  // The first segment is cut when even it is too wide.
  EXPECT_EQ(Render(FullSnapshot(), 8)[2], "eroom-pr");
}

TEST(TopFrameTest, SparklinesGrowWithTheWidth) {
  const auto blocks = [](const std::string& line) {
    int count = 0;
    for (const char* block : {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"}) {
      for (size_t at = line.find(block); at != std::string::npos;
           at = line.find(block, at + 1)) {
        ++count;
      }
    }
    return count;
  };
  const int at_100 = blocks(LineWith(Render(FullSnapshot(), 100), "cpu "));
  const int at_160 = blocks(LineWith(Render(FullSnapshot(), 160), "cpu "));
  EXPECT_GT(at_100, 0);
  EXPECT_GT(at_160, at_100);
}

TEST(TopFrameTest, TallFramesAreCutToTheTerminalHeight) {
  const std::vector<std::string> all = Render(FullSnapshot(), 120);
  const std::vector<std::string> cut = Render(FullSnapshot(), 120, 6);
  ASSERT_EQ(cut.size(), 6u);
  EXPECT_EQ(cut[0], all[0]);
  EXPECT_THAT(cut[5],
              HasSubstr(absl::StrCat("... ", all.size() - 5, " more lines")));
}

TEST(TopFrameTest, FailedRefreshKeepsTheDataAndSaysItIsStale) {
  TopView view;
  view.snapshot = FullSnapshot();
  view.snapshot->fetched = kNow - absl::Seconds(20);
  view.last_refresh =
      absl::UnavailableError("cannot reach the collector at 127.0.0.1:17443");
  view.failing_since = kNow - absl::Seconds(15);
  const std::vector<std::string> lines = RenderTopFrame(view, Options(200));
  EXPECT_EQ(lines[1],
            "STALE: no answer for 15s, retrying every 5s; showing data from "
            "15:06:20: cannot reach the collector at 127.0.0.1:17443");
  EXPECT_THAT(LineWith(lines, "eroom-prod-1"), HasSubstr("connected"));

  view.snapshot.reset();
  const std::vector<std::string> empty = RenderTopFrame(view, Options(200));
  ASSERT_EQ(empty.size(), 2u);
  EXPECT_THAT(empty[1], HasSubstr("no data yet"));
}

TEST(TopFrameTest, TextFromTheNetworkCannotDriveTheTerminal) {
  TopSnapshot snapshot = FullSnapshot();
  snapshot.hosts[0].set_hostname("prod\x1b]0;pwned\x07");
  snapshot.recent_errors[0].mutable_event()->set_message(
      "boom\x1b[2J\x1b[Hgotcha\r");
  snapshot.hosts[0].mutable_latest_health()->set_health_status(
      "\x9b"
      "31m");
  const std::vector<std::string> lines = Render(snapshot, 200);
  const std::string frame = absl::StrJoin(lines, "\n");
  EXPECT_THAT(frame, Not(HasSubstr("\x1b")));
  EXPECT_THAT(frame, Not(HasSubstr("\r")));
  EXPECT_THAT(frame, Not(HasSubstr("\x07")));
  EXPECT_THAT(frame, HasSubstr("prod\\x1b]0;pwned\\x07 (a1b2c3)"));
  EXPECT_THAT(frame, HasSubstr("boom\\x1b[2J\\x1b[Hgotcha\\r"));
}

TEST(TopFrameTest, NamesHostsNotFoundAndSaysWhenNoneReported) {
  TopSnapshot snapshot;
  snapshot.fetched = kNow;
  snapshot.unmatched_hosts = {"nope"};
  EXPECT_THAT(Render(snapshot, 80),
              Contains("no host named 'nope' has reported"));
  snapshot.unmatched_hosts.clear();
  const std::vector<std::string> lines = Render(snapshot, 80);
  EXPECT_THAT(lines, Contains("No hosts have reported to the collector yet."));
  EXPECT_THAT(lines, Contains("Firing alerts: none"));
  EXPECT_THAT(lines, Contains("Last errors: none"));
}

TEST(TopFrameTest, OnATerminalTheTitleSaysHowToQuit) {
  TopView view;
  view.snapshot = FullSnapshot();
  TopFrameOptions options = Options(120);
  EXPECT_THAT(RenderTopFrame(view, options)[0], Not(HasSubstr("q quits")));
  options.interactive = true;
  EXPECT_THAT(RenderTopFrame(view, options)[0], HasSubstr("q quits"));
}

}  // namespace
}  // namespace eroom::cli

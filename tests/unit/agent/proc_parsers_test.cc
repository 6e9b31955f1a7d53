#include "agent/proc_parsers.h"

#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/status_matchers.h"

namespace eroom::agent {

using ::eroom::test_support::IsOk;
namespace {

using ::testing::HasSubstr;

// Contents of tests/fixtures/proc/<relative>.
std::string Fixture(const std::string& relative) {
  std::ifstream file(std::string(EROOM_SOURCE_DIR) + "/tests/fixtures/proc/" +
                     relative);
  EXPECT_TRUE(file) << relative;
  std::ostringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

TEST(ParseHostCpuTimesTest, SumsAggregateLine) {
  absl::StatusOr<CpuTimes> cpu = ParseHostCpuTimes(Fixture("stat"));
  ASSERT_THAT(cpu, IsOk());
  // user nice system idle iowait irq softirq steal = 10000 500 3000 80000
  // 1000 0 500 0.
  EXPECT_EQ(cpu->total, 95000u);
  EXPECT_EQ(cpu->busy, 14000u);
}

TEST(ParseHostCpuTimesTest, AcceptsOldKernelsFourFields) {
  absl::StatusOr<CpuTimes> cpu = ParseHostCpuTimes("cpu 1 2 3 4\n");
  ASSERT_THAT(cpu, IsOk());
  EXPECT_EQ(cpu->total, 10u);
  EXPECT_EQ(cpu->busy, 6u);
}

TEST(ParseHostCpuTimesTest, DoesNotCountGuestTimeTwice) {
  absl::StatusOr<CpuTimes> cpu =
      ParseHostCpuTimes("cpu  100 0 0 100 0 0 0 0 50 50\n");
  ASSERT_THAT(cpu, IsOk());
  EXPECT_EQ(cpu->total, 200u);
  EXPECT_EQ(cpu->busy, 100u);
}

TEST(ParseHostCpuTimesTest, RejectsMalformedContent) {
  EXPECT_FALSE(ParseHostCpuTimes("").ok());
  EXPECT_FALSE(ParseHostCpuTimes("cpu0 1 2 3 4\n").ok());
  EXPECT_FALSE(ParseHostCpuTimes("cpu 1 2 3\n").ok());
  EXPECT_FALSE(ParseHostCpuTimes("cpu 1 2 x 4\n").ok());
  EXPECT_FALSE(ParseHostCpuTimes("cpu 1 2 -3 4\n").ok());
}

TEST(ParseBootTimeSecondsTest, ReadsBtime) {
  absl::StatusOr<int64_t> btime = ParseBootTimeSeconds(Fixture("stat"));
  ASSERT_THAT(btime, IsOk());
  EXPECT_EQ(*btime, 1750000000);
}

TEST(ParseBootTimeSecondsTest, RejectsMissingOrMalformed) {
  EXPECT_FALSE(ParseBootTimeSeconds("cpu 1 2 3 4\n").ok());
  EXPECT_FALSE(ParseBootTimeSeconds("btime soon\n").ok());
  EXPECT_FALSE(ParseBootTimeSeconds("btimex 17\n").ok());
}

TEST(ParseMemInfoTest, ReadsTotalAndAvailable) {
  absl::StatusOr<MemInfo> mem = ParseMemInfo(Fixture("meminfo"));
  ASSERT_THAT(mem, IsOk());
  EXPECT_EQ(mem->total_bytes, 16384000ull * 1024);
  EXPECT_EQ(mem->available_bytes, 12288000ull * 1024);
}

TEST(ParseMemInfoTest, RejectsMissingOrMalformed) {
  EXPECT_THAT(ParseMemInfo("MemTotal: 100 kB\n").status().message(),
              HasSubstr("MemAvailable"));
  EXPECT_FALSE(ParseMemInfo("MemTotal: 100 MB\nMemAvailable: 50 kB\n").ok());
  EXPECT_FALSE(ParseMemInfo("MemTotal: lots kB\nMemAvailable: 50 kB\n").ok());
  EXPECT_FALSE(ParseMemInfo("MemTotal: 100 kB\nMemAvailable: 500 kB\n").ok());
  EXPECT_FALSE(ParseMemInfo("\x01\xff garbage").ok());
}

TEST(ParseLoadAverage1mTest, ReadsFirstField) {
  absl::StatusOr<double> load = ParseLoadAverage1m(Fixture("loadavg"));
  ASSERT_THAT(load, IsOk());
  EXPECT_DOUBLE_EQ(*load, 0.52);
}

TEST(ParseLoadAverage1mTest, RejectsMalformed) {
  EXPECT_FALSE(ParseLoadAverage1m("").ok());
  EXPECT_FALSE(ParseLoadAverage1m("high 0.5 0.5\n").ok());
  EXPECT_FALSE(ParseLoadAverage1m("-1 0.5 0.5\n").ok());
  // The collector refuses non-finite numbers, so they must not get out.
  EXPECT_FALSE(ParseLoadAverage1m("nan 0.5 0.5\n").ok());
  EXPECT_FALSE(ParseLoadAverage1m("inf 0.5 0.5\n").ok());
}

TEST(ParsePidStatTest, ReadsFixture) {
  absl::StatusOr<PidStat> stat = ParsePidStat(Fixture("4242/stat"));
  ASSERT_THAT(stat, IsOk());
  EXPECT_EQ(stat->state, 'S');
  EXPECT_EQ(stat->cpu_ticks, 1500u);  // utime 1200 + stime 300.
  EXPECT_EQ(stat->start_ticks, 360000u);
}

TEST(ParsePidStatTest, CommWithSpacesAndParentheses) {
  // A process may name itself anything: fields count from the last ')'.
  absl::StatusOr<PidStat> stat = ParsePidStat(
      "4321 (evil) S 1 2 (x y) R 1 4321 4321 0 -1 4194560 10 0 0 0 70 30 0 0 "
      "20 0 1 0 5555 1000 100 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n");
  ASSERT_THAT(stat, IsOk());
  EXPECT_EQ(stat->state, 'R');
  EXPECT_EQ(stat->cpu_ticks, 100u);
  EXPECT_EQ(stat->start_ticks, 5555u);
}

TEST(ParsePidStatTest, RejectsMalformed) {
  EXPECT_FALSE(ParsePidStat("").ok());
  EXPECT_FALSE(ParsePidStat("4242 java S 1 2 3").ok());
  EXPECT_FALSE(ParsePidStat("4242 (java) S 1 4242 4242 0 -1 4194560").ok());
  EXPECT_FALSE(ParsePidStat("4242 (java) S 1 4242 4242 0 -1 4194560 50000 0 "
                            "10 0 lots 300 0 0 20 0 45 0 360000 4000000000")
                   .ok());
  EXPECT_FALSE(ParsePidStat("4242 (java) SS 1 4242 4242 0 -1 4194560 50000 0 "
                            "10 0 1200 300 0 0 20 0 45 0 360000 4000000000")
                   .ok());
}

TEST(ParseStatusRssBytesTest, ReadsVmRss) {
  absl::StatusOr<uint64_t> rss = ParseStatusRssBytes(Fixture("4242/status"));
  ASSERT_THAT(rss, IsOk());
  EXPECT_EQ(*rss, 524288ull * 1024);
}

TEST(ParseStatusRssBytesTest, ZombieHasNoRss) {
  EXPECT_FALSE(ParseStatusRssBytes(Fixture("999/status")).ok());
}

TEST(ParseStatusRssBytesTest, RejectsMalformed) {
  EXPECT_FALSE(ParseStatusRssBytes("VmRSS:\t  big kB\n").ok());
  EXPECT_FALSE(ParseStatusRssBytes("VmRSS:\t  100\n").ok());
}

TEST(CmdlineContainsTest, MatchesAcrossNulSeparatedArguments) {
  std::string java = Fixture("4242/cmdline");
  EXPECT_TRUE(CmdlineContains(java, "eroom-server.jar"));
  EXPECT_TRUE(CmdlineContains(java, "-jar eroom-server.jar"));
  EXPECT_FALSE(CmdlineContains(java, "other.jar"));
  EXPECT_FALSE(CmdlineContains(Fixture("777/cmdline"), "eroom-server.jar"));
  EXPECT_FALSE(CmdlineContains(Fixture("999/cmdline"), "java"));
}

TEST(IsPortListeningTest, FindsListenInTcp) {
  std::string tcp = Fixture("net/tcp");
  EXPECT_TRUE(IsPortListening(tcp, 8080));   // 00000000:1F90 0A
  EXPECT_TRUE(IsPortListening(tcp, 3306));   // 0100007F:0CEA 0A
  EXPECT_FALSE(IsPortListening(tcp, 3307));  // Established only.
  EXPECT_FALSE(IsPortListening(tcp, 8081));  // Only a remote port.
  EXPECT_FALSE(IsPortListening(tcp, 9090));
}

TEST(IsPortListeningTest, FindsListenInTcp6) {
  std::string tcp6 = Fixture("net/tcp6");
  EXPECT_TRUE(IsPortListening(tcp6, 9090));  // [::]:2382 0A
  EXPECT_FALSE(IsPortListening(tcp6, 80));   // TIME_WAIT.
  EXPECT_FALSE(IsPortListening(tcp6, 8080));
}

TEST(IsPortListeningTest, SkipsMalformedLines) {
  EXPECT_FALSE(IsPortListening("", 8080));
  EXPECT_FALSE(
      IsPortListening("garbage\n 0: nocolon x 0A\n 1: a:zz b 0A\n", 8080));
  EXPECT_TRUE(IsPortListening("junk line\n 0: 00000000:1F90 x 0A\n", 8080));
}

TEST(ProcParsersTest, EveryTruncationIsAnErrorOrAValueNeverACrash) {
  // A process can exit mid-read, leaving a short file.
  for (const char* name : {"stat", "meminfo", "loadavg", "4242/stat",
                           "4242/status", "4242/cmdline", "net/tcp"}) {
    std::string full = Fixture(name);
    for (size_t length = 0; length <= full.size(); ++length) {
      absl::string_view prefix(full.data(), length);
      (void)ParseHostCpuTimes(prefix);
      (void)ParseBootTimeSeconds(prefix);
      (void)ParseMemInfo(prefix);
      (void)ParseLoadAverage1m(prefix);
      (void)ParsePidStat(prefix);
      (void)ParseStatusRssBytes(prefix);
      (void)CmdlineContains(prefix, "eroom-server.jar");
      (void)IsPortListening(prefix, 8080);
    }
  }
}

}  // namespace
}  // namespace eroom::agent

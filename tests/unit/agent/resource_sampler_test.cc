#include "agent/resource_sampler.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/fake_clock.h"

namespace eroom::agent {
namespace {

namespace fs = std::filesystem;
using ::eroom::monitor::v1::ResourceSample;

const fs::path kFixtureProc =
    fs::path(EROOM_SOURCE_DIR) / "tests" / "fixtures" / "proc";
// Boot time and starttimes of the fixture tree.
constexpr int64_t kFixtureBootMs = 1750000000000;

void WriteFile(const fs::path& path, const std::string& contents) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << contents;
  ASSERT_TRUE(file) << path;
}

int64_t StartedMs(int64_t start_ticks) {
  return kFixtureBootMs + start_ticks * 1000 / sysconf(_SC_CLK_TCK);
}

class ResourceSamplerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    temp_dir_ = fs::path(::testing::TempDir()) /
                absl::StrCat("resource_sampler_", test->name(), "_", getpid());
    fs::remove_all(temp_dir_);
    fs::create_directories(temp_dir_);
    options_.proc_root = kFixtureProc.string();
    options_.mounts = {};
    options_.pid_file = (temp_dir_ / "server.pid").string();
  }
  void TearDown() override { fs::remove_all(temp_dir_); }

  void WritePidFile(const std::string& contents) {
    WriteFile(options_.pid_file, contents);
  }

  // A writable copy of the fixture tree, for tests that change procfs
  // between samples.
  fs::path CopyFixtureTree() {
    fs::path copy = temp_dir_ / "proc";
    fs::copy(kFixtureProc, copy, fs::copy_options::recursive);
    options_.proc_root = copy.string();
    return copy;
  }

  ResourceSample SampleOnce() {
    return ResourceSampler::Create(options_, clock_)->Sample();
  }

  fs::path temp_dir_;
  SamplerOptions options_;
  FakeClock clock_;
};

TEST_F(ResourceSamplerTest, ReportsHostMetrics) {
  ResourceSample sample = SampleOnce();
  EXPECT_EQ(sample.time_unix_ms(), ToUnixMillis(clock_.Now()));
  EXPECT_EQ(sample.cpu_percent(), 0);  // No previous sample.
  EXPECT_EQ(sample.memory_total_bytes(), 16384000ull * 1024);
  EXPECT_EQ(sample.memory_used_bytes(), (16384000ull - 12288000) * 1024);
  EXPECT_DOUBLE_EQ(sample.load_average_1m(), 0.52);
}

TEST_F(ResourceSamplerTest, FindsProcessViaPidFile) {
  // 5151 is not the lowest matching pid: only the pid file leads there.
  WritePidFile("5151\n");
  ResourceSample sample = SampleOnce();
  EXPECT_TRUE(sample.eroom().up());
  EXPECT_EQ(sample.eroom().pid(), 5151);
  EXPECT_EQ(sample.eroom().rss_bytes(), 262144ull * 1024);
  EXPECT_EQ(sample.eroom().started_unix_ms(), StartedMs(900000));
  EXPECT_EQ(sample.eroom().cpu_percent(), 0);
}

TEST_F(ResourceSamplerTest, FindsProcessByCmdlineWhenPidFileMissing) {
  ResourceSample sample = SampleOnce();
  EXPECT_TRUE(sample.eroom().up());
  EXPECT_EQ(sample.eroom().pid(), 4242);
  EXPECT_EQ(sample.eroom().rss_bytes(), 524288ull * 1024);
  EXPECT_EQ(sample.eroom().started_unix_ms(), StartedMs(360000));
}

TEST_F(ResourceSamplerTest, ScansWhenPidFileIsStale) {
  for (const char* stale : {"999",      // A zombie.
                            "31999",    // Gone.
                            "junk"}) {  // Not a pid at all.
    WritePidFile(stale);
    ResourceSample sample = SampleOnce();
    EXPECT_TRUE(sample.eroom().up()) << stale;
    EXPECT_EQ(sample.eroom().pid(), 4242) << stale;
  }
}

TEST_F(ResourceSamplerTest, DownWhenNeitherPidFileNorCmdlineMatches) {
  options_.process_match = "not-running.jar";
  ResourceSample sample = SampleOnce();
  EXPECT_FALSE(sample.eroom().up());
  EXPECT_EQ(sample.eroom().pid(), 0);
  EXPECT_EQ(sample.eroom().rss_bytes(), 0u);
  // The port is a host fact, reported whether or not the process is found.
  EXPECT_TRUE(sample.eroom().port_listening());
}

TEST_F(ResourceSamplerTest, LivePidFileWinsWhateverItsCommandLine) {
  // ERoom stand-ins (eroom-sim) write the pid file but run another binary.
  WritePidFile("777");
  EXPECT_EQ(SampleOnce().eroom().pid(), 777);
}

TEST_F(ResourceSamplerTest, EmptyProcessMatchNeverScans) {
  options_.process_match = "";
  EXPECT_FALSE(SampleOnce().eroom().up());
  WritePidFile("777");
  EXPECT_EQ(SampleOnce().eroom().pid(), 777);
}

TEST_F(ResourceSamplerTest, DetectsListeningPortInTcpAndTcp6) {
  options_.port = 8080;
  EXPECT_TRUE(SampleOnce().eroom().port_listening());
  options_.port = 9090;
  EXPECT_TRUE(SampleOnce().eroom().port_listening());
  options_.port = 3307;
  EXPECT_FALSE(SampleOnce().eroom().port_listening());
}

TEST_F(ResourceSamplerTest, ComputesCpuPercentBetweenSamples) {
  fs::path proc = CopyFixtureTree();
  auto sampler = ResourceSampler::Create(options_, clock_);
  ResourceSample first = sampler->Sample();
  EXPECT_EQ(first.cpu_percent(), 0);
  EXPECT_EQ(first.eroom().cpu_percent(), 0);

  // Host: busy +3000 of +10000 jiffies. ERoom: 2000 ticks of utime+stime in
  // 10 s of wall time, i.e. two cores' worth.
  WriteFile(proc / "stat",
            "cpu  12500 500 3500 86500 1500 0 500 0 0 0\nbtime 1750000000\n");
  const long ticks = sysconf(_SC_CLK_TCK);
  WriteFile(proc / "4242/stat",
            absl::StrCat("4242 (java) S 1 4242 4242 0 -1 4194560 50000 0 10 0 ",
                         1200 + 15 * ticks, " ", 300 + 5 * ticks,
                         " 0 0 20 0 45 0 360000 4000000000 131072\n"));
  clock_.Advance(absl::Seconds(10));
  ResourceSample second = sampler->Sample();
  EXPECT_DOUBLE_EQ(second.cpu_percent(), 30.0);
  EXPECT_DOUBLE_EQ(second.eroom().cpu_percent(), 200.0);
}

TEST_F(ResourceSamplerTest, CounterResetStartsOver) {
  fs::path proc = CopyFixtureTree();
  auto sampler = ResourceSampler::Create(options_, clock_);
  sampler->Sample();
  WriteFile(proc / "stat", "cpu  100 0 0 900 0 0 0 0 0 0\n");
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(sampler->Sample().cpu_percent(), 0);
  WriteFile(proc / "stat", "cpu  150 0 0 1850 0 0 0 0 0 0\n");
  clock_.Advance(absl::Seconds(10));
  EXPECT_DOUBLE_EQ(sampler->Sample().cpu_percent(), 5.0);
}

TEST_F(ResourceSamplerTest, NewPidStartsProcessCpuOver) {
  auto sampler = ResourceSampler::Create(options_, clock_);
  EXPECT_EQ(sampler->Sample().eroom().pid(), 4242);
  WritePidFile("5151");
  clock_.Advance(absl::Seconds(10));
  ResourceSample sample = sampler->Sample();
  EXPECT_EQ(sample.eroom().pid(), 5151);
  // 5151 used fewer ticks than 4242: comparing them would be nonsense.
  EXPECT_EQ(sample.eroom().cpu_percent(), 0);
}

TEST_F(ResourceSamplerTest, MalformedProcfsDegradesToZero) {
  fs::path proc = CopyFixtureTree();
  WriteFile(proc / "stat", "intr 1 2 3\n");
  WriteFile(proc / "meminfo", "MemTotal: a lot\n");
  WriteFile(proc / "loadavg", "");
  WriteFile(proc / "4242/status", "VmRSS: ??\n");
  WriteFile(proc / "999/stat", "999 (java");
  WritePidFile("999");
  auto sampler = ResourceSampler::Create(options_, clock_);
  ResourceSample sample = sampler->Sample();
  EXPECT_EQ(sample.cpu_percent(), 0);
  EXPECT_EQ(sample.memory_total_bytes(), 0u);
  EXPECT_EQ(sample.memory_used_bytes(), 0u);
  EXPECT_EQ(sample.load_average_1m(), 0);
  EXPECT_TRUE(sample.eroom().up());
  EXPECT_EQ(sample.eroom().pid(), 4242);
  EXPECT_EQ(sample.eroom().rss_bytes(), 0u);
  EXPECT_EQ(sample.eroom().started_unix_ms(), 0);  // btime unknown.
  // stat cpu, stat btime, meminfo, loadavg, 999/stat (the pid file's, so
  // the scan found 4242), 4242/status.
  EXPECT_EQ(sampler->failed_reads(), 6u);
}

TEST_F(ResourceSamplerTest, MissingProcRootDegradesToZero) {
  options_.proc_root = (temp_dir_ / "no-proc").string();
  auto sampler = ResourceSampler::Create(options_, clock_);
  ResourceSample sample = sampler->Sample();
  EXPECT_FALSE(sample.eroom().up());
  EXPECT_FALSE(sample.eroom().port_listening());
  EXPECT_EQ(sample.memory_total_bytes(), 0u);
  EXPECT_GT(sampler->failed_reads(), 0u);
}

TEST_F(ResourceSamplerTest, ReportsConfiguredMountsAndSkipsMissingOnes) {
  options_.mounts = {"/", (temp_dir_ / "not-mounted").string()};
  auto sampler = ResourceSampler::Create(options_, clock_);
  for (int round = 1; round <= 2; ++round) {
    ResourceSample sample = sampler->Sample();
    ASSERT_EQ(sample.disks_size(), 1);
    EXPECT_EQ(sample.disks(0).mount(), "/");
    EXPECT_GT(sample.disks(0).total_bytes(), 0u);
    EXPECT_LE(sample.disks(0).used_bytes(), sample.disks(0).total_bytes());
    EXPECT_EQ(sampler->failed_reads(), static_cast<uint64_t>(round));
  }
}

// A listening TCP socket on an ephemeral loopback port; closed on scope exit.
class ListeningSocket {
 public:
  ListeningSocket() : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    auto* generic = reinterpret_cast<sockaddr*>(&address);
    if (bind(fd_, generic, length) == 0 && listen(fd_, 1) == 0 &&
        getsockname(fd_, generic, &length) == 0) {
      port_ = ntohs(address.sin_port);
    }
  }
  ~ListeningSocket() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_;
  int port_ = 0;
};

TEST_F(ResourceSamplerTest, SamplesRealProcForThisProcess) {
  ListeningSocket listener;
  ASSERT_NE(listener.port(), 0);
  options_.proc_root = "/proc";
  options_.port = listener.port();
  WritePidFile(absl::StrCat(getpid(), "\n"));
  auto sampler = ResourceSampler::Create(options_, RealClock::Get());
  ResourceSample sample = sampler->Sample();
  EXPECT_TRUE(sample.eroom().up());
  EXPECT_EQ(sample.eroom().pid(), getpid());
  EXPECT_GT(sample.eroom().rss_bytes(), 0u);
  EXPECT_TRUE(sample.eroom().port_listening());
  EXPECT_GT(sample.eroom().started_unix_ms(), 0);
  EXPECT_LE(sample.eroom().started_unix_ms(), ToUnixMillis(absl::Now()));
  EXPECT_GT(sample.memory_total_bytes(), 0u);
  EXPECT_EQ(sampler->failed_reads(), 0u);
}

}  // namespace
}  // namespace eroom::agent

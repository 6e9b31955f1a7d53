// Backup and restore as README.md documents them: `eroomctl backup` from a
// collector that agents keep writing to, then the copy put at a fresh
// collector's database path, which answers with what was stored before the
// backup.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/process_harness.h"

namespace eroom::testing {
namespace {

using ::nlohmann::json;
using ::testing::HasSubstr;

constexpr char kAgentToken[] = "agent-token-for-backup-tests";
constexpr char kViewerToken[] = "viewer-token-for-backup-tests";
constexpr char kOperatorToken[] = "operator-token-for-backup-tests";
constexpr char kAdminToken[] = "admin-token-for-backup-tests";
constexpr char kMarker[] = "backup line ";
constexpr int kLinesBeforeBackup = 3000;
constexpr absl::Duration kDeadline = absl::Seconds(90);

class BackupRestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("backup-restore");
    const std::string tls = dir_ + "/tls";
    CommandResult certs = RunCommand(
        {absl::StrCat(EROOM_SOURCE_DIR, "/deploy/make-dev-certs.sh"), tls});
    ASSERT_EQ(certs.exit_code, 0) << certs.err;
    ca_path_ = tls + "/ca.crt";
    tls_config_ = absl::StrCat("tls:\n  cert: ", tls, "/collector.crt\n",
                               "  key: ", tls, "/collector.key\n");
    logs_dir_ = dir_ + "/eroom/logs";
    std::filesystem::create_directories(logs_dir_);
  }

  void TearDown() override {
    StopChildren({agent_.get(), collector_.get()});
    if (HasFailure() && collector_ != nullptr) {
      std::cerr << "--- collector log\n" << collector_->Log();
      if (agent_ != nullptr) std::cerr << "--- agent log\n" << agent_->Log();
    }
  }

  // A collector on `database` with TLS and a token per role.
  void StartCollector(const std::string& name, const std::string& database) {
    address_ = absl::StrCat("127.0.0.1:", FreePort());
    const std::string config = absl::StrCat(dir_, "/", name, ".yaml");
    WriteFile(
        config,
        absl::StrCat(
            "listen: ", address_, "\nstorage:\n  path: ", database, "\n",
            // The test's log lines carry a fixed date.
            "retention:\n  logs: 3650d\n", tls_config_,
            "auth:\n  agents:\n    - enrollment: true\n      token_sha256: ",
            TokenSha256(kAgentToken),
            "\n  users:\n    - name: vera\n      role: viewer\n"
            "      token_sha256: ",
            TokenSha256(kViewerToken),
            "\n    - name: oscar\n      role: operator\n      token_sha256: ",
            TokenSha256(kOperatorToken),
            "\n    - name: ada\n      role: admin\n      token_sha256: ",
            TokenSha256(kAdminToken), "\n"));
    collector_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{BinaryPath("eroom-collector"), "--config",
                                 config},
        absl::StrCat(dir_, "/", name, ".out"));
    ASSERT_TRUE(PollUntil(kDeadline, [&] {
      return Ctl(kViewerToken, {"hosts"}).exit_code == 0;
    })) << collector_->Log();
  }

  void StartAgent() {
    const std::string config = dir_ + "/agent.yaml";
    WriteFile(
        config,
        absl::StrCat("agent:\n  id: backup-host\n  state_dir: ", dir_,
                     "/agent-state\n", "eroom:\n  dir: ", dir_, "/eroom\n",
                     "  url: http://127.0.0.1:", FreePort(), "\n",
                     "logs:\n  start_at: beginning\n  poll_interval: 20ms\n",
                     "resources:\n  interval: 100ms\n",
                     "probes:\n  interval: 1h\n", "collector:\n  address: ",
                     address_, "\n  ca: ", ca_path_, "\n  token: ", kAgentToken,
                     "\n  reconnect_initial: 50ms\n  reconnect_max: 500ms\n",
                     "  batch_max_delay: 20ms\n"));
    agent_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{BinaryPath("eroom-agent"), "--config", config},
        dir_ + "/agent.out");
  }

  void WriteLines(int first, int last) {
    std::ofstream out(logs_dir_ + "/server.log",
                      std::ios::app | std::ios::binary);
    for (int n = first; n < last; ++n) {
      out << absl::StrFormat(
          "2026-11-26 10:%02d:%02d.%03d [pool-2-thread-1] INFO  "
          "c.f.e.s.queue.RoomRequestQueueManager    : %s%d\n",
          (n / 60000) % 60, (n / 1000) % 60, n % 1000, kMarker, n);
    }
  }

  CommandResult Ctl(const std::string& token, std::vector<std::string> args) {
    args.insert(args.begin(), {"--timeout", "60s"});
    return RunCommand(EroomctlTlsArgv(address_, ca_path_, token, args),
                      absl::Seconds(120));
  }

  // The numbers of the marked lines the collector answers with.
  std::set<int> StoredLines() {
    CommandResult result = Ctl(kViewerToken, {"-o", "json", "logs", "--grep",
                                              kMarker, "--limit", "10000"});
    std::set<int> lines;
    if (result.exit_code != 0) return lines;
    const json logs = json::parse(result.out, nullptr, false);
    if (!logs.is_object() || !logs.contains("events")) return lines;
    for (const json& event : logs["events"]) {
      const std::string message = event["event"]["message"];
      int n = 0;
      if (absl::SimpleAtoi(
              message.substr(message.find(kMarker) + std::strlen(kMarker)),
              &n)) {
        lines.insert(n);
      }
    }
    return lines;
  }

  bool AllStored(int count) {
    const std::set<int> lines = StoredLines();
    for (int n = 0; n < count; ++n) {
      if (!lines.contains(n)) return false;
    }
    return true;
  }

  std::string dir_;
  std::string ca_path_;
  std::string tls_config_;
  std::string logs_dir_;
  std::string address_;
  std::unique_ptr<ChildProcess> collector_;
  std::unique_ptr<ChildProcess> agent_;
};

TEST_F(BackupRestoreTest, BackupWhileAgentsWriteThenRestoreAsDocumented) {
  const std::string database = dir_ + "/db/eroom.db";
  StartCollector("collector", database);
  StartAgent();
  WriteLines(0, kLinesBeforeBackup);
  ASSERT_TRUE(PollUntil(
      kDeadline, [&] { return AllStored(kLinesBeforeBackup); },
      absl::Milliseconds(500)));

  // Lines keep coming while the backup runs.
  std::atomic<bool> writing = true;
  std::thread writer([&] {
    for (int n = kLinesBeforeBackup; writing; n += 10) {
      WriteLines(n, n + 10);
      absl::SleepFor(absl::Milliseconds(5));
    }
  });
  const std::string backup = dir_ + "/eroom-backup.db";
  CommandResult made = Ctl(kAdminToken, {"backup", backup});
  writing = false;
  writer.join();
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_THAT(made.out, HasSubstr("bytes"));
  EXPECT_TRUE(std::filesystem::exists(backup));
  EXPECT_FALSE(std::filesystem::exists(backup + ".partial"));
  // No temporary copy stays beside the database.
  for (const auto& entry : std::filesystem::directory_iterator(dir_ + "/db")) {
    EXPECT_EQ(entry.path().filename().string().find(".backup-"),
              std::string::npos)
        << entry.path();
  }

  // An existing DEST is kept unless --force.
  const auto size = std::filesystem::file_size(backup);
  CommandResult again = Ctl(kAdminToken, {"backup", backup});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_THAT(again.err, HasSubstr("--force"));
  EXPECT_EQ(std::filesystem::file_size(backup), size);

  // Viewers and operators may not.
  for (const char* token : {kViewerToken, kOperatorToken}) {
    CommandResult refused = Ctl(token, {"backup", dir_ + "/refused.db"});
    EXPECT_NE(refused.exit_code, 0);
    EXPECT_THAT(refused.err, HasSubstr("needs role admin")) << refused.err;
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/refused.db"));
  }
  StopChildren({agent_.get(), collector_.get()});

  // README.md's restore, into a fresh collector: stop the collector (a new
  // one here), put the backup at the database path, remove the search
  // index and the WAL files, start.
  const std::string restored = dir_ + "/restored/eroom.db";
  std::filesystem::create_directories(dir_ + "/restored");
  std::filesystem::copy_file(backup, restored);
  for (const char* suffix : {".search", "-wal", "-shm"}) {
    std::filesystem::remove(restored + suffix);
  }
  StartCollector("restored", restored);
  EXPECT_TRUE(PollUntil(
      kDeadline, [&] { return AllStored(kLinesBeforeBackup); },
      absl::Milliseconds(500)));
  CommandResult hosts = Ctl(kViewerToken, {"hosts"});
  EXPECT_THAT(hosts.out, HasSubstr("backup-host"));
}

}  // namespace
}  // namespace eroom::testing

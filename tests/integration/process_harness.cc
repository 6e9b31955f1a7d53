#include "tests/integration/process_harness.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "SQLiteCpp/Database.h"
#include "absl/base/attributes.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

extern char** environ;

namespace eroom::testing {
namespace {

std::vector<std::string> EnvironmentWith(
    const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    std::string name = entry.substr(0, entry.find('='));
    if (!extra.contains(name)) env.push_back(entry);
  }
  for (const auto& [name, value] : extra) env.push_back(name + "=" + value);
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

int ExitStatusOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

pid_t Spawn(std::vector<std::string> argv,
            const std::map<std::string, std::string>& extra_env,
            const std::string& out_path, const std::string& err_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                   O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  std::vector<std::string> env = EnvironmentWith(extra_env);
  std::vector<char*> c_argv = CStrings(argv);
  std::vector<char*> c_env = CStrings(env);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, c_argv[0], &actions, nullptr, c_argv.data(),
                       c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    ADD_FAILURE() << "cannot start " << argv[0] << ": " << strerror(rc);
    return -1;
  }
  return pid;
}

std::string MakeUniqueDir(const std::string& prefix) {
  std::string pattern =
      (std::filesystem::path(::testing::TempDir()) / (prefix + "-XXXXXX"))
          .string();
  if (mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed for " + pattern);
  }
  return pattern;
}

ABSL_CONST_INIT absl::Mutex test_dirs_mu(absl::kConstInit);

// The directories MakeTempDir made in the running test.
std::vector<std::string>& TestDirs() {
  static auto* const dirs = new std::vector<std::string>;
  return *dirs;
}

// A test's directories hold the databases, logs and keys of the processes
// it started; left behind, they piled up by the thousand in /tmp. They go
// when the test passes and stay when it fails: their logs are what one
// debugs with. OnTestEnd comes after the fixture's destructor, so after the
// test's processes were stopped.
class TempDirCleanup : public ::testing::EmptyTestEventListener {
 public:
  void OnTestEnd(const ::testing::TestInfo& test) override {
    std::vector<std::string> dirs;
    {
      absl::MutexLock lock(&test_dirs_mu);
      dirs.swap(TestDirs());
    }
    for (const std::string& dir : dirs) {
      RemoveUnlessFailed(dir, test.result()->Failed());
    }
  }
};

}  // namespace

std::string PlaintextCollectorConfig(const std::string& address,
                                     const std::string& database) {
  return absl::StrCat("listen: ", address, "\nstorage:\n  path: ", database,
                      "\n", kPlaintextCollectorConfig);
}

std::string PlaintextAgentConfig(const std::string& id, const std::string& dir,
                                 const std::string& collector_address) {
  return absl::StrCat("agent:\n  id: ", id, "\n  state_dir: ", dir,
                      "/agent-state\neroom:\n  dir: ", dir, "/eroom\n",
                      "collector:\n  address: ", collector_address,
                      "\n  insecure: true\n");
}

std::string BinaryPath(const std::string& name) {
  return absl::StrCat(EROOM_BIN_DIR, "/", name);
}

std::vector<std::string> EroomctlArgv(const std::string& collector_address,
                                      const std::vector<std::string>& args) {
  std::vector<std::string> argv = {BinaryPath("eroomctl"), "--collector",
                                   collector_address, "--insecure"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::vector<std::string> EroomctlTlsArgv(const std::string& collector_address,
                                         const std::string& ca_path,
                                         const std::string& token,
                                         const std::vector<std::string>& args) {
  std::vector<std::string> argv = {BinaryPath("eroomctl"),
                                   "--collector",
                                   collector_address,
                                   "--ca",
                                   ca_path,
                                   "--token",
                                   token};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::string TokenSha256(const std::string& token) {
  CommandResult hashed =
      RunCommand({"/bin/sh", "-c",
                  absl::StrCat("printf %s '", token, "' | ", EROOM_SOURCE_DIR,
                               "/deploy/hash-token.sh")});
  EXPECT_EQ(hashed.exit_code, 0) << hashed.err;
  return std::string(absl::StripAsciiWhitespace(hashed.out));
}

std::string MakeTempDir(const std::string& prefix) {
  std::string dir = MakeUniqueDir(prefix);
  if (::testing::UnitTest::GetInstance()->current_test_info() != nullptr) {
    absl::MutexLock lock(&test_dirs_mu);
    TestDirs().push_back(dir);
  }
  return dir;
}

void RemoveUnlessFailed(const std::string& dir, bool failed) {
  if (failed) {
    std::cerr << "kept " << dir << "\n";
    return;
  }
  std::error_code error;
  std::filesystem::remove_all(dir, error);
  if (error) {
    std::cerr << "cannot remove " << dir << ": " << error.message() << "\n";
  }
}

void InstallTempDirCleanup() {
  ::testing::UnitTest::GetInstance()->listeners().Append(new TempDirCleanup);
}

int FreePort() {
  // Ports below the kernel's ephemeral range, so that no outgoing connection
  // takes one between this pick and the bind of the server it is for; and
  // each reserved by a lock file held until this test process ends, so that
  // tests running in parallel never pick the same one.
  constexpr int kLowestPort = 10000;
  constexpr int kPortsToTry = 1000;
  static const int below_ephemeral = [] {
    int low = 32768;
    std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> low;
    return low;
  }();
  static std::mt19937 random(getpid() ^ absl::ToUnixNanos(absl::Now()));
  const std::filesystem::path lock_dir =
      std::filesystem::temp_directory_path() / "eroom-test-ports";
  std::filesystem::create_directories(lock_dir);
  const int highest_port =
      std::max(below_ephemeral, kLowestPort + kPortsToTry) - 1;
  std::uniform_int_distribution<int> pick(kLowestPort, highest_port);
  for (int attempt = 0; attempt < kPortsToTry; ++attempt) {
    const int port = pick(random);
    const std::string lock_path = (lock_dir / std::to_string(port)).string();
    int lock = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (lock < 0) continue;
    // flock locks belong to the open file: a port this process reserved
    // earlier is refused too. The lock is released when the process exits.
    if (flock(lock, LOCK_EX | LOCK_NB) != 0) {
      close(lock);
      continue;
    }
    int probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const bool bindable =
        bind(probe, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    close(probe);
    if (bindable) return port;
    close(lock);
  }
  throw std::runtime_error(absl::StrCat("no free port in ", kLowestPort, "..",
                                        highest_port, " after ", kPortsToTry,
                                        " tries"));
}

void WriteFile(const std::string& path, const std::string& content) {
  std::filesystem::create_directories(
      std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int64_t SpooledEvents(const std::string& state_path) {
  try {
    SQLite::Database state(state_path, SQLite::OPEN_READONLY);
    // A row holds `events` events; a row spooled before that column, one.
    return state
        .execAndGet("SELECT COALESCE(SUM(COALESCE(events, 1)), 0) FROM spool")
        .getInt64();
  } catch (const SQLite::Exception&) {
    return 0;
  }
}

ChildProcess::ChildProcess(std::vector<std::string> argv, std::string log_path,
                           std::map<std::string, std::string> extra_env)
    : log_path_(std::move(log_path)) {
  pid_ = Spawn(std::move(argv), extra_env, log_path_, log_path_);
}

ChildProcess::~ChildProcess() {
  if (running()) {
    Signal(SIGKILL);
    Wait(absl::Seconds(10));
  }
  // In a sanitizer build (EROOM_SANITIZE) a child's report ends up only in
  // its log: it fails the test even when the test did not look at how the
  // child ended.
  const std::string log = Log();
  for (const char* sanitizer :
       {"AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer"}) {
    if (log.find(absl::StrCat("SUMMARY: ", sanitizer)) != std::string::npos) {
      ADD_FAILURE() << sanitizer << " report in " << log_path_ << ":\n" << log;
      break;
    }
  }
}

bool ChildProcess::running() {
  if (pid_ <= 0 || exit_status_) return false;
  int status = 0;
  pid_t done = waitpid(pid_, &status, WNOHANG);
  if (done == pid_) {
    exit_status_ = ExitStatusOf(status);
    return false;
  }
  return true;
}

void ChildProcess::Signal(int signal) {
  if (running()) kill(pid_, signal);
}

std::optional<int> ChildProcess::Wait(absl::Duration timeout) {
  PollUntil(
      timeout, [this] { return !running(); }, absl::Milliseconds(20));
  return exit_status_;
}

std::unique_ptr<ChildProcess> StartWithConfig(
    const std::string& dir, const std::string& component,
    std::map<std::string, std::string> extra_env) {
  return std::make_unique<ChildProcess>(
      std::vector<std::string>{BinaryPath(absl::StrCat("eroom-", component)),
                               "--config",
                               absl::StrCat(dir, "/", component, ".yaml")},
      absl::StrCat(dir, "/", component, ".out"), std::move(extra_env));
}

std::unique_ptr<ChildProcess> StartSim(const std::string& dir, int port,
                                       const std::string& api_key,
                                       const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {BinaryPath("eroom-sim"), "--dir",
                                   dir + "/eroom", "--port",
                                   std::to_string(port)};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return std::make_unique<ChildProcess>(
      std::move(argv), dir + "/sim.out",
      std::map<std::string, std::string>{{"EROOM_PRIVATE_KEY", api_key}});
}

CommandResult RunCommand(const std::vector<std::string>& argv,
                         absl::Duration timeout,
                         std::map<std::string, std::string> extra_env) {
  std::string dir = MakeUniqueDir("cmd");
  std::string out_path = dir + "/out", err_path = dir + "/err";
  CommandResult result;
  pid_t pid = Spawn(argv, extra_env, out_path, err_path);
  if (pid <= 0) return result;
  int status = 0;
  // Checked every millisecond: the benchmarks time commands with it.
  bool exited = PollUntil(
      timeout, [&] { return waitpid(pid, &status, WNOHANG) == pid; },
      absl::Milliseconds(1));
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  result.exit_code = exited ? ExitStatusOf(status) : -1;
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  std::filesystem::remove_all(dir);
  return result;
}

bool PollUntil(absl::Duration timeout, const std::function<bool()>& done,
               absl::Duration interval) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (done()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(interval);
  }
}

void StopChildren(std::initializer_list<ChildProcess*> children) {
  for (ChildProcess* child : children) {
    if (child == nullptr) continue;
    child->Signal(SIGTERM);
    child->Wait(absl::Seconds(10));
  }
}

}  // namespace eroom::testing

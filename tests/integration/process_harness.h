#ifndef EROOM_TESTS_INTEGRATION_PROCESS_HARNESS_H_
#define EROOM_TESTS_INTEGRATION_PROCESS_HARNESS_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace eroom::testing {

// Collector config lines for what the tests run: plaintext on loopback and
// no tokens. eroomctl then needs --insecure.
inline constexpr char kPlaintextCollectorConfig[] =
    "tls:\n  mode: insecure\nauth:\n  mode: none\n";

// A collector config listening on `address` with its database at `database`,
// plaintext and without tokens; callers append their own lines.
std::string PlaintextCollectorConfig(const std::string& address,
                                     const std::string& database);

// The config of agent `id` for the ERoom dir `dir`/eroom, keeping its state
// in `dir`/agent-state and sending to the plaintext collector at
// `collector_address`; callers append their own lines.
std::string PlaintextAgentConfig(const std::string& id, const std::string& dir,
                                 const std::string& collector_address);

// Path of a built binary (eroom-agent, eroom-collector, eroomctl, eroom-sim).
std::string BinaryPath(const std::string& name);

// The digest a collector config stores for `token`, from the deploy tool
// (deploy/hash-token.sh).
std::string TokenSha256(const std::string& token);

// A fresh directory under the test's temporary directory. Made in a test,
// it is removed when the test passes and kept when it fails (see
// InstallTempDirCleanup); made outside one, it is the caller's to remove.
std::string MakeTempDir(const std::string& prefix);

// Removes `dir` and what it holds, unless what used it `failed`: then it is
// kept, for its logs, and named on stderr.
void RemoveUnlessFailed(const std::string& dir, bool failed);

// Has the directories each test made with MakeTempDir removed when it
// passes; called once before the tests run, by the integration tests' main
// (integration_main.cc).
void InstallTempDirCleanup();

// A TCP port on 127.0.0.1 that was free a moment ago, outside the range of
// outgoing connections' ports and never handed to two running tests.
int FreePort();

void WriteFile(const std::string& path, const std::string& content);
std::string ReadFile(const std::string& path);

// The events waiting in the spool of the agent state database at
// `state_path`, read beside the agent; 0 while it cannot be read.
int64_t SpooledEvents(const std::string& state_path);

// eroomctl's argv against the plaintext collector at `collector_address`,
// followed by `args`.
std::vector<std::string> EroomctlArgv(const std::string& collector_address,
                                      const std::vector<std::string>& args);

// eroomctl's argv against the TLS collector at `collector_address`, trusting
// `ca_path` and sending `token`, followed by `args`.
std::vector<std::string> EroomctlTlsArgv(const std::string& collector_address,
                                         const std::string& ca_path,
                                         const std::string& token,
                                         const std::vector<std::string>& args);

// A child process with stdout and stderr appended to `log_path`.
class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> argv, std::string log_path,
               std::map<std::string, std::string> extra_env = {});
  ~ChildProcess();  // SIGKILLs the child if it is still running.
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void Signal(int signal);
  // Waits for exit up to `timeout`; the exit status as a shell reports it
  // (128 + signal when killed), or nullopt on timeout.
  std::optional<int> Wait(absl::Duration timeout);
  std::string Log() const { return ReadFile(log_path_); }

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
  std::string log_path_;
};

// Starts eroom-`component` (collector, agent) with the config
// `dir`/`component`.yaml, its output going to `dir`/`component`.out.
std::unique_ptr<ChildProcess> StartWithConfig(
    const std::string& dir, const std::string& component,
    std::map<std::string, std::string> extra_env = {});

// Starts eroom-sim writing to `dir`/eroom and serving on `port` with the API
// key `api_key`, its output going to `dir`/sim.out; `flags` are added.
std::unique_ptr<ChildProcess> StartSim(const std::string& dir, int port,
                                       const std::string& api_key,
                                       const std::vector<std::string>& flags);

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a command to completion (killed after `timeout`); its exit is seen
// within a millisecond, so that timing the call times the command.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         absl::Duration timeout = absl::Seconds(30),
                         std::map<std::string, std::string> extra_env = {});

// Calls `done` until it returns true or `timeout` passes; true if it did.
// SIGTERMs each running child of `children` (null entries skipped) and
// waits up to 10 s for each to exit, as a test's TearDown does.
void StopChildren(std::initializer_list<ChildProcess*> children);

bool PollUntil(absl::Duration timeout, const std::function<bool()>& done,
               absl::Duration interval = absl::Milliseconds(100));

}  // namespace eroom::testing

#endif  // EROOM_TESTS_INTEGRATION_PROCESS_HARNESS_H_

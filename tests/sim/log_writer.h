#ifndef EROOM_TESTS_SIM_LOG_WRITER_H_
#define EROOM_TESTS_SIM_LOG_WRITER_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/clock.h"

namespace eroom::sim {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

// One logback event. `logger` is the full Java class name; `message` may span
// several lines (a stack trace follows the message text, as logback prints
// it).
struct LogEvent {
  std::string thread;
  LogLevel level;
  std::string logger;
  std::string message;
};

// logback's %logger{length}: leading package segments shrink to their first
// letter, left to right, until the name fits (a name of exactly `length`
// characters is still shortened, as logback does).
std::string AbbreviateLoggerName(absl::string_view name, size_t length);

// ERoom's shipped pattern:
// %d{yyyy-MM-dd HH:mm:ss.SSS} [%thread] %-5level %-40logger{40} : %msg%n
std::string FormatLogLine(absl::Time time, absl::TimeZone zone,
                          const LogEvent& event);

// Where formatted log text goes. Append receives whole lines.
class LogSink {
 public:
  virtual ~LogSink() = default;
  virtual void Append(absl::string_view text) = 0;
};

// Appends to a file with O_APPEND, like a JVM whose stdout is redirected with
// `>>`. Before each write it checks that the path still names the open file
// and reopens it otherwise, so that rotation by rename or deletion works.
class LogFile final : public LogSink {
 public:
  static absl::StatusOr<std::unique_ptr<LogFile>> Open(std::string path);
  ~LogFile() override;

  void Append(absl::string_view text) override;

 private:
  LogFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  void ReopenIfRotated() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  absl::Mutex mu_;
  int fd_ ABSL_GUARDED_BY(mu_);
};

// Stamps events with the injected clock and writes each call's events as one
// contiguous block, so concurrent threads never interleave inside a block.
class EventLog {
 public:
  EventLog(const Clock& clock, LogSink& sink, absl::TimeZone zone)
      : clock_(clock), sink_(sink), zone_(zone) {}

  void Log(const LogEvent& event) { Log(absl::MakeConstSpan(&event, 1)); }
  void Log(absl::Span<const LogEvent> events);

 private:
  const Clock& clock_;
  LogSink& sink_;
  const absl::TimeZone zone_;
};

}  // namespace eroom::sim

#endif  // EROOM_TESTS_SIM_LOG_WRITER_H_

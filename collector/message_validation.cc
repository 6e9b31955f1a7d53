#include "collector/message_validation.h"

#include <cmath>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "common/utf8.h"

namespace eroom::collector {
namespace {

namespace v1 = ::eroom::monitor::v1;

// Each check names its field relative to the message it looks at; callers
// prefix their own path only when something failed, so a valid message
// costs no string building.
absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

absl::Status Within(absl::string_view prefix, absl::Status status) {
  if (status.ok()) return status;
  return absl::InvalidArgumentError(absl::StrCat(prefix, status.message()));
}

absl::Status CheckCount(absl::string_view field, size_t count, size_t max,
                        absl::string_view unit) {
  if (count <= max) return absl::OkStatus();
  return Invalid(field, absl::StrCat(count, " ", unit, ", at most ", max));
}

absl::Status CheckBytes(absl::string_view field, absl::string_view value,
                        size_t max) {
  return CheckCount(field, value.size(), max, "bytes");
}

absl::Status CheckRequiredBytes(absl::string_view field,
                                absl::string_view value, size_t max) {
  if (value.empty()) return Invalid(field, "empty");
  return CheckBytes(field, value, max);
}

// Rejected bytes are named by value and offset, never echoed: they are the
// sender's and may be anything.
absl::Status Rejected(absl::string_view field, absl::string_view value,
                      size_t offset, absl::string_view allowed) {
  return Invalid(
      field, absl::StrFormat("byte 0x%02x at offset %d is not %s",
                             static_cast<unsigned char>(value[offset]), offset,
                             allowed));
}

// Log events are proto2, whose parser leaves UTF-8 to us
// (log_event.proto).
absl::Status CheckUtf8(absl::string_view field, absl::string_view value) {
  const size_t ill_formed = FirstIllFormedUtf8(value);
  if (ill_formed == value.size()) return absl::OkStatus();
  return Rejected(field, value, ill_formed, "well-formed UTF-8");
}

// Text of a log event other than its file: at most `max` bytes of UTF-8.
absl::Status CheckLogText(absl::string_view field, absl::string_view value,
                          size_t max) {
  EROOM_RETURN_IF_ERROR(CheckBytes(field, value, max));
  return CheckUtf8(field, value);
}

// Free text shown on one line (eroomctl, logs): no control characters.
absl::Status CheckLineText(absl::string_view field, absl::string_view value,
                           size_t max) {
  EROOM_RETURN_IF_ERROR(CheckBytes(field, value, max));
  for (size_t i = 0; i < value.size(); ++i) {
    if (absl::ascii_iscntrl(static_cast<unsigned char>(value[i]))) {
      return Rejected(field, value, i, "printable");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckTime(absl::string_view field, int64_t unix_ms) {
  if (unix_ms >= kMinTimeUnixMs && unix_ms <= kMaxTimeUnixMs) {
    return absl::OkStatus();
  }
  return Invalid(field, absl::StrCat(unix_ms,
                                     " ms is not within the years 0000 to "
                                     "9999"));
}

absl::Status CheckNonNegative(absl::string_view field, int64_t value) {
  if (value >= 0) return absl::OkStatus();
  return Invalid(field, absl::StrCat(value, ", at least 0"));
}

// NaN or infinity would be stored as NULL and break every comparison an
// alert makes.
absl::Status CheckMeasurement(absl::string_view field, double value) {
  if (std::isfinite(value) && value >= 0) return absl::OkStatus();
  return Invalid(field, absl::StrCat(value, " is not a finite number >= 0"));
}

absl::Status CheckEnum(absl::string_view field, int value,
                       bool (*is_valid)(int), bool unspecified_allowed) {
  if (!is_valid(value)) {
    return Invalid(field, absl::StrCat(value, " is not a known value"));
  }
  if (value == 0 && !unspecified_allowed) return Invalid(field, "unspecified");
  return absl::OkStatus();
}

absl::Status ValidateHello(const v1::AgentHello& hello) {
  EROOM_RETURN_IF_ERROR(
      CheckId("agent_id", hello.agent_id(), kMaxAgentIdBytes));
  // eroom-agent always sends its host name; other clients may leave it out.
  if (!hello.hostname().empty()) {
    EROOM_RETURN_IF_ERROR(
        CheckId("hostname", hello.hostname(), kMaxHostnameBytes));
  }
  EROOM_RETURN_IF_ERROR(
      CheckLineText("version", hello.version(), kMaxVersionBytes));
  EROOM_RETURN_IF_ERROR(
      CheckCount("labels", hello.labels_size(), kMaxLabels, "labels"));
  for (const auto& [key, value] : hello.labels()) {
    EROOM_RETURN_IF_ERROR(CheckId("labels: key", key, kMaxLabelKeyBytes));
    EROOM_RETURN_IF_ERROR(CheckLineText(absl::StrCat("labels[\"", key, "\"]"),
                                        value, kMaxLabelValueBytes));
  }
  return CheckTime("started_unix_ms", hello.started_unix_ms());
}

absl::Status ValidateLog(const v1::LogEvent& log) {
  EROOM_RETURN_IF_ERROR(CheckTime("time_unix_ms", log.time_unix_ms()));
  EROOM_RETURN_IF_ERROR(CheckRequiredBytes("file", log.file(), kMaxPathBytes));
  EROOM_RETURN_IF_ERROR(CheckUtf8("file", log.file()));
  EROOM_RETURN_IF_ERROR(
      CheckEnum("level", log.level(), v1::LogLevel_IsValid, true));
  for (const auto& [field, value] :
       {std::pair{"logger", &log.logger()}, std::pair{"thread", &log.thread()},
        std::pair{"message", &log.message()}, std::pair{"ruid", &log.ruid()}}) {
    EROOM_RETURN_IF_ERROR(CheckLogText(field, *value, kMaxLogTextBytes));
  }
  EROOM_RETURN_IF_ERROR(
      CheckLogText("event_type", log.event_type(), kMaxEventTypeBytes));
  EROOM_RETURN_IF_ERROR(
      CheckCount("fields", log.fields_size(), kMaxLogFields, "fields"));
  for (const auto& [key, value] : log.fields()) {
    EROOM_RETURN_IF_ERROR(CheckId("fields: key", key, kMaxLogFieldKeyBytes));
    EROOM_RETURN_IF_ERROR(CheckLogText(absl::StrCat("fields[\"", key, "\"]"),
                                       value, kMaxLogTextBytes));
  }
  return CheckCount("file_offset", log.file_offset(), kMaxFileOffset, "bytes");
}

absl::Status ValidateProcess(const v1::ProcessState& process) {
  EROOM_RETURN_IF_ERROR(CheckNonNegative("pid", process.pid()));
  EROOM_RETURN_IF_ERROR(CheckMeasurement("cpu_percent", process.cpu_percent()));
  return CheckTime("started_unix_ms", process.started_unix_ms());
}

absl::Status ValidateSample(const v1::ResourceSample& sample) {
  EROOM_RETURN_IF_ERROR(CheckTime("time_unix_ms", sample.time_unix_ms()));
  EROOM_RETURN_IF_ERROR(CheckMeasurement("cpu_percent", sample.cpu_percent()));
  EROOM_RETURN_IF_ERROR(
      CheckMeasurement("load_average_1m", sample.load_average_1m()));
  EROOM_RETURN_IF_ERROR(
      CheckCount("disks", sample.disks_size(), kMaxDisks, "disks"));
  for (int i = 0; i < sample.disks_size(); ++i) {
    EROOM_RETURN_IF_ERROR(
        CheckRequiredBytes(absl::StrCat("disks[", i, "].mount"),
                           sample.disks(i).mount(), kMaxPathBytes));
  }
  if (!sample.has_eroom()) return absl::OkStatus();
  return Within("eroom.", ValidateProcess(sample.eroom()));
}

absl::Status ValidateQueue(const v1::QueueStatus& queue) {
  for (const auto& [field, value] :
       {std::pair{"queued", queue.queued()},
        std::pair{"active", queue.active()},
        std::pair{"completed", queue.completed()},
        std::pair{"max_concurrent", queue.max_concurrent()}}) {
    EROOM_RETURN_IF_ERROR(CheckNonNegative(field, value));
  }
  return absl::OkStatus();
}

absl::Status ValidateProbe(const v1::ProbeResult& probe) {
  EROOM_RETURN_IF_ERROR(CheckTime("time_unix_ms", probe.time_unix_ms()));
  EROOM_RETURN_IF_ERROR(
      CheckEnum("target", probe.target(), v1::ProbeTarget_IsValid, false));
  if (probe.http_status() < 0 || probe.http_status() > kMaxHttpStatus) {
    return Invalid("http_status",
                   absl::StrCat(probe.http_status(), " is not within 0 to ",
                                kMaxHttpStatus));
  }
  EROOM_RETURN_IF_ERROR(CheckMeasurement("latency_ms", probe.latency_ms()));
  EROOM_RETURN_IF_ERROR(
      CheckBytes("error", probe.error(), kMaxProbeErrorBytes));
  EROOM_RETURN_IF_ERROR(CheckLineText("health_status", probe.health_status(),
                                      kMaxHealthStatusBytes));
  if (!probe.has_queue()) return absl::OkStatus();
  return Within("queue.", ValidateQueue(probe.queue()));
}

absl::Status ValidateNotice(const v1::AgentNotice& notice) {
  EROOM_RETURN_IF_ERROR(CheckTime("time_unix_ms", notice.time_unix_ms()));
  EROOM_RETURN_IF_ERROR(CheckId("kind", notice.kind(), kMaxNoticeKindBytes));
  EROOM_RETURN_IF_ERROR(
      CheckBytes("message", notice.message(), kMaxNoticeMessageBytes));
  return CheckNonNegative("count", notice.count());
}

absl::Status ValidatePayload(const v1::Event& event) {
  switch (event.payload_case()) {
    case v1::Event::kLog:
      return Within("log.", ValidateLog(event.log()));
    case v1::Event::kSample:
      return Within("sample.", ValidateSample(event.sample()));
    case v1::Event::kProbe:
      return Within("probe.", ValidateProbe(event.probe()));
    case v1::Event::kNotice:
      return Within("notice.", ValidateNotice(event.notice()));
    case v1::Event::PAYLOAD_NOT_SET:
      break;
  }
  return Invalid("payload", "none set (log, sample, probe or notice)");
}

// `sequence` must follow `previous` (sent `where`) closely.
absl::Status CheckSequenceStep(uint64_t sequence, uint64_t previous,
                               absl::string_view where) {
  if (sequence <= previous) {
    return Invalid("sequence",
                   absl::StrCat(sequence, " after ", previous, where,
                                ": sequences must increase"));
  }
  if (sequence - previous > kMaxSequenceStep) {
    return Invalid("sequence",
                   absl::StrCat(sequence, " after ", previous, where,
                                ": a jump of more than ", kMaxSequenceStep));
  }
  return absl::OkStatus();
}

absl::Status ValidateBatch(const v1::EventBatch& batch) {
  if (batch.events().empty()) return Invalid("events", "empty");
  EROOM_RETURN_IF_ERROR(
      CheckCount("events", batch.events_size(), kMaxEventsPerBatch, "events"));
  uint64_t previous = 0;
  for (int i = 0; i < batch.events_size(); ++i) {
    const v1::Event& event = batch.events(i);
    const uint64_t sequence = event.sequence();
    absl::Status status;
    if (sequence == 0) {
      status = Invalid("sequence", "0, at least 1");
    } else if (sequence > kMaxSequence) {
      status = Invalid("sequence",
                       absl::StrCat(sequence, ", at most ", kMaxSequence));
    } else if (previous != 0) {
      status = CheckSequenceStep(sequence, previous, "");
    }
    if (status.ok()) {
      status = ValidatePayload(event);
    }
    if (!status.ok()) {
      return Within(absl::StrCat("events[", i, "]."), std::move(status));
    }
    previous = sequence;
  }
  return absl::OkStatus();
}

absl::Status ValidateCommandProgress(const v1::CommandProgress& progress) {
  EROOM_RETURN_IF_ERROR(
      CheckId("command_id", progress.command_id(), kMaxCommandIdBytes));
  EROOM_RETURN_IF_ERROR(
      CheckEnum("state", progress.state(), v1::CommandState_IsValid, false));
  EROOM_RETURN_IF_ERROR(
      CheckLineText("step", progress.step(), kMaxCommandStepBytes));
  // Several lines are fine here: a failed step quotes the log around it.
  EROOM_RETURN_IF_ERROR(CheckBytes("message", progress.message(),
                                   kMaxCommandProgressMessageBytes));
  return CheckTime("time_unix_ms", progress.time_unix_ms());
}

}  // namespace

absl::Status ValidateAgentMessage(const v1::AgentMessage& message) {
  switch (message.kind_case()) {
    case v1::AgentMessage::kHello:
      return Within("hello.", ValidateHello(message.hello()));
    case v1::AgentMessage::kBatch:
      return Within("batch.", ValidateBatch(message.batch()));
    case v1::AgentMessage::kCommandProgress:
      return Within("command_progress.",
                    ValidateCommandProgress(message.command_progress()));
    case v1::AgentMessage::KIND_NOT_SET:
      break;
  }
  return Invalid("kind", "none set (hello, batch or command_progress)");
}

absl::Status StreamSequences::Continue(const v1::EventBatch& batch) {
  if (batch.events().empty()) return absl::OkStatus();
  if (last_ != 0) {
    EROOM_RETURN_IF_ERROR(
        Within("batch.events[0].",
               CheckSequenceStep(batch.events(0).sequence(), last_,
                                 " (the last one sent on this stream)")));
  }
  last_ = batch.events(batch.events_size() - 1).sequence();
  return absl::OkStatus();
}

}  // namespace eroom::collector

#include "collector/message_validation.h"

#include <cmath>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

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

// Identifiers: kIdBytes only.
absl::Status CheckToken(absl::string_view field, absl::string_view value,
                        size_t max) {
  if (absl::Status size = CheckRequiredBytes(field, value, max); !size.ok()) {
    return size;
  }
  if (const size_t bad = value.find_first_not_of(kIdBytes);
      bad != absl::string_view::npos) {
    return Rejected(field, value, bad, kIdBytesDescription);
  }
  return absl::OkStatus();
}

// Free text shown on one line (eroomctl, logs): no control characters.
absl::Status CheckLineText(absl::string_view field, absl::string_view value,
                           size_t max) {
  if (absl::Status size = CheckBytes(field, value, max); !size.ok()) {
    return size;
  }
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
  if (absl::Status s =
          CheckToken("agent_id", hello.agent_id(), kMaxAgentIdBytes);
      !s.ok()) {
    return s;
  }
  // eroom-agent always sends its host name; other clients may leave it out.
  if (!hello.hostname().empty()) {
    if (absl::Status s =
            CheckToken("hostname", hello.hostname(), kMaxHostnameBytes);
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s =
          CheckLineText("version", hello.version(), kMaxVersionBytes);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          CheckCount("labels", hello.labels_size(), kMaxLabels, "labels");
      !s.ok()) {
    return s;
  }
  for (const auto& [key, value] : hello.labels()) {
    if (absl::Status s = CheckToken("labels: key", key, kMaxLabelKeyBytes);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = CheckLineText(absl::StrCat("labels[\"", key, "\"]"),
                                       value, kMaxLabelValueBytes);
        !s.ok()) {
      return s;
    }
  }
  return CheckTime("started_unix_ms", hello.started_unix_ms());
}

absl::Status ValidateLog(const v1::LogEvent& log) {
  if (absl::Status s = CheckTime("time_unix_ms", log.time_unix_ms()); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckRequiredBytes("file", log.file(), kMaxPathBytes);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          CheckEnum("level", log.level(), v1::LogLevel_IsValid, true);
      !s.ok()) {
    return s;
  }
  for (const auto& [field, value] :
       {std::pair{"logger", &log.logger()}, std::pair{"thread", &log.thread()},
        std::pair{"message", &log.message()}, std::pair{"ruid", &log.ruid()}}) {
    if (absl::Status s = CheckBytes(field, *value, kMaxLogTextBytes); !s.ok()) {
      return s;
    }
  }
  if (absl::Status s =
          CheckBytes("event_type", log.event_type(), kMaxEventTypeBytes);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          CheckCount("fields", log.fields_size(), kMaxLogFields, "fields");
      !s.ok()) {
    return s;
  }
  for (const auto& [key, value] : log.fields()) {
    if (absl::Status s = CheckToken("fields: key", key, kMaxLogFieldKeyBytes);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = CheckBytes(absl::StrCat("fields[\"", key, "\"]"),
                                    value, kMaxLogTextBytes);
        !s.ok()) {
      return s;
    }
  }
  return CheckCount("file_offset", log.file_offset(), kMaxFileOffset, "bytes");
}

absl::Status ValidateProcess(const v1::ProcessState& process) {
  if (absl::Status s = CheckNonNegative("pid", process.pid()); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckMeasurement("cpu_percent", process.cpu_percent());
      !s.ok()) {
    return s;
  }
  return CheckTime("started_unix_ms", process.started_unix_ms());
}

absl::Status ValidateSample(const v1::ResourceSample& sample) {
  if (absl::Status s = CheckTime("time_unix_ms", sample.time_unix_ms());
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckMeasurement("cpu_percent", sample.cpu_percent());
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          CheckMeasurement("load_average_1m", sample.load_average_1m());
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          CheckCount("disks", sample.disks_size(), kMaxDisks, "disks");
      !s.ok()) {
    return s;
  }
  for (int i = 0; i < sample.disks_size(); ++i) {
    if (absl::Status s =
            CheckRequiredBytes(absl::StrCat("disks[", i, "].mount"),
                               sample.disks(i).mount(), kMaxPathBytes);
        !s.ok()) {
      return s;
    }
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
    if (absl::Status s = CheckNonNegative(field, value); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ValidateProbe(const v1::ProbeResult& probe) {
  if (absl::Status s = CheckTime("time_unix_ms", probe.time_unix_ms());
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          CheckEnum("target", probe.target(), v1::ProbeTarget_IsValid, false);
      !s.ok()) {
    return s;
  }
  if (probe.http_status() < 0 || probe.http_status() > kMaxHttpStatus) {
    return Invalid("http_status",
                   absl::StrCat(probe.http_status(), " is not within 0 to ",
                                kMaxHttpStatus));
  }
  if (absl::Status s = CheckMeasurement("latency_ms", probe.latency_ms());
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckBytes("error", probe.error(), kMaxProbeErrorBytes);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckLineText("health_status", probe.health_status(),
                                     kMaxHealthStatusBytes);
      !s.ok()) {
    return s;
  }
  if (!probe.has_queue()) return absl::OkStatus();
  return Within("queue.", ValidateQueue(probe.queue()));
}

absl::Status ValidateNotice(const v1::AgentNotice& notice) {
  if (absl::Status s = CheckTime("time_unix_ms", notice.time_unix_ms());
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckToken("kind", notice.kind(), kMaxNoticeKindBytes);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          CheckBytes("message", notice.message(), kMaxNoticeMessageBytes);
      !s.ok()) {
    return s;
  }
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

absl::Status ValidateBatch(const v1::EventBatch& batch) {
  if (batch.events().empty()) return Invalid("events", "empty");
  if (absl::Status s = CheckCount("events", batch.events_size(),
                                  kMaxEventsPerBatch, "events");
      !s.ok()) {
    return s;
  }
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
    } else if (sequence <= previous) {
      status = Invalid("sequence", absl::StrCat(sequence, " after ", previous,
                                                ": sequences must increase"));
    } else {
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
  if (absl::Status s =
          CheckToken("command_id", progress.command_id(), kMaxCommandIdBytes);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          CheckEnum("state", progress.state(), v1::CommandState_IsValid, false);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckBytes("message", progress.message(),
                                  kMaxCommandProgressMessageBytes);
      !s.ok()) {
    return s;
  }
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

}  // namespace eroom::collector

#include "agent/room_tracker.h"

#include <algorithm>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "re2/re2.h"

namespace eroom::agent {
namespace {

namespace v1 = ::eroom::monitor::v1;

// A ruid mentioned anywhere in the first line, or empty.
std::string MentionedRuid(std::string_view message) {
  const std::string_view first_line = message.substr(0, message.find('\n'));
  if (first_line.find("room_") == std::string_view::npos) return "";
  static const RE2& ruid = *new RE2(R"(\b(room_[0-9a-fA-F]{8,})\b)");
  std::string found;
  RE2::PartialMatch(first_line, ruid, &found);
  return found;
}

// The pool of a Java executor thread (`pool-2-thread-1` -> "2"), or nullopt
// for any other thread.
std::optional<std::string_view> PoolOf(std::string_view thread) {
  auto digits = [](std::string_view text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), absl::ascii_isdigit);
  };
  constexpr std::string_view kPool = "pool-";
  constexpr std::string_view kThread = "-thread-";
  if (!thread.starts_with(kPool)) return std::nullopt;
  const size_t separator = thread.find(kThread);
  if (separator == std::string_view::npos) return std::nullopt;
  const std::string_view pool =
      thread.substr(kPool.size(), separator - kPool.size());
  if (!digits(pool) || !digits(thread.substr(separator + kThread.size()))) {
    return std::nullopt;
  }
  return pool;
}

// The value of field `name` of `event`, or nullptr. Most events have no
// field: they are not hashed.
const std::string* FieldOf(const v1::LogEvent& event, const std::string& name) {
  if (event.fields().empty()) return nullptr;
  auto it = event.fields().find(name);
  return it == event.fields().end() ? nullptr : &it->second;
}

bool IsOutcome(const std::string& type) {
  return type == "room_completed" || type == "room_failed";
}

// Lines of the queue manager's report after a room's outcome.
bool IsReport(const std::string& type) {
  return type == "processing_time" || type == "room_result" || IsOutcome(type);
}

// ERoom has maxConcurrent workers (1 as shipped); a log with more rooms at
// once than this is not one the tracker can follow, and must not grow it.
constexpr size_t kMaxRuns = 16;

// Fields of a room_summary that the outcome carries.
constexpr std::string_view kSummaryFields[] = {
    "total_objects", "generated_scripts", "success_rate_percent", "scripts"};

}  // namespace

void RoomTracker::Assign(v1::LogEvent& event) {
  const auto& fields = event.fields();
  if (const std::string* ruid = FieldOf(event, "ruid")) {
    event.set_ruid(*ruid);
  } else if (std::string mentioned = MentionedRuid(event.message());
             !mentioned.empty()) {
    event.set_ruid(std::move(mentioned));
  }

  // As classified: settling the outcome may retype the event.
  const std::string type = event.event_type();
  if (type == "server_started" || type == "server_stopping") {
    runs_.clear();
    return;
  }
  if (type == "room_started" && !event.ruid().empty()) {
    EndRunOn(event.thread());
    if (runs_.size() >= kMaxRuns) runs_.erase(runs_.begin());
    Run run{.ruid = event.ruid(),
            .worker_thread = event.thread(),
            .worker_pool = std::string(PoolOf(event.thread()).value_or("")),
            .started_unix_ms = event.time_unix_ms()};
    if (dequeued_ruid_ == run.ruid) {
      run.carried["queue_wait_ms"] = dequeued_wait_ms_;
    }
    runs_.push_back(std::move(run));
    return;
  }

  Run* run = RunOf(event);
  if (const std::string* wait = FieldOf(event, "queue_wait_ms");
      wait != nullptr && !event.ruid().empty()) {
    if (run != nullptr) {
      run->carried["queue_wait_ms"] = *wait;
    } else {
      dequeued_ruid_ = event.ruid();
      dequeued_wait_ms_ = *wait;
    }
  }
  if (run != nullptr && type == "room_summary") {
    for (std::string_view name : kSummaryFields) {
      if (auto it = fields.find(std::string(name)); it != fields.end()) {
        run->carried[it->first] = it->second;
      }
    }
  }
  if (run != nullptr && !run->has_outcome && type == "processing_time") {
    if (auto it = fields.find("processing_ms"); it != fields.end()) {
      run->carried["processing_ms"] = it->second;
    }
  }
  if (IsOutcome(type) || type == "room_result") SettleOutcome(event, run);
  // The result line closes the queue manager's report.
  if (run != nullptr && type == "room_result" && run->has_outcome) {
    EndRunOn(run->worker_thread);
  }
}

RoomTracker::Run* RoomTracker::RunOf(v1::LogEvent& event) {
  if (!event.ruid().empty()) {
    auto run = std::find_if(runs_.begin(), runs_.end(), [&](const Run& r) {
      return r.ruid == event.ruid();
    });
    return run == runs_.end() ? nullptr : &*run;
  }
  auto own = std::find_if(runs_.begin(), runs_.end(), [&](const Run& r) {
    return r.worker_thread == event.thread();
  });
  if (own != runs_.end()) {
    if (own->has_outcome && !IsReport(event.event_type())) return nullptr;
    event.set_ruid(own->ruid);
    return &*own;
  }
  const std::optional<std::string_view> pool = PoolOf(event.thread());
  if (!pool) return nullptr;
  Run* only_running = nullptr;
  for (Run& run : runs_) {
    if (run.has_outcome) continue;
    if (only_running != nullptr) return nullptr;  // Two rooms at once.
    only_running = &run;
  }
  if (only_running == nullptr || only_running->worker_pool == *pool) {
    return nullptr;  // No room runs, or a sibling of its worker.
  }
  event.set_ruid(only_running->ruid);
  return only_running;
}

void RoomTracker::SettleOutcome(v1::LogEvent& event, Run* run) {
  const bool first = run != nullptr ? !run->has_outcome
                                    : !event.ruid().empty() &&
                                          event.ruid() != last_outcome_ruid_;
  const std::string& type = event.event_type();
  if (!first) {
    if (IsOutcome(type) && (run != nullptr || !event.ruid().empty())) {
      event.set_event_type("room_report");
    }
    return;
  }
  auto& fields = *event.mutable_fields();
  if (type == "room_result") {
    const auto success = fields.find("success");
    event.set_event_type(success != fields.end() && success->second == "true"
                             ? "room_completed"
                             : "room_failed");
  }
  fields["outcome"] =
      event.event_type() == "room_completed" ? "success" : "failure";
  if (auto duration = fields.find("duration_ms"); duration != fields.end()) {
    fields["processing_ms"] = duration->second;
  }
  if (run != nullptr) {
    for (const auto& [name, value] : run->carried) fields.insert({name, value});
    if (!fields.contains("processing_ms") &&
        event.time_unix_ms() >= run->started_unix_ms) {
      fields["processing_ms"] =
          absl::StrCat(event.time_unix_ms() - run->started_unix_ms);
    }
    run->has_outcome = true;
  }
  if (!event.ruid().empty()) last_outcome_ruid_ = event.ruid();
}

void RoomTracker::EndRunOn(const std::string& thread) {
  std::erase_if(runs_,
                [&](const Run& run) { return run.worker_thread == thread; });
}

}  // namespace eroom::agent

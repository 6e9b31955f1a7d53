#include "agent/room_tracker.h"

#include <string_view>
#include <utility>

#include "re2/re2.h"

namespace eroom::agent {
namespace {

// A ruid mentioned anywhere in the first line, or empty.
std::string MentionedRuid(std::string_view message) {
  const std::string_view first_line = message.substr(0, message.find('\n'));
  if (first_line.find("room_") == std::string_view::npos) return "";
  static const RE2& ruid = *new RE2(R"(\b(room_[0-9a-fA-F]{8,})\b)");
  std::string found;
  RE2::PartialMatch(first_line, ruid, &found);
  return found;
}

}  // namespace

void RoomTracker::Assign(eroom::monitor::v1::LogEvent& event) {
  const auto& fields = event.fields();
  if (auto it = fields.find("ruid"); it != fields.end()) {
    event.set_ruid(it->second);
  } else if (std::string mentioned = MentionedRuid(event.message());
             !mentioned.empty()) {
    event.set_ruid(std::move(mentioned));
  }

  const std::string& type = event.event_type();
  if (type == "room_started" && !event.ruid().empty()) {
    running_ruid_ = event.ruid();
    worker_thread_ = event.thread();
    run_ended_ = false;
    return;
  }
  if (running_ruid_.empty()) return;

  const bool report = type == "processing_time" || type == "background_failure";
  if (event.ruid().empty() &&
      (report || (!run_ended_ && event.thread() == worker_thread_))) {
    event.set_ruid(running_ruid_);
  }
  if ((type == "room_completed" || type == "room_failed") &&
      event.ruid() == running_ruid_) {
    run_ended_ = true;
  }
  if (type == "processing_time" && fields.contains("success")) {
    running_ruid_.clear();
  }
}

}  // namespace eroom::agent

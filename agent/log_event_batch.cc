#include "agent/log_event_batch.h"

namespace eroom::agent {
namespace {

namespace v1 = ::eroom::monitor::v1;

size_t TextBytes(const v1::LogEvent& event) {
  return event.file().size() + event.logger().size() + event.thread().size() +
         event.message().size() + event.event_type().size() +
         event.ruid().size();
}

}  // namespace

void LogEventBatch::Add(v1::LogEvent&& event) {
  message_bytes_ += event.message().size();
  if (TextBytes(event) > kMaxKeptTextBytes) long_events_.push_back(size_);
  if (size_ == events_.size()) events_.emplace_back();
  events_[size_++].Swap(&event);
}

void LogEventBatch::Clear() {
  for (size_t index : long_events_) events_[index] = v1::LogEvent();
  long_events_.clear();
  size_ = 0;
  message_bytes_ = 0;
}

}  // namespace eroom::agent

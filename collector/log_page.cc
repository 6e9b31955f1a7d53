#include "collector/log_page.h"

#include <set>

#include "collector/storage.h"

namespace eroom::collector {
namespace v1 = ::eroom::monitor::v1;

LogPageBuilder::LogPageBuilder(int32_t limit, int32_t context,
                               LogContextReader read_context)
    : limit_(limit),
      context_(context),
      read_context_(std::move(read_context)) {}

bool LogPageBuilder::Add(v1::StoredLogEvent match, const LogCursor& position) {
  if (matches_ >= limit_) {
    more_ = true;
    return false;
  }
  match.set_context(false);
  // The match and its context, newest first.
  std::vector<v1::StoredLogEvent> group;
  if (context_ > 0) {
    std::vector<v1::StoredLogEvent> newer = read_context_(match, context_,
                                                          /*older=*/false);
    std::vector<v1::StoredLogEvent> older = read_context_(match, context_,
                                                          /*older=*/true);
    group.insert(group.end(), std::make_move_iterator(newer.rbegin()),
                 std::make_move_iterator(newer.rend()));
    for (v1::StoredLogEvent& event : group) event.set_context(true);
    group.push_back(match);
    for (v1::StoredLogEvent& event : older) {
      event.set_context(true);
      group.push_back(std::move(event));
    }
  } else {
    group.push_back(match);
  }
  auto added_bytes = [&] {
    size_t bytes = 0;
    for (const v1::StoredLogEvent& event : group) {
      if (!run_of_.contains({event.agent_id(), event.sequence()})) {
        bytes += event.ByteSizeLong();
      }
    }
    return bytes;
  };
  size_t added = added_bytes();
  if (bytes_ + added > kMaxLogResponseBytes && matches_ == 0 &&
      group.size() > 1) {
    // The first match at least, without the context that does not fit.
    group.assign(1, match);
    added = added_bytes();
  }
  if (bytes_ + added > kMaxLogResponseBytes) {
    truncated_ = true;
    more_ = true;
    return false;
  }
  bytes_ += added;
  ++matches_;
  last_match_ = position;

  // The runs this group shares an event with become one, the first of them.
  std::set<size_t> touched;
  for (const v1::StoredLogEvent& event : group) {
    auto it = run_of_.find({event.agent_id(), event.sequence()});
    if (it != run_of_.end()) touched.insert(it->second);
  }
  const size_t target = touched.empty() ? runs_.size() : *touched.begin();
  if (touched.empty()) runs_.emplace_back();
  for (size_t other : touched) {
    if (other == target) continue;
    for (auto& [sequence, event] : runs_[other]) {
      run_of_[{event.agent_id(), sequence}] = target;
      runs_[target].emplace(sequence, std::move(event));
    }
    runs_[other].clear();
  }
  Run& run = runs_[target];
  for (v1::StoredLogEvent& event : group) {
    const uint64_t sequence = event.sequence();
    auto [it, inserted] = run.try_emplace(sequence, std::move(event));
    if (inserted) {
      run_of_[{it->second.agent_id(), sequence}] = target;
    } else if (sequence == match.sequence()) {
      it->second.set_context(false);  // Shown as context of a newer match.
    }
  }
  return true;
}

v1::QueryLogsResponse LogPageBuilder::Finish() && {
  v1::QueryLogsResponse response;
  for (Run& run : runs_) {
    for (auto& [sequence, event] : run) {
      *response.add_events() = std::move(event);
    }
  }
  response.set_truncated(truncated_);
  if (more_ && last_match_.has_value()) {
    response.set_next_cursor(EncodeLogCursor(*last_match_));
  }
  return response;
}

}  // namespace eroom::collector

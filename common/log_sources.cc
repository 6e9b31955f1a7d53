#include "common/log_sources.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace eroom {
namespace v1 = ::eroom::monitor::v1;

absl::Status ResolveLogSources(v1::EventBatch& batch) {
  if (batch.log_sources().empty()) return absl::OkStatus();
  absl::flat_hash_map<uint32_t, const v1::LogSource*> sources;
  sources.reserve(batch.log_sources_size());
  for (int i = 0; i < batch.log_sources_size(); ++i) {
    const v1::LogSource& source = batch.log_sources(i);
    if (!sources.emplace(source.id(), &source).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("batch.log_sources[", i, "].id: ", source.id(),
                       " is the id of an earlier source"));
    }
  }
  for (int i = 0; i < batch.events_size(); ++i) {
    v1::Event& event = *batch.mutable_events(i);
    if (event.log_source() == 0) continue;
    if (!event.has_log()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "batch.events[", i, "].log_source: set on an event without a log"));
    }
    const auto found = sources.find(event.log_source());
    if (found == sources.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("batch.events[", i, "].log_source: ", event.log_source(),
                       " is not one of the batch's log_sources"));
    }
    v1::LogEvent& log = *event.mutable_log();
    // As sent: a field the event did not have, the source does not have.
    const v1::LogSource& source = *found->second;
    if (source.has_file()) log.set_file(source.file());
    if (source.has_logger()) log.set_logger(source.logger());
    if (source.has_thread()) log.set_thread(source.thread());
    event.clear_log_source();
  }
  batch.clear_log_sources();
  return absl::OkStatus();
}

}  // namespace eroom

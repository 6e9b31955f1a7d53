#include "collector/ingest_stats.h"

#include "absl/strings/str_cat.h"

namespace eroom::collector {
namespace v1 = ::eroom::monitor::v1;

void IngestStats::OnStored(const StoredBatch& stored) {
  Counts added;
  for (const AgentBatch& batch : stored.batches) {
    ++added.batches;
    for (const v1::Event& event : batch.batch->events()) {
      switch (event.payload_case()) {
        case v1::Event::kLog:
          ++added.logs;
          break;
        case v1::Event::kSample:
          ++added.samples;
          break;
        case v1::Event::kProbe:
          ++added.probes;
          break;
        case v1::Event::kNotice:
          ++added.notices;
          break;
        case v1::Event::PAYLOAD_NOT_SET:
          break;
      }
    }
  }
  absl::MutexLock lock(&mu_);
  counts_.batches += added.batches;
  counts_.logs += added.logs;
  counts_.samples += added.samples;
  counts_.probes += added.probes;
  counts_.notices += added.notices;
}

IngestStats::Counts IngestStats::counts() const {
  absl::MutexLock lock(&mu_);
  return counts_;
}

std::string IngestStats::Describe(const Counts& now, const Counts& before) {
  return absl::StrCat(now.batches - before.batches, " batches, ",
                      now.logs - before.logs, " log events, ",
                      now.samples - before.samples, " samples, ",
                      now.probes - before.probes, " probe results, ",
                      now.notices - before.notices, " agent notices");
}

}  // namespace eroom::collector

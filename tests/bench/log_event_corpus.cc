#include "tests/bench/log_event_corpus.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "agent/log_checkpoint_store.h"
#include "agent/log_tailer.h"
#include "common/clock.h"
#include "tests/bench/temp_log_file.h"
#include "tests/unit/test_support/fake_clock.h"

namespace eroom::bench {
namespace {

namespace v1 = ::eroom::monitor::v1;

// Keeps every committed event, forgets the checkpoints.
class CollectingStore final : public agent::LogCheckpointStore {
 public:
  absl::StatusOr<agent::SavedLogState> Load() override {
    return agent::SavedLogState();
  }
  absl::Status Commit(absl::Span<v1::LogEvent> events,
                      const std::vector<agent::FileCheckpoint>&) override {
    events_.insert(events_.end(), events.begin(), events.end());
    return absl::OkStatus();
  }
  std::vector<v1::LogEvent> Take() { return std::move(events_); }

 private:
  std::vector<v1::LogEvent> events_;
};

std::vector<v1::LogEvent> TailWholeFile(uint64_t lines) {
  const TempLogFile& log = GeneratedLogFile(lines);
  FakeClock clock;
  CollectingStore store;
  agent::LogSourceOptions options;
  options.paths = {log.path};
  options.start_at_beginning = true;
  options.use_inotify = false;
  options.time_zone = absl::UTCTimeZone();
  absl::StatusOr<std::unique_ptr<agent::LogTailer>> tailer =
      agent::LogTailer::Create(options, clock, store);
  if (!tailer.ok()) {
    std::fprintf(stderr, "cannot tail %s: %s\n", log.path.c_str(),
                 std::string(tailer.status().message()).c_str());
    std::exit(1);
  }
  while ((*tailer)->Stats().bytes_read < log.bytes) (*tailer)->PollOnce();
  (*tailer)->FlushPending();
  return store.Take();
}

}  // namespace

const std::vector<v1::LogEvent>& RealisticLogEvents(uint64_t lines) {
  static std::map<uint64_t, std::vector<v1::LogEvent>> corpora;
  auto it = corpora.find(lines);
  if (it == corpora.end()) {
    it = corpora.emplace(lines, TailWholeFile(lines)).first;
  }
  return it->second;
}

}  // namespace eroom::bench

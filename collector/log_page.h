#ifndef EROOM_COLLECTOR_LOG_PAGE_H_
#define EROOM_COLLECTOR_LOG_PAGE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "collector/log_filter.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::collector {

// Up to `count` stored log events of `match`'s host and file nearest it in
// the host's order (sequence), among the host's kLogContextReach log events
// on that side: `older` ones, else newer ones; nearest first.
using LogContextReader =
    std::function<std::vector<eroom::monitor::v1::StoredLogEvent>(
        const eroom::monitor::v1::StoredLogEvent& match, int count,
        bool older)>;

// Builds one page of a log query as every backend answers it
// (StorageReader::QueryLogs): the backend hands it the matches in the
// query's order; the page takes `limit` of them, the context around each,
// stops before kMaxLogResponseBytes, and knows from one match more whether
// the next page has any.
class LogPageBuilder {
 public:
  // `read_context` is called only when `context` is positive.
  LogPageBuilder(int32_t limit, int32_t context, LogContextReader read_context);

  // Adds the next match, at `position` in the query's order. False once the
  // page needs no more: it holds `limit` matches and this one shows that
  // more follow, or it is as large as a response may be.
  bool Add(eroom::monitor::v1::StoredLogEvent match, const LogCursor& position);

  // The page. Context events (StoredLogEvent.context) come with their match
  // as one run of its host and file, newest (highest sequence) first; runs
  // that share an event are one run, and an event is in the page once, a
  // match rather than context. Runs follow their first match's order.
  eroom::monitor::v1::QueryLogsResponse Finish() &&;

 private:
  using EventKey = std::pair<std::string, uint64_t>;  // agent_id, sequence.
  // The events of a run by descending sequence.
  using Run = std::map<uint64_t, eroom::monitor::v1::StoredLogEvent,
                       std::greater<uint64_t>>;

  const int32_t limit_;
  const int32_t context_;
  const LogContextReader read_context_;
  std::vector<Run> runs_;
  std::map<EventKey, size_t> run_of_;  // Index into runs_ of each event.
  size_t bytes_ = 0;
  int32_t matches_ = 0;
  std::optional<LogCursor> last_match_;
  bool more_ = false;
  bool truncated_ = false;
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_LOG_PAGE_H_

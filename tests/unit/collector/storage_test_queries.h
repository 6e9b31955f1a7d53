#ifndef EROOM_TESTS_UNIT_COLLECTOR_STORAGE_TEST_QUERIES_H_
#define EROOM_TESTS_UNIT_COLLECTOR_STORAGE_TEST_QUERIES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "collector/sqlite/search_index.h"
#include "collector/storage.h"
#include "eroom/monitor/v1/monitor.pb.h"
#include "gtest/gtest.h"

// Queries storage tests check what a backend stored with; a query that
// fails is a test failure.
namespace eroom::collector::storage_test {

// The status of host `agent_id`; a test failure (and an empty status)
// unless `storage` lists exactly that one.
inline eroom::monitor::v1::HostStatus HostIn(StorageReader& storage,
                                             const std::string& agent_id) {
  eroom::monitor::v1::ListHostsRequest request;
  request.set_agent_id(agent_id);
  absl::StatusOr<eroom::monitor::v1::ListHostsResponse> response =
      storage.ListHosts(request);
  if (!response.ok() || response->hosts_size() != 1) {
    ADD_FAILURE() << "no single host " << agent_id << ": "
                  << (response.ok() ? response->DebugString()
                                    : response.status().ToString());
    return {};
  }
  return response->hosts(0);
}

// The (at most 1000) stored log events whose message contains `text`, in
// QueryLogs' order.
inline std::vector<eroom::monitor::v1::StoredLogEvent> StoredLogsContainingIn(
    StorageReader& storage, const std::string& text) {
  eroom::monitor::v1::QueryLogsRequest request;
  request.set_contains(text);
  request.set_limit(1000);
  absl::StatusOr<eroom::monitor::v1::QueryLogsResponse> response =
      storage.QueryLogs(request, /*check=*/{});
  if (!response.ok()) {
    ADD_FAILURE() << "query of logs containing '" << text
                  << "' failed: " << response.status();
    return {};
  }
  return {response->events().begin(), response->events().end()};
}

// Their sequences.
inline std::vector<uint64_t> LogsContainingIn(StorageReader& storage,
                                              const std::string& text) {
  std::vector<uint64_t> sequences;
  for (const eroom::monitor::v1::StoredLogEvent& event :
       StoredLogsContainingIn(storage, text)) {
    sequences.push_back(event.sequence());
  }
  return sequences;
}

// Polls (for up to 30 s) until the SQLite database at `path`'s background
// indexer has indexed every stored event; a failure says why not.
inline ::testing::AssertionResult SearchIndexCaughtUp(const std::string& path) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (true) {
    absl::StatusOr<SearchIndexProgress> progress =
        ReadSearchIndexProgress(path);
    if (!progress.ok()) {
      return ::testing::AssertionFailure() << progress.status();
    }
    if (progress->indexed_through == progress->newest_event) {
      return ::testing::AssertionSuccess();
    }
    if (absl::Now() > deadline) {
      return ::testing::AssertionFailure()
             << "the search index did not catch up";
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
}

}  // namespace eroom::collector::storage_test

#endif  // EROOM_TESTS_UNIT_COLLECTOR_STORAGE_TEST_QUERIES_H_

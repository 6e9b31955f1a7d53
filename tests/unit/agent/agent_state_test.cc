#include "agent/agent_state.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/test_support/status_matchers.h"
#include "tests/unit/test_support/temp_dir.h"

namespace eroom::agent {
namespace {
namespace v1 = ::eroom::monitor::v1;

using test_support::IsOk;

TEST(AgentStateTest, CarriesTheSpoolBacklogDropsAndHousekeeping) {
  const v1::AgentState state = MakeAgentState(
      {.events = 12, .bytes = 3400, .last_sequence = 99, .dropped = 5},
      {.last_run_unix_ms = 1770000000000,
       .oldest_uncompressed_log_unix_ms = 1769000000000});
  EXPECT_EQ(state.spool_events(), 12u);
  EXPECT_EQ(state.spool_bytes(), 3400u);
  EXPECT_EQ(state.events_dropped_total(), 5u);
  EXPECT_EQ(state.housekeeping_last_run_unix_ms(), 1770000000000);
  EXPECT_EQ(state.oldest_uncompressed_log_unix_ms(), 1769000000000);
}

TEST(AgentStateTest, BacklogIsWhatTheSpoolHoldsUndelivered) {
  test_support::TempDir dir;
  std::unique_ptr<Spool> spool =
      *Spool::Open({.path = dir.PathIn("agent-state.db")});
  v1::Event notice;
  notice.mutable_notice()->set_kind("test");
  ASSERT_THAT(spool->Append({notice, notice}), IsOk());

  v1::AgentState state = MakeAgentState(spool->stats(), {});
  EXPECT_EQ(state.spool_events(), 2u);
  EXPECT_GT(state.spool_bytes(), 0u);
  EXPECT_EQ(state.events_dropped_total(), 0u);

  ASSERT_THAT(spool->DeleteThrough(2), IsOk());
  state = MakeAgentState(spool->stats(), {});
  EXPECT_EQ(state.spool_events(), 0u);
  EXPECT_EQ(state.spool_bytes(), 0u);
  EXPECT_EQ(state.housekeeping_last_run_unix_ms(), 0);
}

}  // namespace
}  // namespace eroom::agent

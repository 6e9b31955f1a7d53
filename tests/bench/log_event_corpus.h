#ifndef EROOM_TESTS_BENCH_LOG_EVENT_CORPUS_H_
#define EROOM_TESTS_BENCH_LOG_EVENT_CORPUS_H_

#include <cstdint>
#include <vector>

#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::bench {

// The LogEvents the agent's tailer makes of `lines` generated ERoom log
// lines (see log_generator.h): parsed, multi-line, classified, with fields
// and ruids, as an agent would send them. Made on first use and kept.
const std::vector<eroom::monitor::v1::LogEvent>& RealisticLogEvents(
    uint64_t lines);

}  // namespace eroom::bench

#endif  // EROOM_TESTS_BENCH_LOG_EVENT_CORPUS_H_

#ifndef EROOM_AGENT_LOG_RESUME_H_
#define EROOM_AGENT_LOG_RESUME_H_

#include <vector>

#include "agent/log_source_options.h"
#include "agent/spool.h"
#include "eroom/monitor/v1/monitor.pb.h"

namespace eroom::agent {

// Where reading each log file resumes after the spool was replaced, so that
// what is still on disk is neither lost nor stored twice. `points` are the
// collector's (HelloAck.log_resume_points): for each file name its stored
// events carry, the last of them.
//
// The files the patterns of `options` match now are looked at. A point
// belongs to the file that holds its event at its offset (same header time
// and first line), whatever that file is called now: a file renamed or
// copied by a rotation is found again by its content. Each file resumes at
// the furthest event found in it, which is left out when read again
// (LogResumePlan::stored_event_starts). A file holding none of them is read
// from its start, unless it was last modified before the newest stored
// event was logged: then it holds only what was read before that event, so
// stored already (an older rotation, whose name the newer file took over),
// and it resumes at its end. Without any point, every file is read from its
// start.
LogResumePlan PlanLogResume(
    const LogSourceOptions& options,
    const std::vector<eroom::monitor::v1::LogResumePoint>& points);

}  // namespace eroom::agent

#endif  // EROOM_AGENT_LOG_RESUME_H_

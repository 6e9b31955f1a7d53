#ifndef EROOM_CLI_JSON_OUTPUT_H_
#define EROOM_CLI_JSON_OUTPUT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/daily_check.h"
#include "cli/renderers.h"
#include "google/protobuf/message.h"

// Machine-readable (-o json) output. Scripts parse it, so its shape is a
// contract: proto field names, every primitive field printed, int64 values
// as strings (the proto3 JSON mapping).
namespace eroom::cli {

absl::StatusOr<std::string> MessageToJson(
    const google::protobuf::Message& message);
// The same on one line, without a newline (JSON Lines).
absl::StatusOr<std::string> MessageToJsonLine(
    const google::protobuf::Message& message);

// {"host": <HostStatus>, "recent_errors": [<StoredLogEvent>...]} when
// there is exactly one report, else an array of those.
absl::StatusOr<std::string> HostReportsToJson(
    const std::vector<HostReport>& reports);

// [<message>...], each as MessageToJson prints it.
absl::StatusOr<std::string> MessagesToJsonArray(
    const std::vector<const google::protobuf::Message*>& messages);

// `eroomctl check`'s rows: [{"agent_id", "host", "check", "result": "pass"
// | "warn" | "fail", "detail"}...].
std::string CheckRowsToJson(const std::vector<CheckRow>& rows);

}  // namespace eroom::cli

#endif  // EROOM_CLI_JSON_OUTPUT_H_

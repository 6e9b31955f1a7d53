#include "cli/json_output.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace eroom::cli {
namespace {

// Keeps the proto's field order instead of sorting keys.
using Json = nlohmann::ordered_json;

absl::StatusOr<std::string> PrintJson(const google::protobuf::Message& message,
                                      bool add_whitespace) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  options.add_whitespace = add_whitespace;
  std::string text;
  const auto status =
      google::protobuf::util::MessageToJsonString(message, &text, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot print ", message.GetTypeName(),
                     " as JSON: ", std::string(status.message())));
  }
  return text;
}

absl::StatusOr<Json> MessageToJsonValue(
    const google::protobuf::Message& message) {
  absl::StatusOr<std::string> text = MessageToJson(message);
  if (!text.ok()) return text.status();
  Json value = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    return absl::InternalError(absl::StrCat(
        "protobuf printed invalid JSON for ", message.GetTypeName()));
  }
  return value;
}

absl::StatusOr<Json> HostReportToJson(const HostReport& report) {
  absl::StatusOr<Json> host = MessageToJsonValue(report.host);
  if (!host.ok()) return host.status();
  Json errors = Json::array();
  for (const auto& event : report.recent_errors.events()) {
    absl::StatusOr<Json> value = MessageToJsonValue(event);
    if (!value.ok()) return value.status();
    errors.push_back(*std::move(value));
  }
  return Json{{"host", *std::move(host)}, {"recent_errors", std::move(errors)}};
}

std::string Dump(const Json& value) {
  return value.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace

absl::StatusOr<std::string> MessageToJson(
    const google::protobuf::Message& message) {
  return PrintJson(message, /*add_whitespace=*/true);
}

absl::StatusOr<std::string> MessageToJsonLine(
    const google::protobuf::Message& message) {
  return PrintJson(message, /*add_whitespace=*/false);
}

absl::StatusOr<std::string> MessagesToJsonArray(
    const std::vector<const google::protobuf::Message*>& messages) {
  Json result = Json::array();
  for (const google::protobuf::Message* message : messages) {
    absl::StatusOr<Json> value = MessageToJsonValue(*message);
    if (!value.ok()) return value.status();
    result.push_back(*std::move(value));
  }
  return Dump(result);
}

std::string CheckRowsToJson(const std::vector<CheckRow>& rows) {
  Json result = Json::array();
  for (const CheckRow& row : rows) {
    result.push_back(Json{{"agent_id", row.agent_id},
                          {"host", row.host},
                          {"check", row.check},
                          {"result", CheckResultName(row.result)},
                          {"detail", row.detail}});
  }
  return Dump(result);
}

absl::StatusOr<std::string> HostReportsToJson(
    const std::vector<HostReport>& reports) {
  Json result = Json::array();
  for (const HostReport& report : reports) {
    absl::StatusOr<Json> value = HostReportToJson(report);
    if (!value.ok()) return value.status();
    result.push_back(*std::move(value));
  }
  if (result.size() == 1) {
    Json single = std::move(result[0]);
    result = std::move(single);
  }
  return Dump(result);
}

}  // namespace eroom::cli

#include "collector/sqlite/sql_values.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"

namespace eroom::collector {
namespace {

template <typename StringMap>
std::string ToJson(const StringMap& map) {
  if (map.empty()) return "{}";
  nlohmann::json object = nlohmann::json::object();
  for (const auto& [key, value] : map) object[key] = value;
  return object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

template <typename StringMap>
void FromJson(const char* text, StringMap* out) {
  nlohmann::json object = nlohmann::json::parse(text, nullptr, false);
  if (!object.is_object()) return;
  for (const auto& [key, value] : object.items()) {
    if (value.is_string()) (*out)[key] = value.template get<std::string>();
  }
}

}  // namespace

std::string ToJsonObject(const std::map<std::string, std::string>& map) {
  return ToJson(map);
}

std::string ToJsonObject(
    const google::protobuf::Map<std::string, std::string>& map) {
  return ToJson(map);
}

void FromJsonObject(const char* text,
                    google::protobuf::Map<std::string, std::string>* out) {
  FromJson(text, out);
}

void FromJsonObject(const char* text, std::map<std::string, std::string>* out) {
  FromJson(text, out);
}

void SqlConditions::Add(std::string condition, Param param) {
  conditions_.push_back(std::move(condition));
  params_.push_back(std::move(param));
}

void SqlConditions::AddWithParams(std::string condition,
                                  std::vector<Param> params) {
  conditions_.push_back(std::move(condition));
  for (Param& param : params) params_.push_back(std::move(param));
}

void SqlConditions::AddOneOf(absl::string_view column,
                             const std::vector<std::string>& values) {
  std::vector<absl::string_view> marks(values.size(), "?");
  conditions_.push_back(
      absl::StrCat(column, " IN (", absl::StrJoin(marks, ", "), ")"));
  params_.insert(params_.end(), values.begin(), values.end());
}

std::string SqlConditions::Where() const {
  return conditions_.empty()
             ? ""
             : absl::StrCat(" WHERE ", absl::StrJoin(conditions_, " AND "));
}

int SqlConditions::Bind(SQLite::Statement& statement, int first) const {
  int index = first;
  for (const auto& param : params_) {
    std::visit([&](const auto& value) { statement.bind(index, value); }, param);
    ++index;
  }
  return index;
}

}  // namespace eroom::collector

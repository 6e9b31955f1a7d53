#ifndef EROOM_COLLECTOR_SQLITE_SQL_VALUES_H_
#define EROOM_COLLECTOR_SQLITE_SQL_VALUES_H_

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "SQLiteCpp/Statement.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/map.h"

namespace eroom::collector {

// How the collector's values are written to and read from its SQLite
// columns, shared by the writer and the queries.

// SQLite integers are signed 64-bit; unsigned proto values are stored
// bit-for-bit so that they read back unchanged.
inline int64_t ToDb(uint64_t value) { return static_cast<int64_t>(value); }
inline uint64_t FromDb(int64_t value) { return static_cast<uint64_t>(value); }

// A JSON object of the string map, keys sorted (the canonical form metric
// labels are compared in). Invalid UTF-8 is replaced rather than thrown on.
std::string ToJsonObject(const std::map<std::string, std::string>& map);
std::string ToJsonObject(
    const google::protobuf::Map<std::string, std::string>& map);

// The string members of a JSON object written by ToJsonObject; anything
// else (which only a hand-edited database could hold) is skipped.
void FromJsonObject(const char* text,
                    google::protobuf::Map<std::string, std::string>* out);
void FromJsonObject(const char* text, std::map<std::string, std::string>* out);

// Conditions ANDed into a WHERE clause, with their parameters in order.
class SqlConditions {
 public:
  using Param = std::variant<int64_t, std::string>;

  void Add(std::string condition, Param param);
  // A condition with several parameters (or none), in order.
  void AddWithParams(std::string condition, std::vector<Param> params);
  // `column` is one of `values` (not empty).
  void AddOneOf(absl::string_view column,
                const std::vector<std::string>& values);
  // " WHERE a AND b", or "" without conditions.
  std::string Where() const;
  // Binds the parameters from index `first`; returns the next free index.
  int Bind(SQLite::Statement& statement, int first = 1) const;

 private:
  std::vector<std::string> conditions_;
  std::vector<Param> params_;
};

}  // namespace eroom::collector

#endif  // EROOM_COLLECTOR_SQLITE_SQL_VALUES_H_

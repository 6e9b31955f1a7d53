#include "collector/alerting/alert_rule.h"

#include <utility>

namespace eroom::collector::alerting {
namespace {

// Looks `name` up in a table of (value, name) pairs, both ways, so each
// enum's names are spelled exactly once.
template <typename Enum, size_t N>
std::string_view NameOf(const std::pair<Enum, std::string_view> (&table)[N],
                        Enum value) {
  for (const auto& [entry, name] : table) {
    if (entry == value) return name;
  }
  return "unknown";
}

template <typename Enum, size_t N>
std::optional<Enum> ValueOf(const std::pair<Enum, std::string_view> (&table)[N],
                            std::string_view name) {
  for (const auto& [entry, entry_name] : table) {
    if (entry_name == name) return entry;
  }
  return std::nullopt;
}

constexpr std::pair<Severity, std::string_view> kSeverities[] = {
    {Severity::kInfo, "info"},
    {Severity::kWarning, "warning"},
    {Severity::kCritical, "critical"},
};

constexpr std::pair<Condition::Op, std::string_view> kOps[] = {
    {Condition::Op::kGreater, ">"},
    {Condition::Op::kGreaterOrEqual, ">="},
    {Condition::Op::kLess, "<"},
    {Condition::Op::kLessOrEqual, "<="},
};

constexpr std::pair<Aggregation, std::string_view> kAggregations[] = {
    {Aggregation::kLast, "last"}, {Aggregation::kAvg, "avg"},
    {Aggregation::kMin, "min"},   {Aggregation::kMax, "max"},
    {Aggregation::kSum, "sum"},   {Aggregation::kCount, "count"},
    {Aggregation::kP95, "p95"},   {Aggregation::kP99, "p99"},
};

constexpr std::pair<RoomDurationRule::Measure, std::string_view> kMeasures[] = {
    {RoomDurationRule::Measure::kProcessing, "processing"},
    {RoomDurationRule::Measure::kQueueWait, "queue_wait"},
    {RoomDurationRule::Measure::kRunning, "running"},
};

// Overloads for std::visit: the name of each kind.
struct KindNames {
  std::string_view operator()(const ThresholdRule&) const {
    return "threshold";
  }
  std::string_view operator()(const RatioRule&) const { return "ratio"; }
  std::string_view operator()(const AbsenceRule&) const { return "absence"; }
  std::string_view operator()(const LogMatchRule&) const { return "log_match"; }
  std::string_view operator()(const RoomDurationRule&) const {
    return "room_duration";
  }
};

}  // namespace

std::string_view SeverityName(Severity severity) {
  return NameOf(kSeverities, severity);
}

std::optional<Severity> ParseSeverity(std::string_view name) {
  return ValueOf(kSeverities, name);
}

bool Condition::Holds(double value) const {
  switch (op) {
    case Op::kGreater:
      return value > threshold;
    case Op::kGreaterOrEqual:
      return value >= threshold;
    case Op::kLess:
      return value < threshold;
    case Op::kLessOrEqual:
      return value <= threshold;
  }
  return false;
}

std::string_view OpName(Condition::Op op) { return NameOf(kOps, op); }

std::optional<Condition::Op> ParseOp(std::string_view name) {
  return ValueOf(kOps, name);
}

std::string_view AggregationName(Aggregation aggregation) {
  return NameOf(kAggregations, aggregation);
}

std::optional<Aggregation> ParseAggregation(std::string_view name) {
  return ValueOf(kAggregations, name);
}

std::string_view MeasureName(RoomDurationRule::Measure measure) {
  return NameOf(kMeasures, measure);
}

std::string_view KindName(const RuleKind& kind) {
  return std::visit(KindNames{}, kind);
}

}  // namespace eroom::collector::alerting

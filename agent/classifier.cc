#include "agent/classifier.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace eroom::agent {
namespace {

namespace v1 = ::eroom::monitor::v1;

using FieldTypes = std::map<std::string, FieldType>;
using FixedFields = std::map<std::string, std::string>;

constexpr FieldType kString = FieldType::kString;
constexpr FieldType kInt = FieldType::kInt;
constexpr FieldType kBool = FieldType::kBool;
constexpr FieldType kDurationMs = FieldType::kDurationMs;

// A room id as ERoom prints it: room_<16 hex>.
constexpr absl::string_view kRuid = R"((?P<ruid>room_[0-9a-fA-F]+))";

// Loggers of ERoom's own lines, by class (see ClassificationRule::logger).
constexpr char kAnyLogger[] = "";
constexpr char kMainLogger[] = "Main";
constexpr char kServerLogger[] = "UndertowServer";
constexpr char kPortLogger[] = "ApplicationConfig";
constexpr char kApiKeysLogger[] = "EnvironmentApiKeyProvider";
constexpr char kAuthKeysLogger[] = "EnvironmentAuthProvider";
constexpr char kAuthFilterLogger[] = "ApiKeyAuthFilter";
constexpr char kQueueLogger[] = "RoomRequestQueueManager";
constexpr char kRoomLogger[] = "RoomServiceImpl";
constexpr char kMeshyLogger[] = "MeshyApiService";

ClassificationRule Rule(std::string event_type, v1::LogLevel level,
                        std::string logger, std::string pattern,
                        FieldTypes field_types = {},
                        FixedFields fixed_fields = {}) {
  return ClassificationRule{std::move(event_type),  level,
                            std::move(pattern),     std::move(fixed_fields),
                            std::move(field_types), std::move(logger)};
}

// `pattern` with every "RUID" replaced by the ruid group.
std::string WithRuid(absl::string_view pattern) {
  return absl::StrReplaceAll(pattern, {{"RUID", kRuid}});
}

absl::string_view AbslView(std::string_view text) {
  return absl::string_view(text.data(), text.size());
}

// `value` as a duration, if it is one (see FieldType::kDurationMs).
std::optional<absl::Duration> ParseDurationMs(std::string_view value) {
  int64_t whole;
  double fractional;
  absl::Duration duration;
  if (absl::SimpleAtoi(AbslView(value), &whole)) {
    duration = absl::Milliseconds(whole);
  } else if (absl::SimpleAtod(AbslView(value), &fractional)) {
    duration = absl::Milliseconds(fractional);
  } else if (!absl::ParseDuration(
                 absl::StrReplaceAll(AbslView(value), {{" ", ""}}),
                 &duration)) {
    return std::nullopt;
  }
  // Whole milliseconds must fit in 64 bits (infinity does not either).
  if (absl::AbsDuration(duration) >=
      absl::Milliseconds(std::numeric_limits<int64_t>::max())) {
    return std::nullopt;
  }
  return duration;
}

// `value` in the canonical form of `type`, or nullopt if it is not one.
std::optional<std::string> Canonical(std::string_view value, FieldType type) {
  switch (type) {
    case FieldType::kString:
      return std::string(value);
    case FieldType::kInt: {
      int64_t parsed;
      if (!absl::SimpleAtoi(AbslView(value), &parsed)) return std::nullopt;
      return absl::StrCat(parsed);
    }
    case FieldType::kFloat: {
      double parsed;
      if (!absl::SimpleAtod(AbslView(value), &parsed) ||
          !std::isfinite(parsed)) {
        return std::nullopt;
      }
      return std::string(value);
    }
    case FieldType::kBool: {
      bool parsed;
      if (!absl::SimpleAtob(AbslView(value), &parsed)) return std::nullopt;
      return parsed ? "true" : "false";
    }
    case FieldType::kDurationMs: {
      std::optional<absl::Duration> parsed = ParseDurationMs(value);
      if (!parsed) return std::nullopt;
      return absl::StrCat(absl::ToInt64Milliseconds(*parsed));
    }
  }
  return std::nullopt;
}

// Whether `logger`, as printed, is `wanted` or ends with "." + `wanted`.
bool LoggerMatches(std::string_view wanted, std::string_view logger) {
  if (!logger.ends_with(wanted)) return false;
  return logger.size() == wanted.size() ||
         logger[logger.size() - wanted.size() - 1] == '.';
}

RE2::Options PatternOptions() {
  RE2::Options options;
  options.set_log_errors(false);
  return options;
}

// Whether `pattern` can only match at the start of the text: it begins with
// `^`, not repeated, and has no `|` outside a group. RE2 knows but does not
// tell; this reading answers no when in doubt (`\Q...\E`).
bool MatchesOnlyAtStart(std::string_view pattern) {
  if (!pattern.starts_with('^') ||
      pattern.find("\\Q") != std::string_view::npos) {
    return false;
  }
  if (pattern.size() > 1 &&
      std::string_view("*+?{").find(pattern[1]) != std::string_view::npos) {
    return false;
  }
  int depth = 0;
  for (size_t i = 1; i < pattern.size(); ++i) {
    switch (pattern[i]) {
      case '\\':
        ++i;  // The escaped character is no operator.
        break;
      case '(':
        ++depth;
        break;
      case ')':
        --depth;
        break;
      case '|':
        if (depth == 0) return false;
        break;
      case '[': {
        // A class ends at the first `]` that is not its first character,
        // escaped, or the end of a `[:name:]`.
        size_t end = i + 1;
        if (end < pattern.size() && pattern[end] == '^') ++end;
        if (end < pattern.size() && pattern[end] == ']') ++end;
        while (end < pattern.size() && pattern[end] != ']') {
          if (pattern[end] == '\\') {
            ++end;
          } else if (pattern.substr(end, 2) == "[:") {
            end = pattern.find(":]", end + 2);
            if (end == std::string_view::npos) return false;
            ++end;
          }
          ++end;
        }
        i = end;
        break;
      }
    }
  }
  return true;
}

// How much of a match's start the prefilter compares before it runs the set:
// one Korean character, or three ASCII ones.
constexpr int kRequiredStartBytes = 3;

// The first bytes (up to kRequiredStartBytes) of every match of `regex`,
// which matches only at the start of the text; empty if RE2 cannot tell.
std::string RequiredStart(const RE2& regex) {
  std::string min, max;
  // One byte more, as RE2 rounds up a range it cuts.
  if (!regex.PossibleMatchRange(&min, &max, kRequiredStartBytes + 1)) {
    return "";
  }
  const size_t common =
      std::mismatch(min.begin(), min.end(), max.begin(), max.end()).first -
      min.begin();
  return min.substr(0, std::min<size_t>(common, kRequiredStartBytes));
}

// Whether `line` can start a match of a prefilter's patterns.
bool MayStartAMatch(
    const std::optional<std::vector<std::string>>& required_starts,
    std::string_view line) {
  // Compared byte by byte rather than by memcmp: a start is 1 to 3 bytes,
  // and its first byte tells most lines apart.
  return !required_starts ||
         std::any_of(required_starts->begin(), required_starts->end(),
                     [&](const std::string& start) {
                       return line.size() >= start.size() &&
                              std::equal(start.begin(), start.end(),
                                         line.begin());
                     });
}

// Unanchored `pattern` as a pattern for a set anchored at the start of the
// text: any bytes first, as few as possible, as RE2 itself prefixes an
// unanchored search.
std::string SearchFromStart(std::string_view pattern) {
  return absl::StrCat("\\C*?(?:", AbslView(pattern), ")");
}

}  // namespace

std::optional<FieldType> ParseFieldType(std::string_view name) {
  if (name == "string") return FieldType::kString;
  if (name == "int") return FieldType::kInt;
  if (name == "float") return FieldType::kFloat;
  if (name == "bool") return FieldType::kBool;
  if (name == "duration_ms") return FieldType::kDurationMs;
  return std::nullopt;
}

std::vector<ClassificationRule> DefaultClassificationRules() {
  // Older generation first, then the newer `key: value` messages. The older
  // lines' loggers are those of ERoom's sample; the newer generation's are
  // not pinned (builds moved lines between classes), only its levels.
  std::vector<ClassificationRule> rules = {
      // Some builds start from another class than UndertowServer; the whole
      // message must be the phrase.
      Rule("server_started", v1::INFO, kAnyLogger,
           R"(^서버가 성공적으로 시작되었습니다\s*$)"),
      Rule("server_stopping", v1::INFO, kMainLogger, "^애플리케이션 종료 중",
           {}, {{"stage", "stopping"}}),
      Rule("server_stopping", v1::INFO, kServerLogger,
           R"(^서버가 중지되었습니다\s*$)", {}, {{"stage", "stopped"}}),
      // Claude errors from several services; the phrase ends the line.
      Rule("fatal_shutdown", v1::ERROR, kAnyLogger,
           R"(^(?P<reason>.*?)\s*서버를 종료합니다\.?\s*$)"),
  };
  // A missing key is an ERROR or, where ERoom can go on, a WARN.
  for (const v1::LogLevel level : {v1::ERROR, v1::WARN}) {
    rules.push_back(Rule("config_problem", level, kApiKeysLogger,
                         "^(?P<setting>ANTHROPIC_KEY|MESHY_KEY) 환경 변수가 "
                         "(?:하나도 )?설정되지 않았습니다"));
    rules.push_back(Rule(
        "config_problem", level, kAuthKeysLogger,
        "^(?P<setting>EROOM_PRIVATE_KEY) 환경 변수가 설정되지 않았습니다"));
  }
  std::vector<ClassificationRule> more = {
      Rule("config_problem", v1::WARN, kPortLogger, "^유효하지 않은 포트 번호",
           {}, {{"setting", "port"}}),
      Rule("auth_failure", v1::WARN, kAuthFilterLogger,
           R"(^Authorization 헤더가 요청에 없습니다: (?P<path>\S+))", {},
           {{"reason", "missing_header"}}),
      Rule("auth_failure", v1::WARN, kAuthFilterLogger,
           R"(^잘못된 API 키가 제공되었습니다: (?P<path>\S+))", {},
           {{"reason", "wrong_key"}}),
      Rule("room_requested", v1::INFO, kQueueLogger,
           WithRuid(R"(^방 생성 요청 큐에 추가됨\. ruid: RUID, )"
                    R"(user_uuid: (?P<user_uuid>[^,\s]+), )"
                    R"(현재 큐 크기: (?P<queue_size>\d+))"),
           {{"queue_size", kInt}}),
      Rule("room_requested", v1::INFO, kAnyLogger,
           WithRuid(
               R"(^요청 큐 추가됨 - ruid: RUID, uuid: (?P<user_uuid>[^,\s]+))"
               R"((?:, queueSize: (?P<queue_size>\d+))?)"
               R"((?:, active: (?P<active>\d+))?)"
               R"((?:, completed: (?P<completed>\d+))?)"),
           {{"queue_size", kInt}, {"active", kInt}, {"completed", kInt}}),
      Rule("room_dequeued", v1::INFO, kQueueLogger,
           WithRuid(R"(^큐에서 요청 추출됨\. ruid: RUID, )"
                    R"(큐 대기 시간: (?P<queue_wait_ms>\d+) ?ms)"),
           {{"queue_wait_ms", kDurationMs}}),
      Rule("room_dequeued", v1::INFO, kAnyLogger,
           WithRuid(
               R"(^처리 시작 - ruid: RUID)"
               R"((?:.*?(?i:wait\w*|대기 시간): (?P<queue_wait_ms>\d+) ?ms)?)"),
           {{"queue_wait_ms", kDurationMs}}),
      Rule("queue_wait", v1::DEBUG, kAnyLogger,
           WithRuid(R"(^큐에서 요청 추출 - ruid: RUID, )"
                    R"(waitTime: (?P<queue_wait_ms>\d+) ?ms)"),
           {{"queue_wait_ms", kDurationMs}}),
      Rule("room_started", v1::INFO, kRoomLogger,
           WithRuid(
               R"(^통합 방 생성 시작: ruid=RUID, )"
               R"(user_uuid=(?P<user_uuid>[^,\s]*), theme=(?P<theme>[^,]*), )"
               R"(difficulty=(?P<difficulty>[^,\s]*))")),
      Rule("room_started", v1::INFO, kAnyLogger,
           WithRuid(
               R"(^방 생성 시작 - ruid: RUID, uuid: (?P<user_uuid>[^,\s]*), )"
               R"(theme: (?P<theme>[^,]*), )"
               R"(difficulty: (?P<difficulty>[^,\s]*))"
               R"((?:, freeModeling: (?P<free_modeling>\w+))?)"),
           {{"free_modeling", kBool}}),
      Rule(
          "room_completed", v1::INFO, kRoomLogger,
          WithRuid(
              R"(^통합 방 생성 완료: ruid=RUID, 스크립트 수=(?P<scripts>\d+))"),
          {{"scripts", kInt}}),
      // Newer builds say `방 생성 완료` three times per room: the room
      // service's statistics and script count, then the queue manager's
      // outcome, the one with the duration.
      Rule("room_summary", v1::INFO, kAnyLogger,
           WithRuid(R"(^방 생성 완료 - ruid: RUID, )"
                    R"(totalObjects: (?P<total_objects>\d+), )"
                    R"(generatedScripts: (?P<generated_scripts>\d+), )"
                    R"(successRate: (?P<success_rate_percent>\d+)%)"),
           {{"total_objects", kInt},
            {"generated_scripts", kInt},
            {"success_rate_percent", kInt}}),
      Rule("room_summary", v1::INFO, kAnyLogger,
           WithRuid(
               R"(^방 생성 완료 - ruid: RUID, scripts: (?P<scripts>\d+)\s*$)"),
           {{"scripts", kInt}}),
      Rule("room_completed", v1::INFO, kAnyLogger,
           WithRuid(R"(^방 생성 완료 - ruid: RUID)"
                    R"(, duration: (?P<duration_ms>\d+) ?ms)"
                    R"((?:, theme: (?P<theme>[^,]*))?)"
                    R"((?:, scripts: (?P<scripts>\d+))?)"),
           {{"duration_ms", kDurationMs}, {"scripts", kInt}}),
      Rule("room_failed", v1::ERROR, kRoomLogger,
           WithRuid("^통합 방 생성 중 비즈니스 오류 발생: ruid=RUID"), {},
           {{"kind", "business"}}),
      Rule("room_failed", v1::ERROR, kRoomLogger,
           WithRuid("^통합 방 생성 중 시스템 오류 발생: ruid=RUID"), {},
           {{"kind", "system"}}),
      Rule("room_failed", v1::ERROR, kAnyLogger,
           WithRuid(R"(^방 생성 실패 - ruid: RUID)"
                    R"((?:, duration: (?P<duration_ms>\d+) ?ms)?)"
                    R"((?:, error: (?P<error>.*))?)"),
           {{"duration_ms", kDurationMs}}),
      // An exception out of the room service: the room failed too.
      Rule("room_failed", v1::ERROR, kQueueLogger,
           "^=== 백그라운드 처리 중 오류 발생 ===", {},
           {{"kind", "background"}}),
      Rule("room_failed", v1::ERROR, kAnyLogger,
           WithRuid(
               R"(^처리 중 오류 발생 - ruid: RUID(?:, error: (?P<error>.*))?)"),
           {}, {{"kind", "background"}}),
      // The queue manager's report on a room (INFO after createRoom()
      // returned, ERROR inside a background failure's block).
      Rule("processing_time", v1::INFO, kQueueLogger,
           R"(^처리 시간: (?P<processing_ms>\d+) ?ms)",
           {{"processing_ms", kDurationMs}}),
      Rule("processing_time", v1::ERROR, kQueueLogger,
           R"(^처리 시간: (?P<processing_ms>\d+) ?ms)",
           {{"processing_ms", kDurationMs}}),
      Rule("room_result", v1::INFO, kQueueLogger,
           R"(^결과 성공 여부: (?P<success>true|false))", {{"success", kBool}}),
      Rule("model_timeout", v1::WARN, kRoomLogger, "^모델 생성 타임아웃 발생"),
      Rule("model_failed", v1::WARN, kRoomLogger,
           R"(^모델 생성 실패로 표시됨: (?P<model>.*?) -> (?P<detail>.*))"),
      Rule(
          "model_failed", v1::ERROR, kMeshyLogger,
          R"(^API 호출 실패\. 상태 코드: (?P<status>\d+)(?:, 메시지: (?P<detail>.*))?)",
          {{"status", kInt}}),
      Rule("model_failed", v1::ERROR, kMeshyLogger,
           R"(^(?P<model>\S+)의 프리뷰 생성 실패)"),
      Rule("error", v1::ERROR, kAnyLogger, ""),
  };
  for (ClassificationRule& rule : more) rules.push_back(std::move(rule));
  return rules;
}

bool IsLoggerName(std::string_view logger) {
  if (logger.empty()) return false;
  for (absl::string_view name : absl::StrSplit(AbslView(logger), '.')) {
    if (name.empty() || std::any_of(name.begin(), name.end(), [](char c) {
          return absl::ascii_isspace(static_cast<unsigned char>(c));
        })) {
      return false;
    }
  }
  return true;
}

absl::Status Classifier::CheckRule(const ClassificationRule& rule) {
  if (rule.event_type.empty()) {
    return absl::InvalidArgumentError("empty event_type");
  }
  if (!rule.logger.empty() && !IsLoggerName(rule.logger)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", rule.logger, "' is not a logger name"));
  }
  const RE2 regex(rule.pattern, PatternOptions());
  if (!regex.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid regex: ", regex.error()));
  }
  for (const auto& [name, type] : rule.field_types) {
    if (!regex.NamedCapturingGroups().contains(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("field '", name, "' is not a named group (?P<", name,
                       ">...) of the pattern"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Classifier> Classifier::Create(
    std::vector<ClassificationRule> rules) {
  const auto new_prefilter = [] {
    return Prefilter{RE2::Set(PatternOptions(), RE2::ANCHOR_START),
                     {},
                     {},
                     std::vector<std::string>()};
  };
  absl::flat_hash_map<int, Prefilter> level_prefilters;
  for (const ClassificationRule& rule : rules) {
    if (rule.level) level_prefilters.try_emplace(*rule.level, new_prefilter());
  }
  Prefilter other_level_prefilter = new_prefilter();

  std::vector<CompiledRule> compiled;
  compiled.reserve(rules.size());
  for (size_t i = 0; i < rules.size(); ++i) {
    ClassificationRule& rule = rules[i];
    const auto problem_in_rule = [&](absl::string_view problem) {
      return absl::InvalidArgumentError(
          absl::StrCat("classification rule ", i, " (", rule.event_type,
                       ", pattern '", rule.pattern, "'): ", problem));
    };
    if (absl::Status problem = CheckRule(rule); !problem.ok()) {
      return problem_in_rule(problem.message());
    }
    auto regex = std::make_unique<RE2>(rule.pattern, PatternOptions());
    std::vector<CompiledRule::Group> groups;
    for (const auto& [name, index] : regex->NamedCapturingGroups()) {
      auto type = rule.field_types.find(name);
      groups.push_back(
          {name, index,
           type == rule.field_types.end() ? kString : type->second});
    }
    std::vector<Prefilter*> admitting;
    if (rule.level) {
      admitting.push_back(&level_prefilters.at(*rule.level));
    } else {
      admitting.push_back(&other_level_prefilter);
      for (auto& [level, prefilter] : level_prefilters) {
        admitting.push_back(&prefilter);
      }
    }
    const bool only_at_start = MatchesOnlyAtStart(rule.pattern);
    const std::string anchored =
        only_at_start ? rule.pattern : SearchFromStart(rule.pattern);
    const std::string required_start =
        only_at_start ? RequiredStart(*regex) : "";
    for (Prefilter* prefilter : admitting) {
      if (rule.pattern.empty()) {
        prefilter->match_all.push_back(static_cast<int>(i));
        continue;
      }
      std::string error;
      if (prefilter->patterns.Add(anchored, &error) < 0) {
        return problem_in_rule(error);
      }
      prefilter->pattern_rules.push_back(static_cast<int>(i));
      if (required_start.empty()) {
        prefilter->required_starts.reset();
      } else if (prefilter->required_starts) {
        prefilter->required_starts->push_back(required_start);
      }
    }
    compiled.push_back(
        CompiledRule{std::move(rule), std::move(regex), std::move(groups)});
  }
  const auto finish = [](Prefilter& prefilter) {
    if (prefilter.required_starts) {
      std::vector<std::string>& starts = *prefilter.required_starts;
      std::sort(starts.begin(), starts.end());
      starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
    }
    return prefilter.patterns.Compile();
  };
  bool compiled_all = finish(other_level_prefilter);
  for (auto& [level, prefilter] : level_prefilters) {
    compiled_all &= finish(prefilter);
  }
  if (!compiled_all) {
    return absl::ResourceExhaustedError(
        "classification rules are too large to compile together");
  }
  return Classifier(std::move(compiled), std::move(level_prefilters),
                    std::move(other_level_prefilter));
}

Classifier::Classifier(std::vector<CompiledRule> rules,
                       absl::flat_hash_map<int, Prefilter> level_prefilters,
                       Prefilter other_level_prefilter)
    : rules_(std::move(rules)),
      level_prefilters_(std::move(level_prefilters)),
      other_level_prefilter_(std::move(other_level_prefilter)) {}

const Classifier::Prefilter& Classifier::PrefilterFor(
    v1::LogLevel level) const {
  auto it = level_prefilters_.find(level);
  return it == level_prefilters_.end() ? other_level_prefilter_ : it->second;
}

void Classifier::Classify(v1::LogEvent& event) const {
  const std::string_view message = event.message();
  const std::string_view first_line = message.substr(0, message.find('\n'));
  const Prefilter& prefilter = PrefilterFor(event.level());
  // Most lines match no pattern: one pass of the set's DFA tells, without
  // collecting which patterns matched.
  std::vector<int> candidates;
  bool prefilter_failed = false;
  if (!prefilter.pattern_rules.empty() &&
      MayStartAMatch(prefilter.required_starts, first_line)) {
    RE2::Set::ErrorInfo error{RE2::Set::kNoError};
    if (prefilter.patterns.Match(first_line, nullptr, &error)) {
      prefilter_failed =
          !prefilter.patterns.Match(first_line, &candidates, &error);
    } else {
      prefilter_failed = error.kind != RE2::Set::kNoError;
    }
  }
  if (prefilter_failed) {
    // The set's DFA gave up (out of memory on a pathological line): try the
    // rules one by one.
    candidates.resize(rules_.size());
    std::iota(candidates.begin(), candidates.end(), 0);
  } else {
    for (int& candidate : candidates) {
      candidate = prefilter.pattern_rules[candidate];
    }
    candidates.insert(candidates.end(), prefilter.match_all.begin(),
                      prefilter.match_all.end());
    std::sort(candidates.begin(), candidates.end());
  }
  for (int index : candidates) {
    if (Apply(rules_[index], first_line, event)) return;
  }
}

bool Classifier::Apply(const CompiledRule& compiled,
                       std::string_view first_line, v1::LogEvent& event) const {
  const ClassificationRule& rule = compiled.rule;
  if (rule.level && *rule.level != event.level()) return false;
  if (!rule.logger.empty() && !LoggerMatches(rule.logger, event.logger())) {
    return false;
  }
  std::vector<re2::StringPiece> groups(
      1 + compiled.regex->NumberOfCapturingGroups());
  if (!compiled.regex->Match(first_line, 0, first_line.size(), RE2::UNANCHORED,
                             groups.data(), groups.size())) {
    return false;
  }
  event.set_event_type(rule.event_type);
  auto& fields = *event.mutable_fields();
  for (const auto& [name, value] : rule.fixed_fields) fields[name] = value;
  for (const CompiledRule::Group& group : compiled.groups) {
    const re2::StringPiece value = groups[group.index];
    if (value.data() == nullptr) continue;
    std::optional<std::string> canonical =
        Canonical(std::string_view(value.data(), value.size()), group.type);
    if (!canonical) {
      dropped_fields_->fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    fields[group.name] = *std::move(canonical);
  }
  return true;
}

}  // namespace eroom::agent

#include "agent/classifier.h"

#include <algorithm>
#include <numeric>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace eroom::agent {
namespace {

namespace v1 = ::eroom::monitor::v1;

// A room id as ERoom prints it: room_<16 hex>.
constexpr absl::string_view kRuid = R"((?P<ruid>room_[0-9a-fA-F]+))";

ClassificationRule Rule(std::string event_type, std::string pattern,
                        std::map<std::string, std::string> fixed_fields = {}) {
  return ClassificationRule{std::move(event_type), std::nullopt,
                            std::move(pattern), std::move(fixed_fields)};
}

// `pattern` with every "RUID" replaced by the ruid group.
std::string WithRuid(absl::string_view pattern) {
  return absl::StrReplaceAll(pattern, {{"RUID", kRuid}});
}

absl::Status BadRule(size_t index, const ClassificationRule& rule,
                     absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("classification rule ", index, " (", rule.event_type,
                   ", pattern '", rule.pattern, "'): ", problem));
}

}  // namespace

std::vector<ClassificationRule> DefaultClassificationRules() {
  // Older generation first, then the newer `key: value` messages. Messages
  // are distinctive, so levels are only pinned where the text is not.
  std::vector<ClassificationRule> rules = {
      Rule("server_started", "서버가 성공적으로 시작되었습니다"),
      Rule("server_stopping", "애플리케이션 종료 중", {{"stage", "stopping"}}),
      Rule("server_stopping", "서버가 중지되었습니다", {{"stage", "stopped"}}),
      Rule("fatal_shutdown", R"(^(?P<reason>.*?)\s*서버를 종료합니다)"),
      Rule("config_problem",
           "(?P<setting>ANTHROPIC_KEY|MESHY_KEY|EROOM_PRIVATE_KEY) "
           "환경 변수가 (?:하나도 )?설정되지 않았습니다"),
      Rule("config_problem", "유효하지 않은 포트 번호", {{"setting", "port"}}),
      Rule("auth_failure",
           R"(Authorization 헤더가 요청에 없습니다: (?P<path>\S+))",
           {{"reason", "missing_header"}}),
      Rule("auth_failure", R"(잘못된 API 키가 제공되었습니다: (?P<path>\S+))",
           {{"reason", "wrong_key"}}),
      Rule("room_requested",
           WithRuid(R"(방 생성 요청 큐에 추가됨\. ruid: RUID, )"
                    R"(user_uuid: (?P<user_uuid>[^,\s]+), )"
                    R"(현재 큐 크기: (?P<queue_size>\d+))")),
      Rule("room_requested",
           WithRuid(
               R"(요청 큐 추가됨 - ruid: RUID, uuid: (?P<user_uuid>[^,\s]+))"
               R"((?:, queueSize: (?P<queue_size>\d+))?)"
               R"((?:, active: (?P<active>\d+))?)"
               R"((?:, completed: (?P<completed>\d+))?)")),
      Rule("room_dequeued",
           WithRuid(R"(큐에서 요청 추출됨\. ruid: RUID, )"
                    R"(큐 대기 시간: (?P<queue_wait_ms>\d+) ?ms)")),
      Rule(
          "room_dequeued",
          WithRuid(
              R"(^처리 시작 - ruid: RUID)"
              R"((?:.*?(?i:wait\w*|대기 시간): (?P<queue_wait_ms>\d+) ?ms)?)")),
      Rule("room_started",
           WithRuid(
               R"(통합 방 생성 시작: ruid=RUID, )"
               R"(user_uuid=(?P<user_uuid>[^,\s]*), theme=(?P<theme>[^,]*), )"
               R"(difficulty=(?P<difficulty>[^,\s]*))")),
      Rule("room_started",
           WithRuid(
               R"(방 생성 시작 - ruid: RUID, uuid: (?P<user_uuid>[^,\s]*), )"
               R"(theme: (?P<theme>[^,]*), )"
               R"(difficulty: (?P<difficulty>[^,\s]*))"
               R"((?:, freeModeling: (?P<free_modeling>\w+))?)")),
      Rule(
          "room_completed",
          WithRuid(
              R"(통합 방 생성 완료: ruid=RUID, 스크립트 수=(?P<scripts>\d+))")),
      Rule("room_completed",
           WithRuid(R"(방 생성 완료 - ruid: RUID)"
                    R"((?:, duration: (?P<duration_ms>\d+) ?ms)?)"
                    R"((?:, theme: (?P<theme>[^,]*))?)"
                    R"((?:, scripts: (?P<scripts>\d+))?)")),
      Rule("processing_time", R"(^처리 시간: (?P<processing_ms>\d+) ?ms)"),
      Rule("processing_time", R"(^결과 성공 여부: (?P<success>true|false))"),
      Rule("room_failed",
           WithRuid("통합 방 생성 중 비즈니스 오류 발생: ruid=RUID"),
           {{"kind", "business"}}),
      Rule("room_failed",
           WithRuid("통합 방 생성 중 시스템 오류 발생: ruid=RUID"),
           {{"kind", "system"}}),
      Rule("room_failed",
           WithRuid(R"(방 생성 실패 - ruid: RUID)"
                    R"((?:, duration: (?P<duration_ms>\d+) ?ms)?)"
                    R"((?:, error: (?P<error>.*))?)")),
      Rule("background_failure", "=== 백그라운드 처리 중 오류 발생 ==="),
      Rule(
          "background_failure",
          WithRuid(
              R"(^처리 중 오류 발생 - ruid: RUID(?:, error: (?P<error>.*))?)")),
      Rule("model_timeout", "모델 생성 타임아웃 발생"),
      Rule("model_failed",
           R"(모델 생성 실패로 표시됨: (?P<model>.*?) -> (?P<detail>.*))"),
      Rule(
          "model_failed",
          R"(API 호출 실패\. 상태 코드: (?P<status>\d+)(?:, 메시지: (?P<detail>.*))?)"),
      Rule("model_failed", R"((?P<model>\S+)의 프리뷰 생성 실패)"),
  };
  rules.push_back(ClassificationRule{"error", v1::ERROR, "", {}});
  return rules;
}

absl::StatusOr<Classifier> Classifier::Create(
    std::vector<ClassificationRule> rules) {
  RE2::Options options;
  options.set_log_errors(false);
  RE2::Set prefilter(options, RE2::UNANCHORED);
  std::vector<CompiledRule> compiled;
  compiled.reserve(rules.size());
  for (size_t i = 0; i < rules.size(); ++i) {
    ClassificationRule& rule = rules[i];
    if (rule.event_type.empty()) return BadRule(i, rule, "empty event_type");
    auto regex = std::make_unique<RE2>(rule.pattern, options);
    if (!regex->ok()) return BadRule(i, rule, regex->error());
    std::string error;
    if (prefilter.Add(rule.pattern, &error) < 0) {
      return BadRule(i, rule, error);
    }
    std::vector<std::pair<std::string, int>> groups(
        regex->NamedCapturingGroups().begin(),
        regex->NamedCapturingGroups().end());
    compiled.push_back(
        CompiledRule{std::move(rule), std::move(regex), std::move(groups)});
  }
  if (!prefilter.Compile()) {
    return absl::ResourceExhaustedError(
        "classification rules are too large to compile together");
  }
  return Classifier(std::move(compiled), std::move(prefilter));
}

Classifier::Classifier(std::vector<CompiledRule> rules, RE2::Set prefilter)
    : rules_(std::move(rules)), prefilter_(std::move(prefilter)) {}

void Classifier::Classify(v1::LogEvent& event) const {
  if (rules_.empty()) return;
  const std::string_view message = event.message();
  const std::string_view first_line = message.substr(0, message.find('\n'));
  std::vector<int> candidates;
  RE2::Set::ErrorInfo error{RE2::Set::kNoError};
  if (!prefilter_.Match(first_line, &candidates, &error)) {
    if (error.kind == RE2::Set::kNoError) return;
    // The set's DFA gave up (out of memory on a pathological line): fall
    // back to trying the rules one by one.
    candidates.resize(rules_.size());
    std::iota(candidates.begin(), candidates.end(), 0);
  }
  std::sort(candidates.begin(), candidates.end());
  for (int index : candidates) {
    if (Apply(rules_[index], first_line, event)) return;
  }
}

bool Classifier::Apply(const CompiledRule& compiled,
                       std::string_view first_line, v1::LogEvent& event) const {
  const ClassificationRule& rule = compiled.rule;
  if (rule.level && *rule.level != event.level()) return false;
  std::vector<re2::StringPiece> groups(
      1 + compiled.regex->NumberOfCapturingGroups());
  if (!compiled.regex->Match(first_line, 0, first_line.size(), RE2::UNANCHORED,
                             groups.data(), groups.size())) {
    return false;
  }
  event.set_event_type(rule.event_type);
  auto& fields = *event.mutable_fields();
  for (const auto& [name, value] : rule.fixed_fields) fields[name] = value;
  for (const auto& [name, index] : compiled.groups) {
    if (groups[index].data() != nullptr) {
      fields[name] = std::string(groups[index].data(), groups[index].size());
    }
  }
  return true;
}

}  // namespace eroom::agent

#include "collector/query_service.h"

#include <algorithm>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "collector/alerting/label_matcher.h"
#include "collector/daily_report.h"
#include "collector/grpc_status.h"
#include "collector/worker_call.h"
#include "common/metric_catalog.h"
#include "common/status_macros.h"
#include "common/utf8.h"

namespace eroom::collector {
namespace v1 = ::eroom::monitor::v1;
namespace {

// What the collector accepts to search logs by, in a query or a follow:
// the rest of the filter is LogFilter::Compile's to refuse.
absl::Status ValidateSearch(const v1::QueryLogsRequest& request) {
  if (request.regex().size() > kMaxLogRegexBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("regex: ", request.regex().size(), " bytes; at most ",
                     kMaxLogRegexBytes, " bytes are accepted"));
  }
  const std::string& text = request.contains();
  if (text.size() > kMaxSearchTextBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("search text is ", text.size(), " bytes; at most ",
                     kMaxSearchTextBytes, " bytes are searched"));
  }
  if (text.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(
        "search text must not contain NUL characters");
  }
  if (!IsWellFormedUtf8(text)) {
    return absl::InvalidArgumentError("search text is not valid UTF-8");
  }
  return absl::OkStatus();
}

v1::AlertSeverity ToProto(alerting::Severity severity) {
  switch (severity) {
    case alerting::Severity::kInfo:
      return v1::SEVERITY_INFO;
    case alerting::Severity::kWarning:
      return v1::SEVERITY_WARNING;
    case alerting::Severity::kCritical:
      return v1::SEVERITY_CRITICAL;
  }
  return v1::ALERT_SEVERITY_UNSPECIFIED;
}

v1::AlertState ToProto(alerting::AlertState state) {
  switch (state) {
    case alerting::AlertState::kPending:
      return v1::ALERT_PENDING;
    case alerting::AlertState::kFiring:
      return v1::ALERT_FIRING;
    case alerting::AlertState::kResolved:
      return v1::ALERT_RESOLVED;
  }
  return v1::ALERT_STATE_UNSPECIFIED;
}

// 0 for a time that has not happened (InfinitePast).
int64_t ToUnixMs(absl::Time time) {
  return time == absl::InfinitePast() ? 0 : absl::ToUnixMillis(time);
}

v1::AlertRecord ToProto(const alerting::Alert& alert) {
  v1::AlertRecord record;
  record.set_id(alert.id);
  record.set_rule(alert.key.rule);
  record.set_agent_id(alert.key.agent_id);
  record.set_group(alert.key.group);
  record.set_state(ToProto(alert.state));
  record.set_severity(ToProto(alert.severity));
  record.mutable_labels()->insert(alert.labels.begin(), alert.labels.end());
  record.set_summary(alert.summary);
  record.set_value(alert.value);
  record.set_count(alert.count);
  record.set_pending_since_unix_ms(ToUnixMs(alert.pending_since));
  record.set_firing_since_unix_ms(ToUnixMs(alert.firing_since));
  record.set_resolved_unix_ms(ToUnixMs(alert.resolved_at));
  record.set_last_evaluated_unix_ms(ToUnixMs(alert.last_evaluated));
  record.set_acknowledged_by(alert.acknowledged_by);
  record.set_ack_comment(alert.ack_comment);
  record.set_acknowledged_unix_ms(ToUnixMs(alert.acknowledged_at));
  record.set_last_notified_unix_ms(ToUnixMs(alert.last_notified_at));
  return record;
}

v1::SilenceRecord ToProto(const alerting::Silence& silence) {
  v1::SilenceRecord record;
  record.set_id(silence.id);
  for (const alerting::LabelMatcher& matcher : silence.matchers) {
    record.add_matchers(alerting::FormatLabelMatcher(matcher));
  }
  record.set_comment(silence.comment);
  record.set_created_by(silence.created_by);
  record.set_starts_unix_ms(ToUnixMs(silence.starts_at));
  record.set_ends_unix_ms(ToUnixMs(silence.ends_at));
  record.set_expired_by(silence.expired_by);
  return record;
}

// Most severe first, firing before pending, then oldest first.
void SortBySeverity(std::vector<alerting::Alert>& alerts) {
  std::sort(alerts.begin(), alerts.end(),
            [](const alerting::Alert& a, const alerting::Alert& b) {
              return std::tuple(b.severity,
                                b.state == alerting::AlertState::kFiring,
                                a.id) <
                     std::tuple(a.severity,
                                a.state == alerting::AlertState::kFiring, b.id);
            });
}

// What an acknowledgement or silence says; `what` names it in the error.
absl::Status ValidateComment(absl::string_view what,
                             absl::string_view comment) {
  if (absl::StripAsciiWhitespace(comment).empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " needs a comment: why, or what is being done"));
  }
  if (comment.size() > kMaxCommentBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " comment is ", comment.size(), " bytes; at most ",
                     kMaxCommentBytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status RequirePositiveId(absl::string_view what, int64_t id) {
  if (id > 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(what, " id must be positive, got ", id));
}

absl::StatusOr<std::vector<alerting::LabelMatcher>> ParseMatchers(
    const google::protobuf::RepeatedPtrField<std::string>& texts) {
  if (texts.empty()) {
    return absl::InvalidArgumentError(
        "a silence needs at least one matcher, e.g. host=eroom-prod-1");
  }
  if (texts.size() > kMaxSilenceMatchers) {
    return absl::InvalidArgumentError(
        absl::StrCat("a silence has at most ", kMaxSilenceMatchers,
                     " matchers, got ", texts.size()));
  }
  std::vector<alerting::LabelMatcher> matchers;
  for (const std::string& text : texts) {
    if (text.size() > kMaxMatcherBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("a matcher is ", text.size(), " bytes; at most ",
                       kMaxMatcherBytes, " bytes"));
    }
    EROOM_ASSIGN_OR_RETURN(alerting::LabelMatcher matcher,
                           alerting::ParseLabelMatcher(text));
    matchers.push_back(std::move(matcher));
  }
  return matchers;
}

absl::StatusOr<absl::Duration> SilenceDuration(int64_t duration_ms) {
  const absl::Duration duration = absl::Milliseconds(duration_ms);
  if (duration <= absl::ZeroDuration() || duration > kMaxSilenceDuration) {
    return absl::InvalidArgumentError(
        absl::StrCat("a silence must last more than 0 and at most ",
                     absl::FormatDuration(kMaxSilenceDuration),
                     " (a year), got ", absl::FormatDuration(duration)));
  }
  return duration;
}

absl::Status ValidateAgentIds(
    const google::protobuf::RepeatedPtrField<std::string>& agent_ids) {
  for (const std::string& agent_id : agent_ids) {
    if (agent_id.empty()) {
      return absl::InvalidArgumentError("agent_ids: an agent id is empty");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateRoomWindow(const v1::ListRoomsRequest& request) {
  for (auto [name, value] :
       {std::pair{"since_unix_ms", request.since_unix_ms()},
        std::pair{"until_unix_ms", request.until_unix_ms()}}) {
    if (value < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " must not be negative, got ", value));
    }
  }
  if (request.until_unix_ms() != 0 &&
      request.until_unix_ms() < request.since_unix_ms()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "until_unix_ms (", request.until_unix_ms(),
        ") is before since_unix_ms (", request.since_unix_ms(), ")"));
  }
  if (!v1::RoomStatus_IsValid(request.status())) {
    return absl::InvalidArgumentError(
        absl::StrCat("status: ", request.status(), " is not a room status"));
  }
  return absl::OkStatus();
}

// One of a bounded number of slots, held for its lifetime if it got one.
class ConcurrencySlot {
 public:
  ConcurrencySlot(std::atomic<int>& in_use, int capacity) : in_use_(in_use) {
    taken_ = in_use_.fetch_add(1) < capacity;
    if (!taken_) in_use_.fetch_sub(1);
  }
  ConcurrencySlot(const ConcurrencySlot&) = delete;
  ConcurrencySlot& operator=(const ConcurrencySlot&) = delete;
  ~ConcurrencySlot() {
    if (taken_) in_use_.fetch_sub(1);
  }
  bool taken() const { return taken_; }

 private:
  std::atomic<int>& in_use_;
  bool taken_;
};

// A FollowLogs stream written as its follower reads. Deletes itself once
// the call is over.
class FollowLogsReactor final
    : public grpc::ServerWriteReactor<v1::FollowLogsResponse>,
      public FollowStream {
 public:
  explicit FollowLogsReactor(LogFollowers* followers) : followers_(followers) {}

  // Ends the call with `status` before any follower was made.
  void Refuse(const absl::Status& status) { Finish(ToGrpcStatus(status)); }

  void Follow(v1::FollowLogsRequest request) {
    absl::StatusOr<std::shared_ptr<LogFollower>> follower =
        followers_->Add(std::move(request), *this);
    if (!follower.ok()) {
      Refuse(follower.status());
      return;
    }
    follower_ = *std::move(follower);
    follower_->Start();
  }

  void Send(const v1::FollowLogsResponse* response) override {
    StartWrite(response);
  }
  void End(const absl::Status& status) override {
    Finish(ToGrpcStatus(status));
  }

  void OnWriteDone(bool ok) override { follower_->OnSent(ok); }
  void OnCancel() override {
    if (follower_ != nullptr) {
      follower_->Stop(absl::CancelledError("the client cancelled the follow"));
    }
  }
  void OnDone() override {
    if (follower_ != nullptr) followers_->Remove(follower_.get());
    delete this;
  }

 private:
  LogFollowers* const followers_;
  std::shared_ptr<LogFollower> follower_;
};

}  // namespace

absl::StatusOr<int32_t> EffectiveLimit(int32_t requested, int32_t default_limit,
                                       int32_t max_limit) {
  if (requested < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit must not be negative, got ", requested));
  }
  if (requested == 0) return default_limit;
  return std::min(requested, max_limit);
}

QueryServiceImpl::QueryServiceImpl(StorageReader& storage, WorkQueue& workers,
                                   Authorizer& authorizer,
                                   const HostLiveness& liveness,
                                   const Clock& clock,
                                   int max_concurrent_log_queries,
                                   alerting::AlertAdmin* alerts,
                                   LogFollowers* followers)
    : storage_(storage),
      workers_(workers),
      authorizer_(authorizer),
      liveness_(liveness),
      clock_(clock),
      max_concurrent_log_queries_(max_concurrent_log_queries),
      alerts_(alerts),
      followers_(followers) {}

grpc::ServerUnaryReactor* QueryServiceImpl::ListHosts(
    grpc::CallbackServerContext* context, const v1::ListHostsRequest* request,
    v1::ListHostsResponse* response) {
  return FinishOnWorkers(context, kListHostsMethod, authorizer_, workers_,
                         response, [this, request] { return Hosts(*request); });
}

grpc::ServerUnaryReactor* QueryServiceImpl::QueryLogs(
    grpc::CallbackServerContext* context, const v1::QueryLogsRequest* request,
    v1::QueryLogsResponse* response) {
  return FinishOnWorkers(
      context, kQueryLogsMethod, authorizer_, workers_, response,
      [this, request, context] { return Logs(*request, *context); });
}

grpc::ServerWriteReactor<v1::FollowLogsResponse>* QueryServiceImpl::FollowLogs(
    grpc::CallbackServerContext* context,
    const v1::FollowLogsRequest* request) {
  auto* reactor = new FollowLogsReactor(followers_);
  if (followers_ == nullptr) {
    reactor->Refuse(
        absl::UnimplementedError("this collector does not follow logs"));
    return reactor;
  }
  absl::StatusOr<Caller> caller =
      authorizer_.Authorize(*context, kFollowLogsMethod);
  if (!caller.ok()) {
    reactor->Refuse(caller.status());
    return reactor;
  }
  v1::FollowLogsRequest follow = *request;
  // The rest is the followers' to refuse (ValidateFollowRequest).
  absl::Status valid = ValidateSearch(follow.filter());
  absl::StatusOr<int32_t> limit =
      EffectiveLimit(follow.filter().limit(), kDefaultLogLimit, kMaxLogLimit);
  if (valid.ok()) valid = limit.status();
  if (!valid.ok()) {
    reactor->Refuse(valid);
    return reactor;
  }
  follow.mutable_filter()->set_limit(*limit);
  reactor->Follow(std::move(follow));
  return reactor;
}

grpc::ServerUnaryReactor* QueryServiceImpl::QueryMetrics(
    grpc::CallbackServerContext* context,
    const v1::QueryMetricsRequest* request,
    v1::QueryMetricsResponse* response) {
  return FinishOnWorkers(context, kQueryMetricsMethod, authorizer_, workers_,
                         response,
                         [this, request] { return Metrics(*request); });
}

grpc::ServerUnaryReactor* QueryServiceImpl::ListRooms(
    grpc::CallbackServerContext* context, const v1::ListRoomsRequest* request,
    v1::ListRoomsResponse* response) {
  return FinishOnWorkers(context, kListRoomsMethod, authorizer_, workers_,
                         response, [this, request] { return Rooms(*request); });
}

grpc::ServerUnaryReactor* QueryServiceImpl::GetRoom(
    grpc::CallbackServerContext* context, const v1::GetRoomRequest* request,
    v1::GetRoomResponse* response) {
  return FinishOnWorkers(context, kGetRoomMethod, authorizer_, workers_,
                         response, [this, request] { return Room(*request); });
}

grpc::ServerUnaryReactor* QueryServiceImpl::DailyReport(
    grpc::CallbackServerContext* context, const v1::DailyReportRequest* request,
    v1::DailyReportResponse* response) {
  return FinishOnWorkers(context, kDailyReportMethod, authorizer_, workers_,
                         response,
                         [this, request] { return Report(*request); });
}

grpc::ServerUnaryReactor* QueryServiceImpl::ListAlerts(
    grpc::CallbackServerContext* context, const v1::ListAlertsRequest* request,
    v1::ListAlertsResponse* response) {
  return FinishOnWorkers(context, kListAlertsMethod, authorizer_, workers_,
                         response,
                         [this, request] { return Alerts(*request); });
}

grpc::ServerUnaryReactor* QueryServiceImpl::AcknowledgeAlert(
    grpc::CallbackServerContext* context,
    const v1::AcknowledgeAlertRequest* request,
    v1::AcknowledgeAlertResponse* response) {
  return FinishOnWorkers(context, kAcknowledgeAlertMethod, authorizer_,
                         workers_, response,
                         [this, request](const Caller& caller) {
                           return Acknowledge(*request, caller);
                         });
}

grpc::ServerUnaryReactor* QueryServiceImpl::AddSilence(
    grpc::CallbackServerContext* context, const v1::AddSilenceRequest* request,
    v1::SilenceRecord* response) {
  return FinishOnWorkers(context, kAddSilenceMethod, authorizer_, workers_,
                         response, [this, request](const Caller& caller) {
                           return Silence(*request, caller);
                         });
}

grpc::ServerUnaryReactor* QueryServiceImpl::ListSilences(
    grpc::CallbackServerContext* context,
    const v1::ListSilencesRequest* request,
    v1::ListSilencesResponse* response) {
  return FinishOnWorkers(context, kListSilencesMethod, authorizer_, workers_,
                         response,
                         [this, request] { return Silences(*request); });
}

grpc::ServerUnaryReactor* QueryServiceImpl::ExpireSilence(
    grpc::CallbackServerContext* context,
    const v1::ExpireSilenceRequest* request,
    v1::ExpireSilenceResponse* response) {
  return FinishOnWorkers(context, kExpireSilenceMethod, authorizer_, workers_,
                         response, [this, request](const Caller& caller) {
                           return Expire(*request, caller);
                         });
}

grpc::ServerUnaryReactor* QueryServiceImpl::ListRules(
    grpc::CallbackServerContext* context, const v1::ListRulesRequest*,
    v1::ListRulesResponse* response) {
  return FinishOnWorkers(context, kListRulesMethod, authorizer_, workers_,
                         response, [this] { return Rules(); });
}

absl::StatusOr<v1::ListHostsResponse> QueryServiceImpl::Hosts(
    const v1::ListHostsRequest& request) {
  EROOM_ASSIGN_OR_RETURN(v1::ListHostsResponse hosts,
                         storage_.ListHosts(request));
  absl::flat_hash_map<std::string, std::vector<v1::AlertRecord>> firing;
  if (alerts_ != nullptr) {
    EROOM_ASSIGN_OR_RETURN(std::vector<alerting::Alert> active,
                           alerts_->ActiveAlerts(request.agent_id()));
    SortBySeverity(active);
    for (const alerting::Alert& alert : active) {
      if (alert.state != alerting::AlertState::kFiring) continue;
      firing[alert.key.agent_id].push_back(ToProto(alert));
    }
  }
  for (v1::HostStatus& host : *hosts.mutable_hosts()) {
    host.set_down(liveness_.IsDown(host.agent_id()));
    if (auto it = firing.find(host.agent_id()); it != firing.end()) {
      for (v1::AlertRecord& alert : it->second) {
        *host.add_firing_alerts() = std::move(alert);
      }
    }
  }
  return hosts;
}

absl::StatusOr<v1::QueryLogsResponse> QueryServiceImpl::Logs(
    v1::QueryLogsRequest request, grpc::CallbackServerContext& context) {
  EROOM_RETURN_IF_ERROR(ValidateSearch(request));
  // A negative context is storage's to refuse (LogFilter::Compile).
  request.set_context(std::min(request.context(), kMaxLogContext));
  EROOM_ASSIGN_OR_RETURN(
      int32_t limit,
      EffectiveLimit(request.limit(), kDefaultLogLimit, kMaxLogLimit));
  request.set_limit(limit);
  ConcurrencySlot slot(log_queries_running_, max_concurrent_log_queries_);
  if (!slot.taken()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("too many log queries in progress (",
                     max_concurrent_log_queries_, " at most); retry"));
  }
  const absl::Time callers_deadline = absl::FromChrono(context.deadline());
  const absl::Time time_limit = clock_.Now() + kMaxQueryTime;
  return storage_.QueryLogs(request, [&]() -> absl::Status {
    if (stopping_) return absl::UnavailableError("the collector is stopping");
    if (context.IsCancelled()) {
      return absl::CancelledError(
          "the caller cancelled the query or its deadline passed");
    }
    const absl::Time now = clock_.Now();
    if (now >= callers_deadline) {
      return absl::DeadlineExceededError("the caller's deadline passed");
    }
    if (now >= time_limit) {
      return absl::DeadlineExceededError(absl::StrCat(
          "log query stopped after ", absl::FormatDuration(kMaxQueryTime),
          ", the longest a query may run"));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<v1::QueryMetricsResponse> QueryServiceImpl::Metrics(
    v1::QueryMetricsRequest request) {
  if (request.name().empty()) {
    return absl::InvalidArgumentError("metric name is required");
  }
  if (request.step_ms() < 0 ||
      (request.step_ms() > 0 && request.step_ms() < kMinMetricStepMs)) {
    return absl::InvalidArgumentError(
        absl::StrCat("step_ms: ", request.step_ms(),
                     " is not 0 (raw samples) or at least ", kMinMetricStepMs));
  }
  EROOM_ASSIGN_OR_RETURN(
      int32_t limit, EffectiveLimit(request.limit(), kDefaultMetricPointLimit,
                                    kMaxMetricPointLimit));
  request.set_limit(limit);
  const std::vector<std::string>& known = KnownMetricNames();
  if (!std::binary_search(known.begin(), known.end(), request.name())) {
    v1::QueryMetricsResponse response;
    for (const std::string& name : known) response.add_known_names(name);
    return response;
  }
  return storage_.QueryMetrics(request);
}

absl::StatusOr<v1::ListRoomsResponse> QueryServiceImpl::Rooms(
    v1::ListRoomsRequest request) {
  EROOM_RETURN_IF_ERROR(ValidateAgentIds(request.agent_ids()));
  EROOM_RETURN_IF_ERROR(ValidateRoomWindow(request));
  EROOM_ASSIGN_OR_RETURN(
      int32_t limit,
      EffectiveLimit(request.limit(), kDefaultRoomLimit, kMaxRoomLimit));
  request.set_limit(limit);
  return storage_.ListRooms(request, clock_.Now());
}

absl::StatusOr<v1::GetRoomResponse> QueryServiceImpl::Room(
    const v1::GetRoomRequest& request) {
  if (request.ruid().empty()) {
    return absl::InvalidArgumentError("ruid is required, e.g. room_3f9a1c2b");
  }
  if (request.ruid().size() > kMaxRuidBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ruid is ", request.ruid().size(), " bytes; at most ", kMaxRuidBytes));
  }
  return storage_.GetRoom(request, kMaxLogLimit, clock_.Now());
}

absl::StatusOr<v1::DailyReportResponse> QueryServiceImpl::Report(
    const v1::DailyReportRequest& request) {
  EROOM_RETURN_IF_ERROR(ValidateAgentIds(request.agent_ids()));
  EROOM_ASSIGN_OR_RETURN(
      const ReportDay day,
      DayOf(request.date(), request.utc_offset_minutes(), clock_.Now()));
  const std::vector<std::string> agent_ids(request.agent_ids().begin(),
                                           request.agent_ids().end());
  EROOM_ASSIGN_OR_RETURN(std::vector<HostDayActivity> activities,
                         storage_.DayActivity(agent_ids, day.start, day.end));
  std::vector<alerting::AlertEvent> alert_changes;
  if (alerts_ != nullptr) {
    EROOM_ASSIGN_OR_RETURN(
        alert_changes,
        alerts_->History(day.start, kReportAlertChangeLimit,
                         agent_ids.size() == 1 ? agent_ids.front() : ""));
  }
  return BuildDailyReport(day, std::move(activities), alert_changes, agent_ids);
}

absl::StatusOr<alerting::AlertAdmin*> QueryServiceImpl::Alerting() const {
  if (alerts_ == nullptr) {
    return absl::FailedPreconditionError(
        "alerting is not configured on this collector (no rules)");
  }
  return alerts_;
}

absl::StatusOr<v1::ListAlertsResponse> QueryServiceImpl::Alerts(
    const v1::ListAlertsRequest& request) {
  EROOM_ASSIGN_OR_RETURN(alerting::AlertAdmin * alerts, Alerting());
  v1::ListAlertsResponse response;
  if (!request.history()) {
    EROOM_ASSIGN_OR_RETURN(std::vector<alerting::Alert> active,
                           alerts->ActiveAlerts(request.agent_id()));
    SortBySeverity(active);
    for (const alerting::Alert& alert : active) {
      *response.add_alerts() = ToProto(alert);
    }
    return response;
  }
  if (request.since_unix_ms() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "since_unix_ms must not be negative, got ", request.since_unix_ms()));
  }
  EROOM_ASSIGN_OR_RETURN(
      int32_t limit, EffectiveLimit(request.limit(), kDefaultAlertHistoryLimit,
                                    kMaxAlertHistoryLimit));
  const absl::Time since = request.since_unix_ms() == 0
                               ? absl::InfinitePast()
                               : absl::FromUnixMillis(request.since_unix_ms());
  EROOM_ASSIGN_OR_RETURN(std::vector<alerting::AlertEvent> history,
                         alerts->History(since, limit, request.agent_id()));
  for (const alerting::AlertEvent& event : history) {
    v1::AlertChange* change = response.add_history();
    change->set_time_unix_ms(ToUnixMs(event.at));
    change->set_state(ToProto(event.alert.state));
    change->set_inhibited(event.inhibited);
    *change->mutable_alert() = ToProto(event.alert);
  }
  return response;
}

absl::StatusOr<v1::AcknowledgeAlertResponse> QueryServiceImpl::Acknowledge(
    const v1::AcknowledgeAlertRequest& request, const Caller& caller) {
  EROOM_ASSIGN_OR_RETURN(alerting::AlertAdmin * alerts, Alerting());
  EROOM_RETURN_IF_ERROR(RequirePositiveId("alert", request.alert_id()));
  EROOM_RETURN_IF_ERROR(
      ValidateComment("an acknowledgement", request.comment()));
  EROOM_RETURN_IF_ERROR(
      alerts->Acknowledge(request.alert_id(), caller.name, request.comment()));
  v1::AcknowledgeAlertResponse response;
  response.set_alert_id(request.alert_id());
  response.set_acknowledged_by(caller.name);
  return response;
}

absl::StatusOr<v1::SilenceRecord> QueryServiceImpl::Silence(
    const v1::AddSilenceRequest& request, const Caller& caller) {
  EROOM_ASSIGN_OR_RETURN(alerting::AlertAdmin * alerts, Alerting());
  alerting::Silence silence;
  EROOM_ASSIGN_OR_RETURN(silence.matchers, ParseMatchers(request.matchers()));
  EROOM_ASSIGN_OR_RETURN(const absl::Duration duration,
                         SilenceDuration(request.duration_ms()));
  EROOM_RETURN_IF_ERROR(ValidateComment("a silence", request.comment()));
  silence.comment = request.comment();
  silence.created_by = caller.name;
  silence.starts_at = clock_.Now();
  silence.ends_at = silence.starts_at + duration;
  EROOM_ASSIGN_OR_RETURN(const alerting::Silence added,
                         alerts->AddSilence(std::move(silence)));
  return ToProto(added);
}

absl::StatusOr<v1::ListSilencesResponse> QueryServiceImpl::Silences(
    const v1::ListSilencesRequest& request) {
  EROOM_ASSIGN_OR_RETURN(alerting::AlertAdmin * alerts, Alerting());
  EROOM_ASSIGN_OR_RETURN(const std::vector<alerting::Silence> silences,
                         alerts->Silences(request.include_ended()));
  v1::ListSilencesResponse response;
  for (const alerting::Silence& silence : silences) {
    *response.add_silences() = ToProto(silence);
  }
  return response;
}

absl::StatusOr<v1::ExpireSilenceResponse> QueryServiceImpl::Expire(
    const v1::ExpireSilenceRequest& request, const Caller& caller) {
  EROOM_ASSIGN_OR_RETURN(alerting::AlertAdmin * alerts, Alerting());
  EROOM_RETURN_IF_ERROR(RequirePositiveId("silence", request.silence_id()));
  EROOM_RETURN_IF_ERROR(
      alerts->ExpireSilence(request.silence_id(), caller.name));
  v1::ExpireSilenceResponse response;
  response.set_silence_id(request.silence_id());
  response.set_expired_by(caller.name);
  return response;
}

absl::StatusOr<v1::ListRulesResponse> QueryServiceImpl::Rules() {
  EROOM_ASSIGN_OR_RETURN(alerting::AlertAdmin * alerts, Alerting());
  v1::ListRulesResponse response;
  for (alerting::RuleStatus& status : alerts->Rules()) {
    v1::RuleRecord* rule = response.add_rules();
    rule->set_name(status.rule);
    rule->set_kind(status.kind);
    rule->set_severity(ToProto(status.severity));
    rule->set_last_evaluated_unix_ms(ToUnixMs(status.last_evaluated));
    rule->set_last_error(status.last_error);
    SortBySeverity(status.active);
    for (const alerting::Alert& alert : status.active) {
      *rule->add_active() = ToProto(alert);
    }
  }
  return response;
}

}  // namespace eroom::collector
